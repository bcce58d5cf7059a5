"""Load any supported model file into a :class:`Scene`: sniff, check limits, read, validate.

This is the one place where parser exceptions meet the designer: anything a reader
raises on a malformed file becomes a :class:`MeshFormatError` that names the file, and
the original is logged at debug level so our own bugs are still visible to us.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from studio.errors import KilnError
from studio.meshes.errors import MeshFormatError, MeshLimitError, file_label
from studio.meshes.limits import Limits, check_file_size, check_triangles
from studio.meshes.request import ReadRequest
from studio.meshes.scene import MeshFormat, Part, Scene
from studio.meshes.sniff import sniff
from studio.work import NEVER_CANCELLED, CancelToken, Progress, no_progress

log = logging.getLogger(__name__)

Reader = Callable[[ReadRequest, MeshFormat], Scene]

#: Said of every file that declares no unit (STL, OBJ, PLY, OFF): the size rests on it.
UNIT_NOTE = "The file does not say which unit it uses, so it was read as millimetres."


def _reader(fmt: MeshFormat) -> Reader:
    # Format modules import trimesh; importing them only here keeps startup light.
    if fmt is MeshFormat.STL_BINARY:
        from studio.meshes.formats import stl

        return lambda request, _fmt: stl.read_binary(request)
    if fmt is MeshFormat.STL_ASCII:
        from studio.meshes.formats import stl

        return lambda request, _fmt: stl.read_ascii(request)
    if fmt is MeshFormat.OBJ:
        from studio.meshes.formats import obj

        return lambda request, _fmt: obj.read(request)
    if fmt in (MeshFormat.GLB, MeshFormat.GLTF):
        from studio.meshes.formats import gltf

        return gltf.read
    if fmt in (MeshFormat.PLY_ASCII, MeshFormat.PLY_BINARY):
        from studio.meshes.formats import ply

        return ply.read
    if fmt is MeshFormat.OFF:
        from studio.meshes.formats import off

        return lambda request, _fmt: off.read(request)
    from studio.meshes.formats import threemf

    return lambda request, _fmt: threemf.read(request)


def warm_up() -> None:
    """Import every reader (and trimesh, Pillow, scipy) ahead of the first file.

    The window calls this on a worker once it is on screen, so the designer's first drop
    doesn't pay half a second of imports before its first frame.
    """
    for fmt in MeshFormat:
        _reader(fmt)
    from studio.meshes import export, repair, stats  # noqa: F401


def load(
    path: Path,
    *,
    limits: Limits | None = None,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> Scene:
    """Read a model file, whatever its extension says.

    Parameters
    ----------
    path
        The model file. Files it refers to (MTL, textures, glTF buffers) are read only
        from its own folder.
    limits
        Size and triangle limits; :class:`Limits` defaults when ``None``.
    progress
        Called with ``(fraction, "Reading file")`` while reading.
    cancel
        Checked between chunks; raises :class:`~studio.errors.Cancelled`.

    Returns
    -------
    Scene
        Float32 positions, int32 faces, one part per object/mesh the file holds, and
        plain ``notes`` about anything ignored or guessed.

    Raises
    ------
    MeshFormatError
        The file is not a model, is damaged, or (:class:`MeshLimitError`) is beyond a limit.
    """
    limits = limits or Limits()
    label = file_label(path)
    sniffed = sniff(path)
    size = path.stat().st_size
    check_file_size(path, size, limits)
    request = ReadRequest(path, limits, progress, cancel)
    cancel.raise_if_cancelled()
    try:
        scene = _reader(sniffed.format)(request, sniffed.format)
    except KilnError:
        raise
    except MemoryError:
        raise MeshLimitError(
            f"{label} is too big to open with the memory this computer has free."
        ) from None
    except Exception as exc:
        log.debug("reading %s as %s failed", path, sniffed.format.value, exc_info=True)
        raise MeshFormatError(
            f"{label} is damaged or not a valid {sniffed.format.family} file."
        ) from exc
    cancel.raise_if_cancelled()
    scene.file_size = size
    scene.notes[:0] = ([sniffed.note] if sniffed.note else []) + request.notes
    validate(scene, path, limits)
    if scene.unit is None:
        scene.notes.append(UNIT_NOTE)
    progress(1.0, "Reading file")
    return scene


def validate(scene: Scene, path: Path, limits: Limits) -> None:
    """Refuse scenes no viewer can show: empty, malformed, non-finite, dangling indices.

    Every reader's arrays pass through here, so nothing downstream (stats, the viewer,
    export) meets positions that are not ``(n, 3)`` finite floats. Per-vertex extras that
    don't fit their vertices (normals, UVs, colours) are dropped, with a note.
    """
    label = file_label(path)
    for part in scene.parts:
        _check_shapes(part, label, scene.notes)
    scene.parts = [p for p in scene.parts if p.n_faces > 0]
    if not scene.parts:
        raise MeshFormatError(f"{label} holds no triangles, so there is nothing to show.")
    check_triangles(path, scene.n_faces, limits)
    for part in scene.parts:
        if part.faces is None and part.n_vertices % 3:
            raise MeshFormatError(f"{label} is damaged: a triangle is incomplete.")
        if not _all_finite(part.vertices):
            raise MeshFormatError(
                f"{label} is damaged: some coordinates are not numbers (NaN or infinity)."
            )
        faces = part.faces
        if (
            faces is not None
            and faces.size
            and (int(faces.min()) < 0 or int(faces.max()) >= part.n_vertices)
        ):
            raise MeshFormatError(f"{label} is damaged: a face uses a vertex that does not exist.")


def _note(notes: list[str], note: str) -> None:
    if note not in notes:
        notes.append(note)


def _check_shapes(part: Part, label: str, notes: list[str]) -> None:
    vertices = part.vertices
    if (
        not isinstance(vertices, np.ndarray)
        or vertices.ndim != 2
        or vertices.shape[1] != 3
        or vertices.dtype.kind not in "fiu"
    ):
        raise MeshFormatError(
            f"{label} is damaged: some vertices do not have three coordinates (x, y, z)."
        )
    if vertices.dtype != np.float32 or not vertices.flags.c_contiguous:
        part.vertices = np.ascontiguousarray(vertices, dtype=np.float32)
    n = part.n_vertices
    faces = part.faces
    if faces is not None:
        if not isinstance(faces, np.ndarray) or faces.ndim != 2 or faces.shape[1] != 3:
            raise MeshFormatError(f"{label} is damaged: a face is not a triangle.")
        if faces.dtype.kind not in "iu":
            raise MeshFormatError(f"{label} is damaged: a face's corners are not whole numbers.")
        if faces.dtype != np.int32:
            if faces.size and int(faces.max()) >= 2**31:
                raise MeshFormatError(
                    f"{label} is damaged: a face uses a vertex that does not exist."
                )
            part.faces = np.ascontiguousarray(faces, dtype=np.int32)
    if part.normals is not None and (part.normals.shape != (n, 3) or not _all_finite(part.normals)):
        part.normals = None
        _note(notes, "Some of the file's normals are unusable; they are recomputed.")
    if part.uv is not None and (part.uv.shape != (n, 2) or not _all_finite(part.uv)):
        part.uv = None
        _note(notes, "Some of the file's texture coordinates are unusable, so they were ignored.")
    if part.colors is not None and (part.colors.shape != (n, 4) or part.colors.dtype != np.uint8):
        part.colors = None
        _note(notes, "Some of the file's vertex colours are unusable, so they were ignored.")


def _all_finite(values: np.ndarray) -> bool:
    # Chunked so a 5M-triangle soup needs no 45M-element boolean temporary.
    flat = values.reshape(-1)
    step = 1 << 22
    return all(bool(np.isfinite(flat[i : i + step]).all()) for i in range(0, flat.size, step))
