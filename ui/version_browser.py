"""The versions of the selected model: view, set active (rollback), export, delete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from studio.library import Library, LibraryChange, LibraryError, VersionRecord
from ui.library_events import LibraryEvents
from ui.theme import ACCENT
from ui.thumbnails import thumbnail

ICON_SIZE = 48
VERSION_ROLE = QtCore.Qt.ItemDataRole.UserRole

#: ``confirm(title, question, accept_label) -> bool``; replaceable in tests.
Confirm = Callable[[str, str, str], bool]


def ask(parent: QtWidgets.QWidget) -> Confirm:
    def confirm(title: str, question: str, accept_label: str) -> bool:
        box = QtWidgets.QMessageBox(parent)
        box.setIcon(QtWidgets.QMessageBox.Icon.Question)
        box.setWindowTitle(title)
        box.setText(question)
        accept = box.addButton(accept_label, QtWidgets.QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QtWidgets.QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is accept

    return confirm


def describe_source(source: dict[str, object]) -> str:
    """A short phrase for where a version came from."""
    kind = source.get("kind")
    if kind == "import":
        return f"Imported {source.get('filename', '')}".strip()
    if kind in ("generation", "regeneration"):
        provider = str(source.get("provider", "AI")).capitalize()
        prompt = source.get("prompt")
        return f"{provider}: “{prompt}”" if prompt else f"{provider} from images"
    if kind == "repair":
        return f"Repair of v{source.get('from_version')}"
    return str(kind or "")


def describe_time(when: datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone().strftime("%d %b %Y %H:%M")


def describe_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


class VersionBrowser(QtWidgets.QWidget):
    """Shows one model's versions; files dropped here become its next version."""

    view_requested = QtCore.Signal(object)  # VersionRecord
    export_requested = QtCore.Signal(object)  # VersionRecord
    files_dropped = QtCore.Signal(list, int)  # paths, model id
    failed = QtCore.Signal(object)  # an exception for the window's error reporter

    COLUMNS = ("Version", "Source", "Added", "Triangles", "File")

    def __init__(
        self,
        library: Library,
        events: LibraryEvents,
        parent: QtWidgets.QWidget | None = None,
        confirm: Confirm | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("versionBrowser")
        self.setAcceptDrops(True)
        self._library = library
        self._model_id: int | None = None
        self._confirm = confirm or ask(self)
        self.title = QtWidgets.QLabel("No model selected")
        self.title.setObjectName("versionsTitle")
        self.title.setStyleSheet("font-weight: 600; padding: 2px;")
        self.tree = QtWidgets.QTreeWidget()
        self.tree.setObjectName("versionsTree")
        self.tree.setColumnCount(len(self.COLUMNS))
        self.tree.setHeaderLabels(list(self.COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setIconSize(QtCore.QSize(ICON_SIZE, ICON_SIZE))
        self.tree.setAlternatingRowColors(True)
        self.tree.itemDoubleClicked.connect(self._on_double_clicked)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.tree.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.ActionsContextMenu)
        self.view_button = self._button("View", "viewVersion", self.view_selected)
        self.activate_button = self._button("Set active", "activateVersion", self.activate_selected)
        self.export_button = self._button("Export…", "exportVersion", self.export_selected)
        self.delete_button = self._button("Delete…", "deleteVersion", self.delete_selected)
        for button in (
            self.view_button,
            self.activate_button,
            self.export_button,
            self.delete_button,
        ):
            action = QtGui.QAction(button.text(), self.tree)
            action.triggered.connect(button.click)
            self.tree.addAction(action)
        buttons = QtWidgets.QHBoxLayout()
        for button in (
            self.view_button,
            self.activate_button,
            self.export_button,
            self.delete_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        events.changed.connect(self._on_library_changed)
        self._update_buttons()

    def _button(self, text: str, name: str, slot: Callable[[], None]) -> QtWidgets.QPushButton:
        button = QtWidgets.QPushButton(text)
        button.setObjectName(name)
        button.clicked.connect(slot)
        return button

    # ------------------------------------------------------------------ contents
    @property
    def model_id(self) -> int | None:
        return self._model_id

    def set_model(self, model_id: int | None) -> None:
        self._model_id = model_id
        self.refresh()

    @QtCore.Slot(object)
    def _on_library_changed(self, change: LibraryChange) -> None:
        if self._model_id is None or change.kind == "generation-changed":
            return
        if change.kind == "model-deleted" and change.model_id == self._model_id:
            self.set_model(None)
        elif change.model_id in (None, self._model_id):
            self.refresh()

    def refresh(self) -> None:
        selected = self.selected_version()
        self.tree.clear()
        if self._model_id is None:
            self.title.setText("No model selected")
            self._update_buttons()
            return
        try:
            model = self._library.get_model(self._model_id)
            versions = self._library.versions(self._model_id)
        except LibraryError:
            self._model_id = None
            self.title.setText("No model selected")
            self._update_buttons()
            return
        self.title.setText(f"Versions of {model.name}")
        for version in versions:
            self.tree.addTopLevelItem(self._item(version))
        for column in range(len(self.COLUMNS)):
            self.tree.resizeColumnToContents(column)
        if selected is not None:
            self.select_number(selected.number)
        self._update_buttons()

    def _item(self, version: VersionRecord) -> QtWidgets.QTreeWidgetItem:
        label = f"v{version.number}" + ("  ★ active" if version.is_active else "")
        faces = version.stats.get("faces") if version.stats else None
        item = QtWidgets.QTreeWidgetItem(
            [
                label,
                describe_source(version.source),
                describe_time(version.created_at),
                f"{faces:,}" if isinstance(faces, int) else "",
                f"{version.format.family} · {describe_size(version.file_size)}",
            ]
        )
        path = self._library.thumbnail_path(version.id) if version.thumbnail_sha else None
        item.setIcon(0, thumbnail(path, ICON_SIZE))
        item.setData(0, VERSION_ROLE, version)
        item.setToolTip(1, describe_source(version.source))
        if version.is_active:
            font = item.font(0)
            font.setBold(True)
            item.setFont(0, font)
            item.setForeground(0, QtGui.QBrush(QtGui.QColor(ACCENT)))
        return item

    def versions_shown(self) -> list[VersionRecord]:
        items = (self.tree.topLevelItem(row) for row in range(self.tree.topLevelItemCount()))
        return [item.data(0, VERSION_ROLE) for item in items if item is not None]

    def selected_version(self) -> VersionRecord | None:
        items = self.tree.selectedItems()
        return None if not items else items[0].data(0, VERSION_ROLE)

    def select_number(self, number: int) -> None:
        for row in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(row)
            if item is not None and item.data(0, VERSION_ROLE).number == number:
                self.tree.setCurrentItem(item)
                return

    def _update_buttons(self) -> None:
        version = self.selected_version()
        for button in (self.view_button, self.export_button, self.delete_button):
            button.setEnabled(version is not None)
        self.activate_button.setEnabled(version is not None and not version.is_active)

    # ------------------------------------------------------------------ actions
    @QtCore.Slot(QtWidgets.QTreeWidgetItem, int)
    def _on_double_clicked(self, item: QtWidgets.QTreeWidgetItem, _column: int) -> None:
        self.view_requested.emit(item.data(0, VERSION_ROLE))

    @QtCore.Slot()
    def view_selected(self) -> None:
        version = self.selected_version()
        if version is not None:
            self.view_requested.emit(version)

    @QtCore.Slot()
    def activate_selected(self) -> None:
        version = self.selected_version()
        if version is None or self._model_id is None:
            return
        try:
            self._library.set_active_version(self._model_id, version.number)
        except LibraryError as exc:
            self.failed.emit(exc)
            return
        self.select_number(version.number)
        self.view_requested.emit(self._library.get_version(self._model_id, version.number))

    @QtCore.Slot()
    def export_selected(self) -> None:
        version = self.selected_version()
        if version is not None:
            self.export_requested.emit(version)

    @QtCore.Slot()
    def delete_selected(self) -> None:
        version = self.selected_version()
        if version is None or self._model_id is None:
            return
        model = self._library.get_model(self._model_id)
        try:
            if model.version_count == 1:
                question = (
                    f"“{model.name}” has only this version. Delete the whole model? "
                    "This can't be undone."
                )
                if self._confirm("Delete model", question, "Delete model"):
                    self._library.delete_model(model.id)
                return
            note = ""
            if version.is_active:
                remaining = [
                    v.number for v in self._library.versions(model.id) if v.id != version.id
                ]
                note = f" Version {max(remaining)} becomes the active one."
            question = (
                f"Delete version {version.number} of “{model.name}”? This can't be undone.{note}"
            )
            if self._confirm("Delete version", question, "Delete version"):
                self._library.delete_version(model.id, version.number)
        except LibraryError as exc:
            self.failed.emit(exc)

    # ------------------------------------------------------------------ drops
    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and self._model_id is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QtGui.QDragMoveEvent) -> None:
        self.dragEnterEvent(event)  # type: ignore[arg-type]

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths and self._model_id is not None:
            event.acceptProposedAction()
            self.files_dropped.emit(paths, self._model_id)
        else:
            event.ignore()
