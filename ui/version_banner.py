"""A banner over the viewport whenever the version on screen is not the model's active one."""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtWidgets

from studio.workspace import Selection


class VersionBanner(QtWidgets.QFrame):
    """ "Viewing v2 · v3 is active · [Set v2 active]" — shown exactly when shown ≠ active."""

    set_active_requested = QtCore.Signal(object)  # VersionRecord
    show_active_requested = QtCore.Signal(object)  # VersionRecord

    def __init__(self, selection: Selection, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("versionBanner")
        self.setProperty("role", "banner")
        self._selection = selection
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 8, 6)
        self.label = QtWidgets.QLabel("")
        self.label.setObjectName("versionBannerText")
        layout.addWidget(self.label, 1)
        self.show_active_button = QtWidgets.QPushButton("")
        self.show_active_button.setObjectName("showActiveButton")
        self.show_active_button.setFlat(True)
        self.show_active_button.clicked.connect(self._show_active)
        layout.addWidget(self.show_active_button)
        self.set_active_button = QtWidgets.QPushButton("")
        self.set_active_button.setObjectName("setActiveButton")
        self.set_active_button.clicked.connect(self._set_active)
        layout.addWidget(self.set_active_button)
        selection.events.connect(self._on_selection)
        self._on_selection()

    def _on_selection(self, *_: Any) -> None:
        selection = self._selection
        if not selection.shows_inactive:
            self.hide()
            return
        shown, active = selection.shown, selection.active
        assert shown is not None
        assert active is not None
        self.label.setText(f"Viewing v{shown.number} · v{active.number} is active")
        self.show_active_button.setText(f"Show v{active.number}")
        self.set_active_button.setText(f"Set v{shown.number} active")
        self.show()

    def _set_active(self) -> None:
        if self._selection.shown is not None:
            self.set_active_requested.emit(self._selection.shown)

    def _show_active(self) -> None:
        if self._selection.active is not None:
            self.show_active_requested.emit(self._selection.active)

    def detach(self) -> None:
        self._selection.events.disconnect(self._on_selection)
