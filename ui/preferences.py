"""Settings: units and the size limits that protect the app from huge files."""

from __future__ import annotations

from PySide6 import QtWidgets

from studio.settings import Settings

MIB = 1024**2


class PreferencesDialog(QtWidgets.QDialog):
    """Edits a copy of the values; :meth:`apply` writes them to ``settings`` on OK."""

    def __init__(self, settings: Settings, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preferencesDialog")
        self.setWindowTitle("Settings")
        self._settings = settings
        self.units = QtWidgets.QComboBox()
        self.units.setObjectName("unitsCombo")
        self.units.addItems(["mm", "cm", "m", "in"])
        self.units.setCurrentText(settings.units)
        self.max_file_size = QtWidgets.QSpinBox()
        self.max_file_size.setObjectName("maxFileSize")
        self.max_file_size.setRange(1, 64 * 1024)
        self.max_file_size.setSuffix(" MB")
        self.max_file_size.setValue(max(1, settings.max_file_size // MIB))
        self.max_triangles = QtWidgets.QSpinBox()
        self.max_triangles.setObjectName("maxTriangles")
        self.max_triangles.setRange(1, 2000)
        self.max_triangles.setSuffix(" million")
        self.max_triangles.setValue(max(1, settings.max_triangles // 1_000_000))
        form = QtWidgets.QFormLayout()
        form.addRow("Units for dimensions", self.units)
        form.addRow("Largest file to open", self.max_file_size)
        form.addRow("Most triangles to open", self.max_triangles)
        hint = QtWidgets.QLabel(
            "Bigger files need more memory: about 100 bytes per triangle while shown."
        )
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #8a8f98;")
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(buttons)

    def apply(self) -> None:
        self._settings.max_file_size = self.max_file_size.value() * MIB
        self._settings.max_triangles = self.max_triangles.value() * 1_000_000
