"""Write a scene to a file: GLB, OBJ (+MTL, PNG), STL, PLY, OFF or 3MF.

Every file is written to a temporary name and renamed into place, so a failed export
never leaves half a file under the name the designer chose.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
from collections.abc import Callable
from pathlib import Path

from studio.meshes.errors import MeshFormatError, file_label
from studio.meshes.scene import MeshFormat, Scene
from studio.meshes.units import in_unit, unit_for_export

log = logging.getLogger(__name__)

Writer = Callable[[Scene, Path], list[Path]]

#: Extensions :func:`export` writes, in the order a save dialog should offer them.
SUPPORTED_EXTENSIONS: tuple[str, ...] = (".glb", ".obj", ".stl", ".3mf", ".ply", ".off")

_BY_EXTENSION = {
    ".glb": MeshFormat.GLB,
    ".obj": MeshFormat.OBJ,
    ".stl": MeshFormat.STL_BINARY,
    ".3mf": MeshFormat.THREEMF,
    ".ply": MeshFormat.PLY_BINARY,
    ".off": MeshFormat.OFF,
}


def format_for_extension(suffix: str) -> MeshFormat:
    """The format :func:`export` writes for a file extension (with or without the dot).

    Raises
    ------
    MeshFormatError
        The extension is not one Kiln Studio exports; the message lists those it does.
    """
    key = suffix.lower() if suffix.startswith(".") else f".{suffix.lower()}"
    fmt = _BY_EXTENSION.get(key)
    if fmt is None:
        shown = key if key != "." else "no extension"
        raise MeshFormatError(
            f"Kiln Studio cannot export to “{shown}”. Choose one of "
            f"{', '.join(SUPPORTED_EXTENSIONS)}."
        )
    return fmt


def export(scene: Scene, path: Path, *, format: MeshFormat | None = None) -> list[Path]:
    """Write ``scene`` to ``path``.

    Parameters
    ----------
    scene
        What to write; it is not changed.
    path
        The target file.
    format
        The format to write; from ``path``'s extension when ``None``. STL is always
        written binary and PLY binary little-endian, whichever variant is asked for.

    Returns
    -------
    list of Path
        Every file written (an OBJ brings its .mtl and textures), the model file last.

    Raises
    ------
    MeshFormatError
        Unknown extension, nothing to export, or the file could not be written.
    """
    fmt = format or format_for_extension(path.suffix)
    if scene.n_faces == 0:
        raise MeshFormatError(
            f"There is nothing to export to {file_label(path)}: the model has no faces."
        )
    if any(part.n_faces == 0 for part in scene.parts):
        # Empty parts have nothing to write and no bounds; leave them out of the file.
        scene = dataclasses.replace(scene, parts=[p for p in scene.parts if p.n_faces > 0])
    # Numbers in the file mean what the format says they mean (glTF: metres).
    scene = in_unit(scene, unit_for_export(scene, fmt))
    try:
        return _writer(fmt)(scene, path)
    except OSError as exc:
        log.debug("writing %s failed", path, exc_info=True)
        raise MeshFormatError(_write_failure(path, exc)) from exc


def _writer(fmt: MeshFormat) -> Writer:
    # The format modules import trimesh and Pillow: load them only when exporting.
    if fmt in (MeshFormat.STL_BINARY, MeshFormat.STL_ASCII):
        from studio.meshes.formats import stl

        return stl.write
    if fmt is MeshFormat.OBJ:
        from studio.meshes.formats import obj

        return obj.write
    if fmt is MeshFormat.GLB:
        from studio.meshes.formats import gltf

        return gltf.write_glb
    if fmt in (MeshFormat.PLY_BINARY, MeshFormat.PLY_ASCII):
        from studio.meshes.formats import ply

        return ply.write
    if fmt is MeshFormat.OFF:
        from studio.meshes.formats import off

        return off.write
    if fmt is MeshFormat.THREEMF:
        from studio.meshes.formats import threemf

        return threemf.write
    raise MeshFormatError(
        "Kiln Studio exports glTF as a single .glb file. Choose one of "
        f"{', '.join(SUPPORTED_EXTENSIONS)}."
    )


def _write_failure(path: Path, exc: OSError) -> str:
    label = file_label(path)
    if exc.errno == errno.ENOSPC:
        return f"{label} could not be saved: the disk is full."
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{label} could not be saved: Kiln Studio is not allowed to write in that folder."
    if exc.errno == errno.ENOENT:
        return f"{label} could not be saved: its folder does not exist."
    return f"{label} could not be saved to that folder."
