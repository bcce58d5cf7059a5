"""The inspector: what the shown model is made of, what's wrong with it, and repair."""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtWidgets

from studio.meshes import MeshStats
from studio.meshes.units import mm_per_unit
from ui.version_browser import describe_size
from viewer.viewport import UNIT_SCALE


def _number(value: float, digits: int = 2) -> str:
    return f"{value:,.{digits}f}"


class Inspector(QtWidgets.QWidget):
    """Shows :class:`studio.meshes.MeshStats` in the chosen unit, with plain warnings."""

    repair_requested = QtCore.Signal()

    ROWS = (
        ("format", "Format"),
        ("file_size", "File size"),
        ("faces", "Triangles"),
        ("vertices", "Vertices"),
        ("parts", "Parts"),
        ("bodies", "Bodies"),
        ("dimensions", "Dimensions"),
        ("area", "Surface area"),
        ("volume", "Volume"),
        ("watertight", "Watertight"),
        ("winding_consistent", "Consistent winding"),
        ("degenerate_faces", "Degenerate faces"),
        ("duplicate_faces", "Duplicate faces"),
    )

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector")
        self._stats: dict[str, Any] | None = None
        self._unit = "mm"
        self.title = QtWidgets.QLabel("Nothing shown")
        self.title.setObjectName("inspectorTitle")
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight: 600; padding: 2px;")
        form = QtWidgets.QFormLayout()
        form.setLabelAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        self.values: dict[str, QtWidgets.QLabel] = {}
        for key, label in self.ROWS:
            value = QtWidgets.QLabel("—")
            value.setObjectName(f"stat_{key}")
            value.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
            self.values[key] = value
            form.addRow(label, value)
        self.warnings = QtWidgets.QLabel("")
        self.warnings.setObjectName("inspectorWarnings")
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("color: #f0b36b; padding: 4px;")
        # What the load changed or left out (a texture scaled down, a unit assumed, ...).
        self.notes = QtWidgets.QLabel("")
        self.notes.setObjectName("inspectorNotes")
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes.setStyleSheet("color: palette(mid); padding: 4px;")
        self.repair_button = QtWidgets.QPushButton("Repair as a new version")
        self.repair_button.setObjectName("repairButton")
        self.repair_button.setToolTip(
            "Merge duplicate points, drop broken faces, fix winding and close small holes. "
            "The result is added as a new version; the current one is kept."
        )
        self.repair_button.clicked.connect(self.repair_requested)
        self.repair_button.setEnabled(False)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addLayout(form)
        layout.addWidget(self.warnings)
        layout.addWidget(self.notes)
        layout.addWidget(self.repair_button)
        layout.addStretch(1)

    @property
    def stats(self) -> dict[str, Any] | None:
        return self._stats

    def set_unit(self, unit: str) -> None:
        self._unit = unit
        self._fill()

    def show_computing(self, title: str) -> None:
        self._stats = None
        self.title.setText(title)
        for value in self.values.values():
            value.setText("…")
        self.warnings.setText("Measuring…")
        self.notes.setText("")
        self.repair_button.setEnabled(False)

    def clear(self) -> None:
        self._stats = None
        self.title.setText("Nothing shown")
        for value in self.values.values():
            value.setText("—")
        self.warnings.setText("")
        self.notes.setText("")
        self.repair_button.setEnabled(False)

    def show_stats(self, title: str, stats: dict[str, Any], *, can_repair: bool) -> None:
        self._stats = stats
        self.title.setText(title)
        self._fill()
        warnings = MeshStats(**stats).warnings()
        self.warnings.setText(
            "\n".join(f"⚠ {w}" for w in warnings) if warnings else "✓ No problems found."
        )
        notes = [str(n) for n in stats.get("notes") or []]
        self.notes.setText("\n".join(f"ⓘ {n}" for n in notes))
        self.notes.setVisible(bool(notes))
        self.repair_button.setEnabled(can_repair and bool(warnings))

    def _fill(self) -> None:
        stats = self._stats
        if stats is None:
            return
        # Stats are in the file's own unit (3MF may declare one); show the chosen unit.
        model_mm = mm_per_unit(stats.get("unit"))
        scale = model_mm / UNIT_SCALE[self._unit]
        unit = self._unit
        dims = stats["dimensions"]
        volume = stats.get("volume")
        text = {
            "format": str(stats["format"]).upper().replace("-", " "),
            "file_size": describe_size(int(stats["file_size"])),
            "faces": f"{int(stats['faces']):,}",
            "vertices": f"{int(stats['vertices']):,}",
            "parts": str(stats["parts"]),
            "bodies": str(stats.get("bodies", "—")),
            "dimensions": " × ".join(_number(d * scale) for d in dims) + f" {unit}",
            "area": f"{_number(float(stats['area']) * scale**2)} {unit}²",
            "volume": (
                f"{_number(float(volume) * scale**3)} {unit}³"
                if volume is not None
                else "— (not closed)"
            ),
            "watertight": "Yes" if stats["watertight"] else "No",
            "winding_consistent": "Yes" if stats["winding_consistent"] else "No",
            "degenerate_faces": f"{int(stats['degenerate_faces']):,}",
            "duplicate_faces": f"{int(stats['duplicate_faces']):,}",
        }
        for key, value in text.items():
            self.values[key].setText(value)
