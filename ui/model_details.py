"""Name, tags and notes of the model in hand, edited in place and saved as you leave a field."""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

from studio.library import Library, LibraryError


def split_tags(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


class _NotesEdit(QtWidgets.QPlainTextEdit):
    """A notes box that reports when the designer leaves it."""

    left = QtCore.Signal()

    def focusOutEvent(self, event: object) -> None:
        super().focusOutEvent(event)  # type: ignore[arg-type]
        self.left.emit()


class ModelDetails(QtWidgets.QWidget):
    """Three fields for the selected model; hidden when no model is selected."""

    failed = QtCore.Signal(object)

    def __init__(self, library: Library, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelDetails")
        self._library = library
        self._model_id: int | None = None
        self.name = QtWidgets.QLineEdit()
        self.name.setObjectName("modelName")
        self.name.setPlaceholderText("Name")
        self.name.editingFinished.connect(self.save_name)
        self.tags = QtWidgets.QLineEdit()
        self.tags.setObjectName("modelTags")
        self.tags.setPlaceholderText("Tags, separated by commas")
        self.tags.editingFinished.connect(self.save_tags)
        self._completions = QtCore.QStringListModel(self)
        completer = QtWidgets.QCompleter(self._completions, self)
        completer.setCaseSensitivity(QtCore.Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QtWidgets.QCompleter.CompletionMode.PopupCompletion)
        self._completer = completer
        self.tags.textEdited.connect(self._complete_last_tag)
        completer.setWidget(self.tags)
        completer.activated.connect(self._insert_completion)
        self.notes = _NotesEdit()
        self.notes.setObjectName("modelNotes")
        self.notes.setPlaceholderText("Notes")
        self.notes.setFixedHeight(64)
        self.notes.left.connect(self.save_notes)
        layout = QtWidgets.QFormLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.addRow("Name", self.name)
        layout.addRow("Tags", self.tags)
        layout.addRow("Notes", self.notes)
        self.set_model(None)

    @property
    def model_id(self) -> int | None:
        return self._model_id

    def set_model(self, model_id: int | None) -> None:
        self._model_id = model_id
        self.setVisible(model_id is not None)
        if model_id is None:
            return
        try:
            model = self._library.get_model(model_id)
        except LibraryError:
            self._model_id = None
            self.hide()
            return
        for widget, text in ((self.name, model.name), (self.tags, ", ".join(model.tags))):
            if not widget.hasFocus():
                widget.setText(text)
        if not self.notes.hasFocus():
            self.notes.setPlainText(model.notes)
        self._completions.setStringList(self._library.tags())

    def focus_tags(self) -> None:
        self.tags.setFocus()
        self.tags.selectAll()

    # ------------------------------------------------------------------ completion
    def _complete_last_tag(self, text: str) -> None:
        prefix = text.rsplit(",", 1)[-1].strip()
        popup = self._completer.popup()
        if not prefix:
            if popup is not None:
                popup.hide()
            return
        self._completer.setCompletionPrefix(prefix)
        self._completer.complete()

    def _insert_completion(self, tag: str) -> None:
        head = self.tags.text().rsplit(",", 1)[0] if "," in self.tags.text() else ""
        self.tags.setText(f"{head}, {tag}" if head else tag)

    # ------------------------------------------------------------------ saving
    def save_name(self) -> None:
        self._save(lambda mid: self._library.rename_model(mid, self.name.text()), "name")

    def save_tags(self) -> None:
        self._save(lambda mid: self._library.set_tags(mid, split_tags(self.tags.text())), "tags")

    def save_notes(self) -> None:
        self._save(lambda mid: self._library.set_notes(mid, self.notes.toPlainText()), "notes")

    def _save(self, write: Callable[[int], object], what: str) -> None:
        model_id = self._model_id
        if model_id is None:
            return
        current = self._library.get_model(model_id)
        unchanged = {
            "name": self.name.text().strip() == current.name,
            "tags": split_tags(self.tags.text()) == list(current.tags),
            "notes": self.notes.toPlainText() == current.notes,
        }[what]
        if unchanged:
            return
        try:
            write(model_id)
        except LibraryError as exc:
            self.failed.emit(exc)
            self.set_model(model_id)  # show what is really stored
