"""The library: every model as a card with its thumbnail, searchable by name or tag.

Right-click a model to show, rename, tag, annotate, export, reveal or delete it; the same
edits are in the model details under the list.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from studio.library import Library, LibraryChange, LibraryError, ModelRecord
from ui.library_events import LibraryEvents
from ui.model_details import ModelDetails
from ui.record_list import ICON_SIZE, RECORD_ROLE, Card, RecordListModel, card_view
from ui.thumbnails import thumbnail


class LibraryPanel(QtWidgets.QWidget):
    """Lists models; emits ``model_selected(model_id)`` when the designer picks one."""

    model_selected = QtCore.Signal(int)
    export_requested = QtCore.Signal(int)  # model id: export its active version
    delete_requested = QtCore.Signal(int)  # model id
    failed = QtCore.Signal(object)

    def __init__(
        self, library: Library, events: LibraryEvents, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("libraryPanel")
        self._library = library
        self.search = QtWidgets.QLineEdit()
        self.search.setObjectName("librarySearch")
        self.search.setPlaceholderText("Search by name or tag")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.refresh)
        self.model: RecordListModel[ModelRecord] = RecordListModel(self._card, self)
        self.list = card_view("libraryList", self.model)
        self.list.selectionModel().currentChanged.connect(self._on_current_changed)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.details = ModelDetails(library, self)
        self.details.failed.connect(self.failed)
        self.empty_hint = QtWidgets.QLabel(
            "Drop a model here (STL, OBJ, GLB, PLY, OFF or 3MF), or describe one in Generate."
        )
        self.empty_hint.setObjectName("libraryEmptyHint")
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setProperty("role", "hint")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 6)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty_hint)
        layout.addWidget(self.details)
        events.changed.connect(self._on_library_changed)
        self.refresh()

    @QtCore.Slot(object)
    def _on_library_changed(self, change: LibraryChange) -> None:
        if change.kind != "generation-changed":  # progress ticks change no model
            self.refresh()

    @QtCore.Slot()
    def refresh(self) -> None:
        current = self.current_model_id()
        search = self.search.text().strip() or None
        models = self._library.list_models(search)
        blocked = self.list.selectionModel().blockSignals(True)
        self.model.set_records(models)
        self.list.selectionModel().blockSignals(blocked)
        self.empty_hint.setVisible(not models and search is None)
        if current is not None:
            self.select_model(current, emit=False)
        self.details.set_model(self.current_model_id())

    def _card(self, model: ModelRecord) -> Card:
        plural = "s" if model.version_count != 1 else ""
        detail = f"v{model.active_version_number} of {model.version_count} version{plural}"
        if model.tags:
            detail += f" · {', '.join(model.tags)}"
        path = (
            self._library.thumbnail_path(model.active_version_id) if model.thumbnail_sha else None
        )
        tooltip = "\n".join(p for p in (model.name, detail, model.notes) if p)
        return Card(
            title=model.name,
            detail=detail,
            tooltip=tooltip,
            icon=QtGui.QIcon(thumbnail(path, ICON_SIZE)),
        )

    def current_model_id(self) -> int | None:
        index = self.list.currentIndex()
        return None if not index.isValid() else int(index.data(RECORD_ROLE).id)

    def select_model(self, model_id: int, *, emit: bool = True) -> None:
        for row, model in enumerate(self.model.records()):
            if model.id == model_id:
                blocked = self.list.selectionModel().blockSignals(not emit)
                self.list.setCurrentIndex(self.model.index(row))
                self.list.selectionModel().blockSignals(blocked)
                self.details.set_model(model_id)
                return

    def model_ids(self) -> list[int]:
        return [model.id for model in self.model.records()]

    def _on_current_changed(self, current: QtCore.QModelIndex, _previous: object) -> None:
        if current.isValid():
            model_id = int(current.data(RECORD_ROLE).id)
            self.details.set_model(model_id)
            self.model_selected.emit(model_id)

    # ------------------------------------------------------------------ context menu
    def _context_menu(self, pos: QtCore.QPoint) -> None:
        index = self.list.indexAt(pos)
        if not index.isValid():
            return
        self.list.setCurrentIndex(index)
        model_id = int(index.data(RECORD_ROLE).id)
        menu = QtWidgets.QMenu(self)
        menu.addAction("Show", lambda: self.model_selected.emit(model_id))
        menu.addAction("Rename…", lambda: self.rename_dialog(model_id))
        menu.addAction("Tags and Notes…", self.details.focus_tags)
        menu.addAction("Export Active Version…", lambda: self.export_requested.emit(model_id))
        menu.addSeparator()
        menu.addAction("Delete Model…", lambda: self.delete_requested.emit(model_id))
        menu.exec(self.list.viewport().mapToGlobal(pos))

    def rename_dialog(self, model_id: int) -> None:
        model = self._library.get_model(model_id)
        name, ok = QtWidgets.QInputDialog.getText(
            self, "Rename model", "New name:", text=model.name
        )
        if ok:
            try:
                self._library.rename_model(model_id, name)
            except LibraryError as exc:
                self.failed.emit(exc)
