"""OFF (Object File Format), including COFF, NOFF and friends, read and written with numpy."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import numpy.typing as npt

from studio.atomic import atomic_writer
from studio.meshes.errors import MeshFormatError
from studio.meshes.limits import check_triangles
from studio.meshes.request import ReadRequest
from studio.meshes.scene import Int32Array, MeshFormat, Part, Scene, UInt8Array

Float64Array = npt.NDArray[np.float64]

_COMMENT = re.compile(rb"#[^\n]*")
_HEADER = re.compile(r"^(ST)?(C)?(N)?(4)?(n)?OFF")


def read(request: ReadRequest) -> Scene:
    """Read an OFF file as one part; polygons are split into triangles."""
    label = request.label
    lines = [
        line.strip()
        for line in _COMMENT.sub(b"", request.path.read_bytes()).splitlines()
        if line.strip()
    ]
    damaged = MeshFormatError(f"{label} is damaged or not a valid OFF file.")
    if not lines:
        raise damaged
    header = lines[0].decode("latin-1")
    match = _HEADER.match(header)
    if match is None or match.group(4) or match.group(5):
        raise damaged  # 4D and n-dimensional OFF describe no 3D surface
    has_uv, has_color, has_normal = bool(match.group(1)), bool(match.group(2)), bool(match.group(3))
    rest = header[match.end() :].split()
    body = lines[1:]
    if len(rest) < 2:
        if not body:
            raise damaged
        rest = body[0].decode("latin-1").split()
        body = body[1:]
    n_vertices, n_faces = int(rest[0]), int(rest[1])
    if n_vertices < 0 or n_faces < 0 or len(body) < n_vertices + n_faces:
        raise MeshFormatError(
            f"{label} is cut short: its header promises more vertices and faces than it holds."
        )
    request.progress(0.3, "Reading file")
    table = _table(body[:n_vertices], label)
    vertices = np.ascontiguousarray(table[:, :3], dtype=np.float32)
    colors = None
    if has_color:
        # x y z [nx ny nz] [r g b [a]] [u v]: the colour is what lies between.
        start = 6 if has_normal else 3
        colors = _colors(table[:, start : table.shape[1] - (2 if has_uv else 0)])
    request.cancel.raise_if_cancelled()
    request.progress(0.6, "Reading file")
    faces = _faces(body[n_vertices : n_vertices + n_faces], label)
    check_triangles(request.path, len(faces), request.limits)
    part = Part(vertices, faces, name=request.path.stem, colors=colors)
    return Scene([part], MeshFormat.OFF)


def _table(lines: list[bytes], label: str) -> Float64Array:
    if not lines:
        return np.zeros((0, 3))
    values = np.fromstring(b" ".join(lines), dtype=np.float64, sep=" ")
    width = values.size // len(lines)
    if width < 3 or values.size != width * len(lines):
        raise MeshFormatError(
            f"{label} is damaged or not a valid OFF file: a vertex is incomplete."
        )
    return values.reshape(len(lines), width)


def _colors(columns: Float64Array) -> UInt8Array | None:
    columns = columns[:, :4]
    if columns.shape[1] < 3:
        return None
    if columns.size and columns.max() <= 1.0:
        columns = columns * 255.0
    rgba = np.full((columns.shape[0], 4), 255.0)
    rgba[:, : columns.shape[1]] = columns
    return np.clip(np.round(rgba), 0, 255).astype(np.uint8)


def _faces(lines: list[bytes], label: str) -> Int32Array:
    if not lines:
        return np.zeros((0, 3), dtype=np.int32)
    try:
        first = [int(w) for w in lines[0].split()]
        width = len(first)
        if first[0] == 3 and all(len(line.split()) == width for line in lines):
            # Fast path: every face a triangle with the same trailing (colour) fields.
            values = np.array(b" ".join(lines).split(), dtype=np.float64).reshape(-1, width)
            if np.all(values[:, 0] == 3):
                return np.ascontiguousarray(values[:, 1:4], dtype=np.int32)
        triangles: list[tuple[int, int, int]] = []
        for line in lines:
            words = line.split()
            count = int(words[0])
            polygon = [int(w) for w in words[1 : 1 + count]]
            if len(polygon) != count:
                raise ValueError("incomplete face")
            triangles.extend((polygon[0], polygon[i], polygon[i + 1]) for i in range(1, count - 1))
    except (ValueError, IndexError):
        raise MeshFormatError(
            f"{label} is damaged or not a valid OFF file: a face is unreadable."
        ) from None
    return np.array(triangles, dtype=np.int32).reshape(-1, 3)


def write(scene: Scene, path: Path) -> list[Path]:
    """Write the scene as one ASCII OFF mesh (COFF when every part has vertex colours)."""
    parts = scene.parts
    vertices = np.concatenate([p.vertices for p in parts]) if parts else np.zeros((0, 3))
    offsets = np.cumsum([0] + [p.n_vertices for p in parts])
    faces = (
        np.concatenate([p.face_indices() + o for p, o in zip(parts, offsets[:-1], strict=True)])
        if parts
        else np.zeros((0, 3), dtype=np.int32)
    )
    with_colors = bool(parts) and all(p.colors is not None for p in parts)
    out = io.StringIO()
    out.write("COFF\n" if with_colors else "OFF\n")
    out.write(f"{len(vertices)} {len(faces)} 0\n")
    if with_colors:
        colors = np.concatenate([p.colors for p in parts if p.colors is not None])
        table = np.column_stack([vertices.astype(np.float64), colors.astype(np.float64)])
        np.savetxt(out, table, fmt=["%.9g"] * 3 + ["%d"] * 4)
    else:
        np.savetxt(out, vertices.astype(np.float64), fmt="%.9g")
    np.savetxt(out, np.column_stack([np.full(len(faces), 3), faces]), fmt="%d")
    with atomic_writer(path) as fh:
        fh.write(out.getvalue().encode("ascii"))
    return [path]
