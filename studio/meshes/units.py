"""Length units: what a file's numbers mean.

glTF is in metres by its specification; 3MF declares its unit; STL, OBJ, PLY and OFF
carry none, and by the habit of CAD and 3D printing they are read (and written) as
millimetres. ``Scene.unit`` is ``None`` for those.
"""

from __future__ import annotations

import dataclasses

from studio.meshes.scene import MeshFormat, Scene

#: Millimetres in one unit, by the names 3MF uses.
MM_PER_UNIT = {
    "micron": 0.001,
    "millimeter": 1.0,
    "centimeter": 10.0,
    "meter": 1000.0,
    "inch": 25.4,
    "foot": 304.8,
}
#: The unit each format's numbers are written in (3MF writes whatever the scene has).
FORMAT_UNIT = {
    MeshFormat.GLB: "meter",
    MeshFormat.GLTF: "meter",
}


def mm_per_unit(unit: str | None) -> float:
    """Millimetres in one ``unit``; a unitless file counts in millimetres."""
    return MM_PER_UNIT.get((unit or "millimeter").lower(), 1.0)


def in_unit(scene: Scene, unit: str | None) -> Scene:
    """``scene`` with its coordinates expressed in ``unit`` (the same scene if already)."""
    factor = mm_per_unit(scene.unit) / mm_per_unit(unit)
    if factor == 1.0:
        return dataclasses.replace(scene, unit=unit)
    parts = [
        dataclasses.replace(part, vertices=(part.vertices * factor).astype("float32"))
        for part in scene.parts
    ]
    return dataclasses.replace(scene, parts=parts, unit=unit)


def unit_for_export(scene: Scene, fmt: MeshFormat) -> str | None:
    """The unit a file of ``fmt`` will hold ``scene`` in."""
    if fmt in FORMAT_UNIT:
        return FORMAT_UNIT[fmt]
    if fmt is MeshFormat.THREEMF:
        return scene.unit if scene.unit in MM_PER_UNIT else "millimeter"
    return None  # unitless formats: millimetres


#: Millimetres in one of the units lengths are shown in.
DISPLAY_UNIT_MM = {"mm": 1.0, "cm": 10.0, "m": 1000.0, "in": 25.4}
#: Display units by the 3MF names a file or the designer may give.
DISPLAY_UNIT_OF = {"millimeter": "mm", "centimeter": "cm", "meter": "m", "inch": "in"}
UNIT_NAME_OF = {short: name for name, short in DISPLAY_UNIT_OF.items()}


def format_length(value_mm: float, unit: str) -> str:
    """``123.456`` mm in "mm" → "123.5 mm": fewer digits for big numbers, more for small."""
    value = value_mm / DISPLAY_UNIT_MM[unit]
    digits = 1 if abs(value) >= 10 else 2 if abs(value) >= 1 else 3
    return f"{value:.{digits}f} {unit}"


def default_up_axis(fmt: MeshFormat) -> str:
    """``"y"`` for glTF (its specification) and OBJ (by habit), ``"z"`` for the CAD formats."""
    return "y" if fmt in (MeshFormat.GLB, MeshFormat.GLTF, MeshFormat.OBJ) else "z"
