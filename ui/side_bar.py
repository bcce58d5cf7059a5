"""Side bars that give the viewport the room: a strip of icons, and one page beside it.

Clicking a page's icon shows that page; clicking the icon of the page already shown collapses
the bar to its icons. Which page is open ("" when collapsed) is kept in the settings, so the
window opens as the designer left it.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from ui import icons

STRIP_WIDTH = 40


class SideBar(QtWidgets.QWidget):
    """An icon strip on the outer edge and a stack of pages on the inner one."""

    #: The page shown now, or "" when the bar is collapsed to its icons.
    page_changed = QtCore.Signal(str)

    def __init__(
        self, name: str, *, side: QtCore.Qt.Edge, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._strip = QtWidgets.QWidget()
        self._strip.setObjectName(f"{name}Strip")
        self._strip.setProperty("role", "strip")
        self._strip.setFixedWidth(STRIP_WIDTH)
        strip_layout = QtWidgets.QVBoxLayout(self._strip)
        strip_layout.setContentsMargins(4, 6, 4, 6)
        strip_layout.setSpacing(4)
        strip_layout.addStretch(1)
        self._stack = QtWidgets.QStackedWidget()
        self._stack.setObjectName(f"{name}Stack")
        self._group = QtWidgets.QButtonGroup(self)
        self._group.setExclusive(False)
        self._buttons: dict[str, QtWidgets.QToolButton] = {}
        self._pages: dict[str, QtWidgets.QWidget] = {}
        self._current = ""
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        if side == QtCore.Qt.Edge.LeftEdge:
            layout.addWidget(self._strip)
            layout.addWidget(self._stack, 1)
        else:
            layout.addWidget(self._stack, 1)
            layout.addWidget(self._strip)

    def add_page(self, key: str, title: str, icon_kind: str, widget: QtWidgets.QWidget) -> None:
        page = QtWidgets.QWidget()
        page_layout = QtWidgets.QVBoxLayout(page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.setSpacing(0)
        header = QtWidgets.QLabel(title)
        header.setProperty("role", "pageTitle")
        page_layout.addWidget(header)
        page_layout.addWidget(widget, 1)
        self._stack.addWidget(page)
        self._pages[key] = page
        button = QtWidgets.QToolButton()
        button.setObjectName(f"sideButton_{key}")
        button.setCheckable(True)
        button.setAutoRaise(True)
        button.setIconSize(QtCore.QSize(22, 22))
        button.setToolTip(f"{title} (click again to fold the panel away)")
        icons.give(button, icon_kind)
        button.clicked.connect(lambda _checked=False, k=key: self.toggle(k))
        self._group.addButton(button)
        strip_layout = self._strip.layout()
        assert isinstance(strip_layout, QtWidgets.QVBoxLayout)
        strip_layout.insertWidget(strip_layout.count() - 1, button)
        self._buttons[key] = button
        if not self._current:
            self.show_page(key)

    @property
    def current(self) -> str:
        return self._current

    @property
    def collapsed(self) -> bool:
        return self._current == ""

    def toggle(self, key: str) -> None:
        self.show_page("" if key == self._current else key)

    def show_page(self, key: str) -> None:
        """Show page ``key``; "" (or an unknown key) collapses the bar to its icons."""
        if key not in self._pages:
            key = ""
        self._current = key
        for name, button in self._buttons.items():
            button.setChecked(name == key)
        if key:
            self._stack.setCurrentWidget(self._pages[key])
        self._stack.setVisible(bool(key))
        self.setMaximumWidth(16777215 if key else STRIP_WIDTH)
        self.setMinimumWidth(
            STRIP_WIDTH + self._stack.minimumSizeHint().width() if key else STRIP_WIDTH
        )
        self.page_changed.emit(key)


class Workbench(QtWidgets.QSplitter):
    """Side bar | center | side bar, where the center keeps ``share`` of the width.

    Open side bars get ``panel_width`` each when there is room, shrinking towards
    ``min_panel_width`` (their pages' own minimum wins below that) so the center keeps its
    share; a folded bar takes only its icon strip.
    """

    def __init__(
        self,
        left: SideBar,
        center: QtWidgets.QWidget,
        right: SideBar,
        *,
        share: float = 0.6,
        panel_width: int = 260,
        min_panel_width: int = 190,
    ) -> None:
        super().__init__(QtCore.Qt.Orientation.Horizontal)
        self.setObjectName("mainSplitter")
        self.setChildrenCollapsible(False)
        self._bars = (left, right)
        self._share = share
        self._panel_width = panel_width
        self._min_panel_width = min_panel_width
        self.addWidget(left)
        self.addWidget(center)
        self.addWidget(right)
        self.setStretchFactor(1, 1)
        for bar in self._bars:
            bar.page_changed.connect(self.fit)

    def fit(self, *_: object) -> None:
        total = max(1, self.width())
        open_bars = [bar for bar in self._bars if not bar.collapsed]
        strips = STRIP_WIDTH * (len(self._bars) - len(open_bars))
        room = max(0, int(total * (1 - self._share)) - strips)
        width = min(self._panel_width, max(self._min_panel_width, room // max(1, len(open_bars))))
        left, right = (STRIP_WIDTH if bar.collapsed else width for bar in self._bars)
        self.setSizes([left, max(1, total - left - right), right])

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit()
