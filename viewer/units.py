"""Lengths as the viewport writes them (the core's display units)."""

from __future__ import annotations

from studio.meshes.units import DISPLAY_UNIT_MM, format_length

#: Millimetres in one display unit.
UNIT_SCALE = DISPLAY_UNIT_MM

__all__ = ["UNIT_SCALE", "format_length"]
