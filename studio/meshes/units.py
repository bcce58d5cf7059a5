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
