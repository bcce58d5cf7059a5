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
    faces, face_colors = _faces(body[n_vertices : n_vertices + n_faces], label, request)
    check_triangles(request.path, len(faces), request.limits)
    if face_colors is not None and faces.size and int(faces.max()) < len(vertices):
        # Colours per face become colours per corner on an unshared copy of the corners.
        vertices = np.ascontiguousarray(vertices[faces].reshape(-1, 3))
        colors = np.repeat(face_colors, 3, axis=0)
        faces = np.arange(len(vertices), dtype=np.int32).reshape(-1, 3)
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


def _faces(
    lines: list[bytes], label: str, request: ReadRequest
) -> tuple[Int32Array, UInt8Array | None]:
    """Triangles (polygons fanned out) and, when every face has one, a colour per triangle.

    A face line is ``n i1 ... in`` optionally followed by a colour: three or four numbers,
    integers 0-255 or fractions 0-1 (comments.off and most OFF writers' variant).
    """
    if not lines:
        return np.zeros((0, 3), dtype=np.int32), None
    unreadable = MeshFormatError(
        f"{label} is damaged or not a valid OFF file: a face is unreadable."
    )
    widths = {len(line.split()) for line in lines}
    try:
        if len(widths) == 1:
            # Fast path: the same polygon size and trailing fields on every line.
            width = widths.pop()
            values = np.array(b" ".join(lines).split(), dtype=np.float64).reshape(-1, width)
            counts = values[:, 0]
            if np.all(counts == counts[0]) and 3 <= counts[0] < width:
                count = int(counts[0])
                polygons = values[:, 1 : 1 + count]
                extra = values[:, 1 + count :]
                if not np.all(polygons == np.round(polygons)):
                    raise unreadable
                triangles = _fan(polygons.astype(np.int64))
                colors = _colors(extra) if extra.shape[1] in (3, 4) else None
                return triangles, _per_triangle(colors, count)
        return _faces_one_by_one(lines, request)
    except (ValueError, IndexError):
        raise unreadable from None


def _fan(polygons: npt.NDArray[np.int64]) -> Int32Array:
    """``(m, n)`` polygons as ``(m * (n - 2), 3)`` triangles fanned from the first corner."""
    n = polygons.shape[1]
    if n == 3:
        return np.ascontiguousarray(polygons, dtype=np.int32)
    fans = [polygons[:, [0, i, i + 1]] for i in range(1, n - 1)]
    return np.ascontiguousarray(np.stack(fans, axis=1).reshape(-1, 3), dtype=np.int32)


def _per_triangle(colors: UInt8Array | None, corners: int) -> UInt8Array | None:
    return None if colors is None else np.repeat(colors, corners - 2, axis=0)


def _faces_one_by_one(
    lines: list[bytes], request: ReadRequest
) -> tuple[Int32Array, UInt8Array | None]:
    triangles: list[tuple[int, int, int]] = []
    colour_rows: list[list[float]] = []
    repeats: list[int] = []
    for line in lines:
        words = line.split()
        count = int(words[0])
        polygon = [int(w) for w in words[1 : 1 + count]]
        if len(polygon) != count:
            raise ValueError("incomplete face")
        triangles.extend((polygon[0], polygon[i], polygon[i + 1]) for i in range(1, count - 1))
        extra = words[1 + count :]
        if len(extra) in (3, 4) and count >= 3:
            colour_rows.append([float(w) for w in extra] + [np.nan] * (4 - len(extra)))
            repeats.append(count - 2)
    faces = np.array(triangles, dtype=np.int32).reshape(-1, 3)
    if not colour_rows:
        return faces, None
    if sum(repeats) != len(faces):
        note = "Some faces of the file have colours and some don't, so they were ignored."
        if note not in request.notes:
            request.notes.append(note)
        return faces, None
    table = np.array(colour_rows, dtype=np.float64)
    if np.nanmax(table) <= 1.0:
        table *= 255.0  # fractions 0-1 rather than 0-255
    table[np.isnan(table)] = 255.0  # no alpha given: opaque
    colors = np.clip(np.round(table), 0, 255).astype(np.uint8)
    return faces, np.repeat(colors, repeats, axis=0)


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
