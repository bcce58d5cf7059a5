"""The window's actions, menus and main toolbar.

Every action has an icon, and its tooltip names its shortcut ("Fit to model (F)"). The Help
menu's keyboard cheat sheet is generated from these same actions, so it can never drift.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore, QtGui, QtWidgets

from ui import icons
from viewer.viewport import StandardView, ViewMode

if TYPE_CHECKING:
    from ui.main_window import MainWindow

VIEW_KEYS = {
    StandardView.FRONT: "1",
    StandardView.BACK: "2",
    StandardView.LEFT: "3",
    StandardView.RIGHT: "4",
    StandardView.TOP: "5",
    StandardView.BOTTOM: "6",
    StandardView.ISO: "0",
}
UNITS = ("mm", "cm", "m", "in")


def tooltip(text: str, shortcut: str | None) -> str:
    plain = text.replace("&", "").rstrip("…").rstrip(".")
    if not shortcut:
        return plain
    native = QtGui.QKeySequence(shortcut).toString(QtGui.QKeySequence.SequenceFormat.NativeText)
    return f"{plain} ({native})"


class WindowActions:
    """Builds and holds the window's actions; the window's slots do the work."""

    def __init__(self, window: MainWindow) -> None:
        self._window = window
        w = window
        self.all: list[QtGui.QAction] = []
        self.open = self._make("&Open…", w.open_dialog, "Ctrl+O", "open", name="openAction")
        self.export = self._make(
            "&Export Shown Version…", w.work.export_shown, "Ctrl+E", "export", name="exportAction"
        )
        self.export_image = self._make(
            "Export &Image…",
            w.work.export_image,
            "Ctrl+Shift+E",
            "export-image",
            name="exportImage",
        )
        self.screenshot = self._make(
            "Save &Screenshot…",
            w.work.screenshot_dialog,
            "Ctrl+Shift+S",
            "screenshot",
            name="screenshotAction",
        )
        self.quit = self._make("&Quit", w.close, "Ctrl+Q", name="quitAction")
        self.preferences = self._make(
            "&Settings…", w.open_preferences, "Ctrl+,", "settings", name="preferencesAction"
        )
        self.generate = self._make(
            "&Generate", w.show_generate_panel, "Ctrl+G", "generate", name="generateAction"
        )
        self.generate.setToolTip(tooltip("Generate a model from a sentence or a photo", "Ctrl+G"))
        self.modes = self._choice(
            "mode",
            w.set_view_mode,
            [(m, m.label, f"Ctrl+{i}", m.value) for i, m in enumerate(ViewMode, start=1)],
        )
        self.views = {
            view: self._make(
                f"{view.label} View",
                _bind(w.viewport.set_view, view),
                key,
                name=f"view_{view.value}",
            )
            for view, key in VIEW_KEYS.items()
        }
        self.fit = self._make("&Fit to Model", w.viewport.fit, "F", "fit", name="fitAction")
        vp = w.viewport
        self.ortho = self._toggle(
            "&Orthographic Projection", vp.set_parallel_projection, "O", "ortho"
        )
        self.grid = self._toggle("Show &Grid", vp.set_grid_visible, "G", "grid")
        self.axes = self._toggle("Show &Axes", vp.set_axes_visible, "A", "axes")
        self.bounds = self._toggle(
            "Show &Bounding Box and Dimensions", vp.set_bounds_visible, "B", "bounds"
        )
        self.units = self._choice("unit", w.set_unit, [(u, u, None, None) for u in UNITS])
        self.themes = self._choice(
            "theme",
            w.set_theme,
            [
                ("system", "Follow the System", None, None),
                ("dark", "Dark", None, None),
                ("light", "Light", None, None),
            ],
        )
        self.shortcuts = self._make(
            "&Keyboard Shortcuts", w.show_shortcuts, "F1", "help", name="shortcutsAction"
        )

    def _toggle(
        self, text: str, slot: Callable[[bool], Any], shortcut: str, icon: str
    ) -> QtGui.QAction:
        """A checkable action whose slot gets the new state."""
        return self._make(text, slot, shortcut, icon, checkable=True, name=f"{icon}Action")

    def _choice(
        self,
        prefix: str,
        slot: Callable[[Any], Any],
        options: list[tuple[Any, str, str | None, str | None]],
    ) -> dict[Any, QtGui.QAction]:
        """One checked action among ``(value, text, shortcut, icon)`` options."""
        group = QtGui.QActionGroup(self._window)
        actions = {}
        for value, text, shortcut, icon in options:
            key = getattr(value, "value", value)
            action = self._make(
                text, _bind(slot, value), shortcut, icon, checkable=True, name=f"{prefix}_{key}"
            )
            group.addAction(action)
            actions[value] = action
        return actions

    def _make(
        self,
        text: str,
        slot: Callable[..., Any],
        shortcut: str | None = None,
        icon: str | None = None,
        *,
        checkable: bool = False,
        name: str = "",
    ) -> QtGui.QAction:
        action = QtGui.QAction(text, self._window)
        if name:
            action.setObjectName(name)
        if shortcut:
            action.setShortcut(QtGui.QKeySequence(shortcut))
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        if icon:
            icons.give(action, icon)
        action.setToolTip(tooltip(text, shortcut))
        action.setCheckable(checkable)
        if checkable:
            action.triggered.connect(slot)  # with the new checked state
        else:
            action.triggered.connect(lambda _checked=False: slot())
        self._window.addAction(action)
        self.all.append(action)
        return action

    # ------------------------------------------------------------------ menus, toolbar
    def fill_recent_menu(self, menu: QtWidgets.QMenu) -> None:
        menu.clear()
        recent = self._window.settings.recent_files
        for entry in recent:
            action = menu.addAction(entry)
            action.triggered.connect(_bind(self._window.open_files, [Path(entry)]))
        if not recent:
            menu.addAction("No recent files").setEnabled(False)

    def build_menus(self) -> None:
        bar = self._window.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.open)
        recent = file_menu.addMenu("Open &Recent")
        recent.setObjectName("recentMenu")
        recent.aboutToShow.connect(lambda: self.fill_recent_menu(recent))
        file_menu.addSeparator()
        file_menu.addActions([self.export, self.export_image, self.screenshot])
        file_menu.addSeparator()
        file_menu.addActions([self.preferences, self.quit])
        view_menu = bar.addMenu("&View")
        view_menu.addActions(list(self.modes.values()))
        view_menu.addSeparator()
        view_menu.addActions([*self.views.values(), self.fit, self.ortho])
        view_menu.addSeparator()
        view_menu.addActions([self.grid, self.axes, self.bounds])
        units_menu = view_menu.addMenu("&Units")
        units_menu.addActions(list(self.units.values()))
        theme_menu = view_menu.addMenu("&Theme")
        theme_menu.addActions(list(self.themes.values()))
        model_menu = bar.addMenu("&Model")
        model_menu.addAction(self.generate)
        self.help_menu = bar.addMenu("&Help")
        self.help_menu.setObjectName("helpMenu")
        self.help_menu.addAction(self.shortcuts)

    def build_toolbar(self) -> QtWidgets.QToolBar:
        toolbar = QtWidgets.QToolBar("Main", self._window)
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setIconSize(QtCore.QSize(20, 20))
        toolbar.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonIconOnly)
        toolbar.addAction(self.open)
        toolbar.addSeparator()
        toolbar.addActions(list(self.modes.values()))
        toolbar.addSeparator()
        toolbar.addActions([self.fit, self.ortho, self.grid, self.bounds])
        toolbar.addSeparator()
        toolbar.addAction(self.export_image)
        spacer = QtWidgets.QWidget()
        spacer.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Preferred
        )
        toolbar.addWidget(spacer)
        toolbar.addAction(self.generate)
        generate_button = toolbar.widgetForAction(self.generate)
        if isinstance(generate_button, QtWidgets.QToolButton):
            generate_button.setObjectName("generateButton")
            generate_button.setProperty("role", "primary")
            generate_button.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        return toolbar

    def sync_checks(self, view: Any, theme: str) -> None:
        """Check the actions that show ``view``'s state (without triggering them)."""
        for action, checked in (
            (self.modes[ViewMode(view.mode)], True),
            (self.ortho, view.projection == "orthographic"),
            (self.grid, view.show_grid),
            (self.axes, view.show_axes),
            (self.bounds, view.show_bounds),
            (self.units[view.unit], True),
            (self.themes[theme], True),
        ):
            blocked = action.blockSignals(True)
            action.setChecked(checked)
            action.blockSignals(blocked)

    def cheat_sheet(self) -> list[tuple[str, str]]:
        """(what, keys) for every action with a shortcut, in menu order."""
        rows = []
        for action in self.all:
            keys = action.shortcut().toString(QtGui.QKeySequence.SequenceFormat.NativeText)
            if keys:
                rows.append((action.text().replace("&", "").rstrip("…"), keys))
        return rows


def _bind(fn: Callable[..., Any], value: Any) -> Callable[..., Any]:
    return lambda *_: fn(value)


class ShortcutsDialog(QtWidgets.QDialog):
    """Help › Keyboard Shortcuts: every shortcut, plus the mouse in the viewport."""

    MOUSE = (
        ("Turn the model", "Left drag"),
        ("Move the view", "Shift + left drag, or middle drag"),
        ("Zoom", "Wheel, or right drag"),
        ("Roll", "Ctrl + left drag"),
    )

    def __init__(self, rows: list[tuple[str, str]], parent: QtWidgets.QWidget | None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        layout = QtWidgets.QVBoxLayout(self)
        self.table = QtWidgets.QTreeWidget()
        self.table.setObjectName("shortcutsTable")
        self.table.setHeaderLabels(["Action", "Keys"])
        self.table.setRootIsDecorated(False)
        for what, keys in [*rows, *self.MOUSE]:
            self.table.addTopLevelItem(QtWidgets.QTreeWidgetItem([what, keys]))
        self.table.resizeColumnToContents(0)
        layout.addWidget(self.table)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(460, 520)
