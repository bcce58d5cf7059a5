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
        ("winding_consistent", "Winding"),
        ("degenerate_faces", "Degenerate"),
        ("duplicate_faces", "Duplicates"),
        ("open_edges", "Open edges"),
        ("nonmanifold_edges", "Non-manifold"),
    )

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector")
        self._stats: dict[str, Any] | None = None
        self._unit = "mm"
        #: Millimetres per model unit when the designer said what the file is in.
        self._model_mm: float | None = None
        self.title = QtWidgets.QLabel("Nothing shown")
        self.title.setObjectName("inspectorTitle")
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight: 600; padding: 2px;")
        form = QtWidgets.QFormLayout()
        form.setLabelAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        form.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapLongRows)
        self.values: dict[str, QtWidgets.QLabel] = {}
        for key, label in self.ROWS:
            value = QtWidgets.QLabel("—")
            value.setObjectName(f"stat_{key}")
            value.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setWordWrap(True)
            self.values[key] = value
            form.addRow(label, value)
        self.warnings = QtWidgets.QLabel("")
        self.warnings.setObjectName("inspectorWarnings")
        self.warnings.setWordWrap(True)
        self.warnings.setProperty("role", "warning")
        # What the load changed or left out (a texture scaled down, a unit assumed, ...).
        self.notes = QtWidgets.QLabel("")
        self.notes.setObjectName("inspectorNotes")
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes.setProperty("role", "muted")
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
        self.highlight = QtWidgets.QCheckBox("Highlight these edges")
        self.highlight.setToolTip("Draw open edges in red and non-manifold edges in magenta")
        self.highlight.setObjectName("highlightEdges")
        layout.insertWidget(layout.indexOf(self.warnings) + 1, self.highlight)
        self.repair_report = QtWidgets.QLabel("")
        self.repair_report.setObjectName("repairReport")
        self.repair_report.setWordWrap(True)
        self.repair_report.hide()
        layout.addWidget(self.repair_report)
        layout.addStretch(1)

    @property
    def stats(self) -> dict[str, Any] | None:
        return self._stats

    def show_repair_report(self, text: str) -> None:
        """What the last repair did and could not do, under the warnings."""
        self.repair_report.setText(text)
        self.repair_report.setVisible(bool(text))

    def set_model_mm(self, model_mm: float | None) -> None:
        """What one unit of the file is, in mm (``None``: what the file declares)."""
        self._model_mm = model_mm
        self._fill()

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
        model_mm = self._model_mm or mm_per_unit(stats.get("unit"))
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
            "open_edges": f"{int(stats.get('open_edges', 0)):,}",
            "nonmanifold_edges": f"{int(stats.get('nonmanifold_edges', 0)):,}",
        }
        for key, value in text.items():
            self.values[key].setText(value)
