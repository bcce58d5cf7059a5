"""The versions of the selected model: view, set active (rollback), export, delete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from studio.library import Library, LibraryChange, LibraryError, VersionRecord
from ui import icons
from ui.library_events import LibraryEvents
from ui.record_list import ICON_SIZE, RECORD_ROLE, Card, RecordListModel, card_view
from ui.thumbnails import thumbnail

#: ``confirm(title, question, accept_label) -> bool``; replaceable in tests.
Confirm = Callable[[str, str, str], bool]


def ask(parent: QtWidgets.QWidget) -> Confirm:
    def confirm(title: str, question: str, accept_label: str) -> bool:
        box = QtWidgets.QMessageBox(parent)
        box.setIcon(QtWidgets.QMessageBox.Icon.Question)
        box.setWindowTitle(title)
        box.setText(question)
        accept = box.addButton(accept_label, QtWidgets.QMessageBox.ButtonRole.DestructiveRole)
        cancel = box.addButton(QtWidgets.QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)  # Enter never deletes
        box.setEscapeButton(cancel)
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
    """The selected model's versions, newest first, as cards with an *active* badge."""

    view_requested = QtCore.Signal(object)  # VersionRecord
    export_requested = QtCore.Signal(object)  # VersionRecord
    files_dropped = QtCore.Signal(list, int)  # paths, model id
    failed = QtCore.Signal(object)  # an exception for the window's error reporter
    #: A plain sentence for the status bar ("Version 1 is active again.")
    message = QtCore.Signal(str)
    #: A version or model was deleted (softly): the :class:`~studio.library.Deletion`.
    deleted = QtCore.Signal(object)

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
        self.title.setProperty("role", "pageTitle")
        self.title.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        )
        self.model: RecordListModel[VersionRecord] = RecordListModel(self._card, self)
        self.list = card_view("versionsList", self.model)
        self.list.doubleClicked.connect(self._on_double_clicked)
        self.list.selectionModel().selectionChanged.connect(self._update_buttons)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.view_button = self._button(
            "Show this version", "viewVersion", "view", self.view_selected
        )
        self.activate_button = self._button(
            "Make this the active version (roll back or forward)",
            "activateVersion",
            "activate",
            self.activate_selected,
        )
        self.export_button = self._button(
            "Export this version…", "exportVersion", "export", self.export_selected
        )
        self.delete_button = self._button(
            "Delete this version…", "deleteVersion", "delete", self.delete_selected
        )
        buttons = QtWidgets.QHBoxLayout()
        buttons.setSpacing(2)
        for button in (self.view_button, self.activate_button, self.export_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.delete_button)
        self.empty_hint = QtWidgets.QLabel("Pick a model to see its versions.")
        self.empty_hint.setProperty("role", "hint")
        self.empty_hint.setWordWrap(True)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty_hint)
        layout.addLayout(buttons)
        events.changed.connect(self._on_library_changed)
        self.refresh()

    def _button(
        self, tip: str, name: str, icon: str, slot: Callable[[], None]
    ) -> QtWidgets.QToolButton:
        button = QtWidgets.QToolButton()
        button.setObjectName(name)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        icons.give(button, icon)
        button.clicked.connect(slot)
        return button

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
        versions: list[VersionRecord] = []
        self.title.setText("Versions")
        if self._model_id is not None:
            try:
                model = self._library.get_model(self._model_id)
                versions = self._library.versions(self._model_id)
                self.title.setText(f"Versions of {model.name}")
                self.title.setToolTip(model.name)
            except LibraryError:
                self._model_id = None
        self.model.set_records(versions)
        self.empty_hint.setVisible(not versions)
        if selected is not None:
            self.select_number(selected.number)
        self._update_buttons()

    def _card(self, version: VersionRecord) -> Card:
        faces = version.stats.get("faces") if version.stats else None
        triangles = f"{faces:,} triangles" if isinstance(faces, int) else ""
        where = describe_source(version.source)
        when = describe_time(version.created_at)
        size = f"{version.format.family} · {describe_size(version.file_size)}"
        detail = " · ".join(p for p in (when, triangles) if p)
        path = self._library.thumbnail_path(version.id) if version.thumbnail_sha else None
        tooltip = "\n".join(
            p
            for p in (f"Version {version.number}", where, when, triangles, size, version.note)
            if p
        )
        return Card(
            title=f"v{version.number}  {where}",
            detail=detail,
            badge="active" if version.is_active else "",
            tooltip=tooltip,
            icon=QtGui.QIcon(thumbnail(path, ICON_SIZE)),
        )

    def versions_shown(self) -> list[VersionRecord]:
        return self.model.records()

    def selected_version(self) -> VersionRecord | None:
        indexes = self.list.selectionModel().selectedIndexes() if self.list.model() else []
        return None if not indexes else indexes[0].data(RECORD_ROLE)

    def select_number(self, number: int) -> None:
        for row, version in enumerate(self.model.records()):
            if version.number == number:
                self.list.setCurrentIndex(self.model.index(row))
                return

    def _update_buttons(self, *_: object) -> None:
        version = self.selected_version()
        for button in (self.view_button, self.export_button, self.delete_button):
            button.setEnabled(version is not None)
        self.activate_button.setEnabled(version is not None and not version.is_active)

    # ------------------------------------------------------------------ actions
    def _on_double_clicked(self, index: QtCore.QModelIndex) -> None:
        self.view_requested.emit(index.data(RECORD_ROLE))

    def _context_menu(self, pos: QtCore.QPoint) -> None:
        index = self.list.indexAt(pos)
        if not index.isValid():
            return
        self.list.setCurrentIndex(index)
        version: VersionRecord = index.data(RECORD_ROLE)
        menu = QtWidgets.QMenu(self)
        menu.addAction("Show", self.view_selected)
        menu.addAction("Set Active", self.activate_selected).setEnabled(not version.is_active)
        menu.addAction("Export…", self.export_selected)
        menu.addAction("Reveal File", self.reveal_selected)
        menu.addSeparator()
        menu.addAction("Delete…", self.delete_selected)
        menu.exec(self.list.viewport().mapToGlobal(pos))

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
            before = self._library.active_version(self._model_id).number
            self._library.set_active_version(self._model_id, version.number)
        except LibraryError as exc:
            self.failed.emit(exc)
            return
        self.select_number(version.number)
        self.message.emit(
            f"Version {version.number} is now the active one (it was version {before})."
        )
        self.view_requested.emit(self._library.get_version(self._model_id, version.number))

    @QtCore.Slot()
    def export_selected(self) -> None:
        version = self.selected_version()
        if version is not None:
            self.export_requested.emit(version)

    @QtCore.Slot()
    def reveal_selected(self) -> None:
        version = self.selected_version()
        if version is None:
            return
        try:
            path = self._library.materialize(version)
        except LibraryError as exc:
            self.failed.emit(exc)
            return
        QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(path.parent)))

    def delete_model(self) -> None:
        """Ask, then delete the whole model with all its versions."""
        if self._model_id is None:
            return
        model = self._library.get_model(self._model_id)
        plural = "s" if model.version_count != 1 else ""
        question = (
            f"Delete “{model.name}” and its {model.version_count} version{plural}? "
            "You can undo it for a while."
        )
        try:
            if self._confirm("Delete model", question, "Delete model"):
                self.deleted.emit(self._library.delete_model(model.id))
        except LibraryError as exc:
            self.failed.emit(exc)

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
                    "You can undo it for a while."
                )
                if self._confirm("Delete model", question, "Delete model"):
                    self.deleted.emit(self._library.delete_model(model.id))
                return
            note = ""
            if version.is_active:
                remaining = [
                    v.number for v in self._library.versions(model.id) if v.id != version.id
                ]
                note = f" Version {max(remaining)} becomes the active one."
            question = (
                f"Delete version {version.number} of “{model.name}”? "
                f"You can undo it for a while.{note}"
            )
            if self._confirm("Delete version", question, "Delete version"):
                self.deleted.emit(self._library.delete_version(model.id, version.number))
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
