"""Length units: what a file's numbers mean.

glTF is in metres by its specification; 3MF declares its unit; STL, OBJ, PLY and OFF
carry none, and by the habit of CAD and 3D printing they are read (and written) as
millimetres. ``Scene.unit`` is ``None`` for those.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.meshes.scene import Float32Array, MeshFormat, Scene

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


# -- placement: what a version's numbers mean and which way is up -------------------------

#: The units a designer can say a file is in, and the up axes.
PLACEMENT_UNITS = ("mm", "cm", "m", "in")
UP_AXES = ("Y", "Z")
#: Short names for every unit a file can declare (3MF also knows microns and feet).
SHORT_UNIT_OF = {**DISPLAY_UNIT_OF, "micron": "um", "foot": "ft"}
#: The unitless formats' convention (CAD and 3D printing): millimetres.
UNITLESS_DEFAULT = "mm"


@dataclass(frozen=True)
class Placement:
    """A version's unit and up axis: the designer's choice, or else the file's default.

    ``unit`` is a short name ("mm", "cm", "m", "in"; "um"/"ft" only when a 3MF declares
    them) and ``up_axis`` "Y" or "Z".
    """

    unit: str
    up_axis: str
    #: No designer choice: ``unit`` is what the format or the file says.
    unit_is_default: bool = True
    #: Nobody said: the format has no unit and the file declares none (OBJ). Ask once.
    unit_is_assumed: bool = False
    up_axis_is_default: bool = True

    @property
    def unit_name(self) -> str:
        """The unit as :attr:`Scene.unit` names it ("millimeter")."""
        return {short: name for name, short in SHORT_UNIT_OF.items()}[self.unit]


def resolve_placement(
    fmt: MeshFormat,
    declared_unit: str | None,
    unit: str | None = None,
    up_axis: str | None = None,
) -> Placement:
    """A version's placement from its format, the unit its file declares and the choices.

    Defaults: glTF/GLB metres and Y up; STL, 3MF, PLY, OFF millimetres and Z up; OBJ what
    the file declares (:func:`declared_obj_unit`), else millimetres *assumed*, and Y up.
    """
    default_unit = SHORT_UNIT_OF.get((declared_unit or "").lower())
    assumed = False
    if default_unit is None:
        if fmt in FORMAT_UNIT:
            default_unit = SHORT_UNIT_OF[FORMAT_UNIT[fmt]]
        else:
            default_unit = UNITLESS_DEFAULT
            assumed = fmt is MeshFormat.OBJ
    return Placement(
        unit=unit or default_unit,
        up_axis=up_axis or default_up_axis(fmt).upper(),
        unit_is_default=unit is None,
        unit_is_assumed=unit is None and assumed,
        up_axis_is_default=up_axis is None,
    )


def placed_for(scene: Scene, fmt: MeshFormat, placement: Placement) -> Scene:
    """``scene`` (whose numbers mean ``placement``) as a file of ``fmt`` should hold it.

    The unit is recorded on the scene (:func:`studio.meshes.export` then converts to what
    the format counts in) and the model is turned when the format's up axis differs, so
    a Z-up print written to GLB stands up in every glTF viewer.
    """
    scene = dataclasses.replace(scene, unit=placement.unit_name)
    target = default_up_axis(fmt).upper()
    if placement.up_axis == target:
        return scene
    # A quarter turn about X: Z up → Y up is (x, y, z) → (x, z, -y); the reverse undoes it.
    to_y = placement.up_axis == "Z"

    def turn(values: Float32Array) -> Float32Array:
        x, y, z = values[:, 0], values[:, 1], values[:, 2]
        turned = np.column_stack([x, z, -y] if to_y else [x, -z, y])
        return np.ascontiguousarray(turned, dtype=np.float32)

    parts = [
        dataclasses.replace(
            part,
            vertices=turn(part.vertices),
            normals=None if part.normals is None else turn(part.normals),
        )
        for part in scene.parts
    ]
    return dataclasses.replace(scene, parts=parts)


_OBJ_UNIT_WORDS = {
    "mm": "millimeter",
    "millimeter": "millimeter",
    "millimeters": "millimeter",
    "millimetre": "millimeter",
    "millimetres": "millimeter",
    "cm": "centimeter",
    "centimeter": "centimeter",
    "centimeters": "centimeter",
    "centimetre": "centimeter",
    "centimetres": "centimeter",
    "m": "meter",
    "meter": "meter",
    "meters": "meter",
    "metre": "meter",
    "metres": "meter",
    "in": "inch",
    "inch": "inch",
    "inches": "inch",
    "ft": "foot",
    "foot": "foot",
    "feet": "foot",
}
# "# File units = inches" (SketchUp's and other "Alias OBJ Model File" exporters) and the
# looser "# units: mm" some scripts write.
_OBJ_UNIT_COMMENT = re.compile(rb"^#\s*(?:file\s+)?units?\s*[:=]\s*([a-z]+)\s*$", re.IGNORECASE)
#: Declarations sit in the header comments; this much of the file is read for them.
_OBJ_HEADER_BYTES = 8192


def declared_obj_unit(path: Path) -> str | None:
    """The unit an OBJ's header comment declares (as :attr:`Scene.unit` names it), if any.

    OBJ has no unit; some exporters write one in a comment before the first vertex.
    """
    try:
        with path.open("rb") as fh:
            head = fh.read(_OBJ_HEADER_BYTES)
    except OSError:
        return None
    for line in head.splitlines():
        line = line.strip()
        if not line:
            continue
        if not line.startswith(b"#"):
            break  # past the header comments
        match = _OBJ_UNIT_COMMENT.match(line)
        if match:
            return _OBJ_UNIT_WORDS.get(match.group(1).decode("ascii").lower())
    return None
