""" "This file is in mm / cm / m / in" and "up is Y / Z", for the version on screen.

A file's numbers carry no unit in STL, OBJ, PLY and OFF; glTF is metres by its
specification, yet plenty of GLBs are authored in millimetres. The designer decides here;
the library remembers it per version, and dimensions, measuring and export follow it.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from studio.library import VersionRecord
from studio.meshes.units import PLACEMENT_UNITS, UP_AXES

UNIT_LABELS = {"mm": "millimetres", "cm": "centimetres", "m": "metres", "in": "inches"}


class PlacementBox(QtWidgets.QWidget):
    """Two choices for the shown version; emits ``changed(version, unit, up_axis)``."""

    changed = QtCore.Signal(object, str, str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("placementBox")
        self._version: VersionRecord | None = None
        self.unit = QtWidgets.QComboBox()
        self.unit.setObjectName("placementUnit")
        for unit in PLACEMENT_UNITS:
            self.unit.addItem(UNIT_LABELS[unit], unit)
        self.up = QtWidgets.QComboBox()
        self.up.setObjectName("placementUp")
        for axis in UP_AXES:
            self.up.addItem(f"{axis} is up", axis)
        for combo in (self.unit, self.up):
            combo.setSizeAdjustPolicy(
                QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(6)
            combo.activated.connect(self._on_choice)
        self.hint = QtWidgets.QLabel("")
        self.hint.setObjectName("placementHint")
        self.hint.setProperty("role", "muted")
        self.hint.setWordWrap(True)
        form = QtWidgets.QFormLayout(self)
        form.setContentsMargins(6, 0, 6, 0)
        form.addRow("File is in", self.unit)
        form.addRow("Orientation", self.up)
        form.addRow(self.hint)
        self.show_version(None)

    def show_version(self, version: VersionRecord | None) -> None:
        self._version = version
        self.setVisible(version is not None)
        if version is None:
            return
        unit_row = self.unit.findData(version.unit)
        if unit_row < 0:  # a 3MF in microns or feet: shown, not offered
            self.unit.addItem(version.unit, version.unit)
            unit_row = self.unit.count() - 1
        self.unit.setCurrentIndex(unit_row)
        self.up.setCurrentIndex(max(0, self.up.findData(version.up_axis)))
        if version.unit_is_assumed:
            self.hint.setText(
                "The file doesn't say its unit: millimetres are assumed. Pick the right one."
            )
        elif version.unit_is_default and version.up_axis_is_default:
            self.hint.setText(f"As {version.format.family} files are usually made.")
        else:
            self.hint.setText("Your choice, kept with this version.")

    def _on_choice(self, _index: int) -> None:
        if self._version is not None:
            self.changed.emit(
                self._version, str(self.unit.currentData()), str(self.up.currentData())
            )


def scrolling_page(*widgets: QtWidgets.QWidget) -> QtWidgets.QScrollArea:
    """``widgets`` stacked in a page that scrolls up and down, never sideways."""
    scroll = QtWidgets.QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    page = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(page)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget)
    layout.addStretch(1)
    scroll.setWidget(page)
    return scroll
