"""Relays the library's change events (a psygnal signal) onto the GUI thread as a Qt signal."""

from __future__ import annotations

from PySide6 import QtCore

from studio.library import Library, LibraryChange


class LibraryEvents(QtCore.QObject):
    """Subscribe widgets to ``changed``; it fires on the GUI thread whoever wrote."""

    changed = QtCore.Signal(object)

    def __init__(self, library: Library, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._library = library
        library.changed.connect(self._relay)

    def _relay(self, change: LibraryChange) -> None:
        # Emitting a Qt signal is thread-safe; receivers on the GUI thread get it queued.
        self.changed.emit(change)

    def detach(self) -> None:
        self._library.changed.disconnect(self._relay)
