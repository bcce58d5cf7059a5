"""The library: every model with its thumbnail, searchable by name or tag."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from studio.library import Library, LibraryChange, ModelRecord
from ui.library_events import LibraryEvents
from ui.thumbnails import thumbnail

ICON_SIZE = 64
MODEL_ID_ROLE = QtCore.Qt.ItemDataRole.UserRole


class LibraryPanel(QtWidgets.QWidget):
    """Lists models; emits ``model_selected(model_id)`` when the designer picks one."""

    model_selected = QtCore.Signal(int)

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
        self.list = QtWidgets.QListWidget()
        self.list.setObjectName("libraryList")
        self.list.setIconSize(QtCore.QSize(ICON_SIZE, ICON_SIZE))
        self.list.setUniformItemSizes(True)
        self.list.setSpacing(2)
        self.list.currentItemChanged.connect(self._on_current_changed)
        self.empty_hint = QtWidgets.QLabel(
            "Drop STL, OBJ, GLB, PLY, OFF or 3MF files anywhere on the window to add them."
        )
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setStyleSheet("color: #8a8f98; padding: 12px;")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty_hint)
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
        self.list.blockSignals(True)
        self.list.clear()
        for model in models:
            self.list.addItem(self._item(model))
        self.list.blockSignals(False)
        self.empty_hint.setVisible(not models and search is None)
        if current is not None:
            self.select_model(current, emit=False)

    def _item(self, model: ModelRecord) -> QtWidgets.QListWidgetItem:
        tags = f"  ·  {', '.join(model.tags)}" if model.tags else ""
        plural = "s" if model.version_count != 1 else ""
        text = (
            f"{model.name}\nv{model.active_version_number} active · "
            f"{model.version_count} version{plural}{tags}"
        )
        path = (
            self._library.thumbnail_path(model.active_version_id) if model.thumbnail_sha else None
        )
        item = QtWidgets.QListWidgetItem(thumbnail(path, ICON_SIZE), text)
        item.setData(MODEL_ID_ROLE, model.id)
        item.setToolTip(model.notes or model.name)
        return item

    def current_model_id(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None else int(item.data(MODEL_ID_ROLE))

    def select_model(self, model_id: int, *, emit: bool = True) -> None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(MODEL_ID_ROLE) == model_id:
                if not emit:
                    self.list.blockSignals(True)
                self.list.setCurrentItem(item)
                self.list.blockSignals(False)
                return

    def model_ids(self) -> list[int]:
        return [int(self.list.item(row).data(MODEL_ID_ROLE)) for row in range(self.list.count())]

    @QtCore.Slot(QtWidgets.QListWidgetItem, QtWidgets.QListWidgetItem)
    def _on_current_changed(
        self, current: QtWidgets.QListWidgetItem | None, _previous: object
    ) -> None:
        if current is not None:
            self.model_selected.emit(int(current.data(MODEL_ID_ROLE)))
