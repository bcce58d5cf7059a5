"""File › Export image…: a product shot of what the viewport shows.

The dialog asks for a size (the viewport's, 1920×1080, 3840×2160 or custom), a
transparent background, whether the designer's aids (grid, bounding box and labels,
axes) are drawn — off by default — and, for a turntable, how many frames; then where to
write it. The picture itself comes from :func:`viewer.shots.export_viewport`, rendered
in its own off-screen window, so the viewport keeps its size and look.

The window adds the action; it calls :func:`export_image`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from ui.qt_events import process_events
from viewer.shots import (
    MAX_SIDE,
    ShotCancelled,
    ShotError,
    ShotSettings,
    export_viewport,
)
from viewer.viewport import Viewport

#: (label, size); ``None`` is the viewport's own size, "custom" takes the spin boxes.
PRESETS: tuple[tuple[str, tuple[int, int] | None], ...] = (
    ("Viewport", None),
    ("1920 × 1080 (Full HD)", (1920, 1080)),
    ("3840 × 2160 (4K)", (3840, 2160)),
)
CUSTOM = "Custom"
DEFAULT_FRAMES = 36
STILL_FILTER = "PNG image (*.png)"
TURNTABLE_FILTERS = (
    "Animated WebP (*.webp)",
    "Animated GIF (*.gif)",
    "PNG frames (*.png)",
)


class ExportImageDialog(QtWidgets.QDialog):
    """Choose a shot and a file; :meth:`export` writes it and keeps the paths."""

    def __init__(self, viewport: Viewport, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exportImageDialog")
        self.setWindowTitle("Export image")
        self.viewport = viewport
        self.written: list[Path] = []

        self.size_choice = QtWidgets.QComboBox()
        self.size_choice.setObjectName("exportSize")
        width, height = viewport.render_size
        for label, size in PRESETS:
            text = f"{label} ({width} × {height})" if size is None else label
            self.size_choice.addItem(text, size)
        self.size_choice.addItem(CUSTOM, CUSTOM)
        self.width_box = self._pixels(width, "exportWidth")
        self.height_box = self._pixels(height, "exportHeight")
        custom = QtWidgets.QHBoxLayout()
        custom.addWidget(self.width_box)
        custom.addWidget(QtWidgets.QLabel("×"))
        custom.addWidget(self.height_box)
        custom.addWidget(QtWidgets.QLabel("pixels"))
        custom.addStretch(1)

        self.transparent = QtWidgets.QCheckBox("Transparent background")
        self.transparent.setObjectName("exportTransparent")
        self.overlays = QtWidgets.QCheckBox("Grid, bounding box, labels and axes")
        self.overlays.setObjectName("exportOverlays")
        self.overlays.setToolTip("Leave off for a clean product shot of the model alone.")
        self.turntable = QtWidgets.QCheckBox("Turntable: one turn around the model")
        self.turntable.setObjectName("exportTurntable")
        self.frames = QtWidgets.QSpinBox()
        self.frames.setObjectName("exportFrames")
        self.frames.setRange(2, 720)
        self.frames.setValue(DEFAULT_FRAMES)
        self.frames.setSuffix(" frames")
        turn = QtWidgets.QHBoxLayout()
        turn.addWidget(self.turntable)
        turn.addWidget(self.frames)
        turn.addStretch(1)

        self.path = QtWidgets.QLineEdit(str(Path.home() / "kiln-shot.png"))
        self.path.setObjectName("exportPath")
        self.path.setMinimumWidth(320)
        choose = QtWidgets.QPushButton("Choose…")
        choose.setObjectName("exportChoose")
        choose.clicked.connect(self.choose_file)
        where = QtWidgets.QHBoxLayout()
        where.addWidget(self.path, 1)
        where.addWidget(choose)

        self.message = QtWidgets.QLabel("")
        self.message.setObjectName("exportMessage")
        self.message.setWordWrap(True)

        self.buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton(
            "Export", QtWidgets.QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.export_button.setObjectName("exportButton")
        self.export_button.setDefault(True)
        self.buttons.accepted.connect(self.export)
        self.buttons.rejected.connect(self.reject)

        form = QtWidgets.QFormLayout()
        form.addRow("Size", self.size_choice)
        form.addRow("", custom)
        form.addRow("", self.transparent)
        form.addRow("Overlays", self.overlays)
        form.addRow("Animation", turn)
        form.addRow("File", where)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

        self.size_choice.currentIndexChanged.connect(self._on_size_choice)
        self.turntable.toggled.connect(self._on_turntable)
        self._on_size_choice()
        self._on_turntable(False)

    @staticmethod
    def _pixels(value: int, name: str) -> QtWidgets.QSpinBox:
        box = QtWidgets.QSpinBox()
        box.setObjectName(name)
        box.setRange(16, MAX_SIDE)
        box.setValue(max(16, value))
        return box

    # ------------------------------------------------------------------ choices
    def _on_size_choice(self) -> None:
        size = self.size_choice.currentData()
        custom = size == CUSTOM
        self.width_box.setEnabled(custom)
        self.height_box.setEnabled(custom)
        if not custom:
            width, height = size if size is not None else self.viewport.render_size
            self.width_box.setValue(width)
            self.height_box.setValue(height)

    def select_size(self, label: str) -> None:
        """Pick a size by the start of its label ("Viewport", "1920", "Custom")."""
        for index in range(self.size_choice.count()):
            if self.size_choice.itemText(index).startswith(label):
                self.size_choice.setCurrentIndex(index)
                return
        raise ValueError(f"no size {label!r}")

    def _on_turntable(self, on: bool) -> None:
        self.frames.setEnabled(on)
        # A still is a PNG; a turntable defaults to an animated WebP.
        path = Path(self.path.text())
        if on and path.suffix.lower() == ".png":
            self.path.setText(str(path.with_suffix(".webp")))
        elif not on and path.suffix.lower() in (".webp", ".gif", ""):
            self.path.setText(str(path.with_suffix(".png")))

    def settings(self) -> ShotSettings:
        return ShotSettings(
            size=(self.width_box.value(), self.height_box.value()),
            transparent=self.transparent.isChecked(),
            overlays=self.overlays.isChecked(),
            turntable=self.frames.value() if self.turntable.isChecked() else 0,
        )

    def choose_file(self) -> None:
        filters = TURNTABLE_FILTERS if self.turntable.isChecked() else (STILL_FILTER,)
        path, chosen = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export image", self.path.text(), ";;".join(filters)
        )
        if not path:
            return
        suffix = {"WebP": ".webp", "GIF": ".gif", "PNG": ".png"}
        for word, ending in suffix.items():
            if word in chosen and not path.lower().endswith(ending):
                path += ending
        self.path.setText(path)

    # ------------------------------------------------------------------ export
    def export(self) -> None:
        """Write the shot; on success close, on a problem say so and stay open."""
        text = self.path.text().strip()
        if not text:
            self.message.setText("Choose a file to export to.")
            return
        settings = self.settings()
        progress = _Progress(self, settings.turntable)
        self.export_button.setEnabled(False)
        QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
        try:
            self.written = export_viewport(
                self.viewport, settings, Path(text).expanduser(), progress=progress
            )
        except ShotCancelled:
            self.message.setText("Stopped; nothing was saved.")
            return
        except ShotError as exc:
            self.message.setText(str(exc))
            return
        except OSError as exc:
            self.message.setText(
                f"The image could not be written ({exc.strerror or exc}); choose another place."
            )
            return
        finally:
            QtWidgets.QApplication.restoreOverrideCursor()
            progress.close()
            self.export_button.setEnabled(True)
        self.accept()


class _Progress:
    """A progress dialog for turntables (a still needs none); Cancel stops the export."""

    def __init__(self, parent: QtWidgets.QWidget, frames: int) -> None:
        self._dialog: QtWidgets.QProgressDialog | None = None
        if frames:
            dialog = QtWidgets.QProgressDialog(
                "Rendering the turntable…", "Stop", 0, frames, parent
            )
            dialog.setObjectName("exportProgress")
            dialog.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
            dialog.setMinimumDuration(300)
            dialog.setValue(0)
            self._dialog = dialog

    def __call__(self, done: int, total: int) -> bool:
        if self._dialog is None:
            return True
        self._dialog.setValue(done)
        self._dialog.setLabelText(f"Rendering frame {done} of {total}…")
        process_events()
        return not self._dialog.wasCanceled()

    def close(self) -> None:
        if self._dialog is not None:
            self._dialog.close()
            self._dialog.deleteLater()
            self._dialog = None


def export_image(parent: QtWidgets.QWidget, viewport: Viewport) -> None:
    """Ask how to shoot what ``viewport`` shows and write it (File › Export image…)."""
    if viewport.prepared is None:
        QtWidgets.QMessageBox.information(
            parent, "Export image", "There is no model on screen yet: open or select one first."
        )
        return
    dialog = ExportImageDialog(viewport, parent)
    dialog.exec()
    dialog.deleteLater()
