"""PLY, ASCII and binary (both byte orders), with vertex colours.

trimesh parses the data; first we read the header ourselves so a binary file that is
cut short gets a plain message instead of a parser's complaint.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh

from studio.atomic import atomic_writer
from studio.meshes.errors import MeshFormatError
from studio.meshes.formats.trimesh_bridge import parts_from_scene
from studio.meshes.request import ReadRequest
from studio.meshes.scene import MeshFormat, Part, Scene, UInt8Array

_TYPE_SIZES = {
    "char": 1, "int8": 1, "uchar": 1, "uint8": 1,
    "short": 2, "int16": 2, "ushort": 2, "uint16": 2,
    "int": 4, "int32": 4, "uint": 4, "uint32": 4, "float": 4, "float32": 4,
    "double": 8, "float64": 8,
}  # fmt: skip
_INDEX_LISTS = ("vertex_indices", "vertex_index")


def read(request: ReadRequest, fmt: MeshFormat) -> Scene:
    """Read a PLY file as one part."""
    if fmt is MeshFormat.PLY_BINARY:
        _check_binary_length(request)
    else:
        _check_ascii_length(request)
    request.progress(0.0, "Reading file")
    with request.path.open("rb") as fh:
        loaded = trimesh.load_scene(fh, file_type="ply", process=False)
    request.cancel.raise_if_cancelled()
    parts = parts_from_scene(loaded)
    for part in parts:
        part.name = request.path.stem
    return Scene(parts, fmt)


def _header(request: ReadRequest) -> tuple[str, int]:
    """The header's text (up to ``end_header``) and where the body starts."""
    with request.path.open("rb") as fh:
        header = fh.read(64 * 1024)
    end = header.find(b"end_header")
    if end < 0:
        raise MeshFormatError(f"{request.label} is damaged: its PLY header never ends.")
    body_start = header.index(b"\n", end) + 1 if b"\n" in header[end:] else len(header)
    return header[:end].decode("latin-1"), body_start


def _cut_short(request: ReadRequest) -> MeshFormatError:
    return MeshFormatError(
        f"{request.label} is cut short: its header promises more data than the file "
        "holds. It may not have finished downloading or copying."
    )


def _check_ascii_length(request: ReadRequest) -> None:
    """Refuse an ASCII PLY with fewer lines than its header's elements: one line each."""
    header, body_start = _header(request)
    promised = 0
    for line in header.splitlines():
        words = line.split()
        if words[:1] == ["element"] and len(words) >= 3:
            try:
                promised += int(words[2])
            except ValueError:
                raise MeshFormatError(
                    f"{request.label} is damaged: its PLY header has an unreadable count."
                ) from None
    with request.path.open("rb") as fh:
        fh.seek(body_start)
        lines = 0
        for raw in fh:
            if raw.strip():
                lines += 1
                if lines >= promised:
                    return
    if lines < promised:
        raise _cut_short(request)


def _check_binary_length(request: ReadRequest) -> None:
    """Refuse a binary PLY shorter than its header's element counts require."""
    header, body_start = _header(request)
    minimum = 0
    count = 0
    for line in header.splitlines():
        words = line.split()
        if words[:1] == ["element"] and len(words) >= 3:
            count = int(words[2])
        elif words[:1] == ["property"] and len(words) >= 3:
            if words[1] == "list" and len(words) >= 5:
                # A face lists at least three indices; other lists may be empty.
                items = 3 if words[4] in _INDEX_LISTS else 0
                per_item = _TYPE_SIZES.get(words[3], 1)
                minimum += count * (_TYPE_SIZES.get(words[2], 1) + items * per_item)
            else:
                minimum += count * _TYPE_SIZES.get(words[1], 1)
    size = request.path.stat().st_size
    if size - body_start < minimum:
        raise _cut_short(request)


def write(scene: Scene, path: Path) -> list[Path]:
    """Write the scene as one binary little-endian PLY, with RGBA colours when any part has them.

    Parts without vertex colours take their material's base colour.
    """
    parts = scene.parts
    with_colors = any(p.colors is not None for p in parts)
    fields: list[tuple[str, str]] = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
    if with_colors:
        fields += [("red", "u1"), ("green", "u1"), ("blue", "u1"), ("alpha", "u1")]
    n_vertices = sum(p.n_vertices for p in parts)
    n_faces = sum(p.n_faces for p in parts)
    vertex = np.empty(n_vertices, dtype=np.dtype(fields))
    face = np.empty(n_faces, dtype=np.dtype([("n", "u1"), ("v", "<i4", (3,))]))
    face["n"] = 3
    v_at = f_at = 0
    for part in parts:
        chunk = vertex[v_at : v_at + part.n_vertices]
        for axis, name in enumerate("xyz"):
            chunk[name] = part.vertices[:, axis]
        if with_colors:
            colors = part.colors if part.colors is not None else _material_colors(part)
            for channel, name in enumerate(("red", "green", "blue", "alpha")):
                chunk[name] = colors[:, channel]
        face["v"][f_at : f_at + part.n_faces] = part.face_indices() + v_at
        v_at += part.n_vertices
        f_at += part.n_faces
    header = ["ply", "format binary_little_endian 1.0", "comment Written by Kiln Studio"]
    header.append(f"element vertex {n_vertices}")
    header += [f"property {'float' if kind == '<f4' else 'uchar'} {name}" for name, kind in fields]
    header += [f"element face {n_faces}", "property list uchar int vertex_indices", "end_header"]
    with atomic_writer(path) as fh:
        fh.write(("\n".join(header) + "\n").encode("ascii"))
        fh.write(vertex.tobytes())
        fh.write(face.tobytes())
    return [path]


def _material_colors(part: Part) -> UInt8Array:
    base = part.material.base_color if part.material is not None else (0.8, 0.8, 0.8, 1.0)
    rgba = np.round(np.clip(np.array(base), 0.0, 1.0) * 255).astype(np.uint8)
    return np.tile(rgba, (part.n_vertices, 1))
