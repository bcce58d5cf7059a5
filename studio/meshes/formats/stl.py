"""STL, binary and ASCII, read and written with numpy only.

Binary STL is the format big scans and prints arrive in, so its reader is the fast path:
one preallocated ``(3n, 3)`` float32 triangle soup filled chunk by chunk, no vertex merge.
"""

from __future__ import annotations

import re
import struct
from io import BufferedReader
from pathlib import Path

import numpy as np

from studio.atomic import atomic_writer
from studio.meshes.errors import MeshFormatError
from studio.meshes.limits import check_triangles
from studio.meshes.request import ReadRequest
from studio.meshes.scene import Float32Array, MeshFormat, Part, Scene
from studio.meshes.sniff import text_bytes

#: One binary STL record: normal, three corners, attribute word; 50 bytes, no padding.
TRIANGLE_DTYPE = np.dtype([("normal", "<f4", (3,)), ("corners", "<f4", (3, 3)), ("attr", "<u2")])
#: Triangles per read: ~13 MB, large enough to amortise Python, small enough for the peak.
CHUNK_TRIANGLES = 1 << 18

_KEYWORDS = re.compile(
    rb"(?i)\b(?:endsolid[^\n]*|solid[^\n]*|facet|normal|outer|loop|vertex|endloop|endfacet)\b"
)
_SOLID = re.compile(rb"(?im)^[ \t]*solid\b[ \t]*([^\r\n]*)")
#: A corner line, whatever surrounds it: the tolerant path reads only these.
_VERTEX = re.compile(rb"(?im)^[ \t]*vertex[ \t]+(\S+)[ \t]+(\S+)[ \t]+(\S+)")


def read_binary(request: ReadRequest) -> Scene:
    """Read a binary STL into one triangle-soup part."""
    path = request.path
    with path.open("rb") as fh:
        header = fh.read(84)
        if len(header) < 84:
            raise MeshFormatError(f"{request.label} is cut short: it has no complete STL header.")
        (count,) = struct.unpack_from("<I", header, 80)
        size = path.stat().st_size
        available = (size - 84) // 50
        if available < count:
            raise MeshFormatError(
                f"{request.label} is cut short: its header promises {count:,} triangles but "
                f"the file holds only {available:,}. It may not have finished downloading."
            )
        if available > count or (size - 84) % 50:
            request.notes.append(
                f"{request.label} has {size - 84 - 50 * count:,} bytes after its last "
                "triangle; they were ignored."
            )
        check_triangles(path, count, request.limits)
        corners = np.empty((3 * count, 3), dtype=np.float32)
        _read_records(fh, corners, count, request)
    # Binary headers rarely hold a useful name ("Exported from ...", padding): use the file's.
    return Scene([Part(corners, None, name=path.stem)], MeshFormat.STL_BINARY)


def _read_records(fh: BufferedReader, out: Float32Array, count: int, request: ReadRequest) -> None:
    chunk = min(count, CHUNK_TRIANGLES)
    buffer = bytearray(chunk * TRIANGLE_DTYPE.itemsize)
    view = memoryview(buffer)
    done = 0
    while done < count:
        request.cancel.raise_if_cancelled()
        n = min(chunk, count - done)
        wanted = n * TRIANGLE_DTYPE.itemsize
        got = fh.readinto(view[:wanted])
        if got != wanted:
            raise MeshFormatError(f"{request.label} is cut short in the middle of a triangle.")
        records = np.frombuffer(buffer, dtype=TRIANGLE_DTYPE, count=n)
        out[3 * done : 3 * (done + n)] = records["corners"].reshape(-1, 3)
        done += n
        request.progress(done / count, "Reading file")


def read_ascii(request: ReadRequest) -> Scene:
    """Read an ASCII STL; each ``solid`` becomes a part.

    Any line ending goes (old Mac files end lines with a lone carriage return), and so does
    what slicers tolerate: text after ``endloop``/``endfacet`` and normals that are not
    numbers. Only the corners count; normals are computed from them anyway.
    """
    data = text_bytes(request.path.read_bytes())
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    request.progress(0.2, "Reading file")
    starts = [(m.start(), m.group(1).decode("latin-1").strip()) for m in _SOLID.finditer(data)]
    if not starts:
        starts = [(0, "")]
    parts: list[Part] = []
    total = 0
    for index, (start, name) in enumerate(starts):
        request.cancel.raise_if_cancelled()
        end = starts[index + 1][0] if index + 1 < len(starts) else len(data)
        corners = _parse_solid(request, data[start:end])
        total += corners.shape[0] // 3
        check_triangles(request.path, total, request.limits)
        parts.append(Part(corners, None, name=name or request.path.stem))
        request.progress(0.2 + 0.8 * (index + 1) / len(starts), "Reading file")
    return Scene(parts, MeshFormat.STL_ASCII)


def _parse_solid(request: ReadRequest, text: bytes) -> Float32Array:
    # Fast path: drop the keywords, keep the numbers, 12 per facet (normal + corners).
    numbers = _KEYWORDS.sub(b" ", text)
    if not numbers.strip():
        return np.zeros((0, 3), dtype=np.float32)  # fromstring would say [-1.0]
    try:
        values = np.fromstring(numbers, dtype=np.float32, sep=" ")
        corners = sum(text.count(word) for word in (b"vertex", b"VERTEX", b"Vertex"))
        if values.size == 4 * corners and values.size % 12 == 0:
            return np.ascontiguousarray(values.reshape(-1, 12)[:, 3:].reshape(-1, 3))
    except ValueError:
        pass
    return _corner_lines(request, text)


def _corner_lines(request: ReadRequest, text: bytes) -> Float32Array:
    """The tolerant path: every ``vertex x y z`` line, in order, and nothing else."""
    corners = _VERTEX.findall(text)
    try:
        values = np.array(corners, dtype=np.float64).reshape(-1, 3)
    except ValueError:
        raise MeshFormatError(
            f"{request.label} is damaged or not a valid STL file: it has text where numbers "
            "should be."
        ) from None
    if values.shape[0] % 3:
        raise MeshFormatError(
            f"{request.label} is damaged or not a valid STL file: a facet is incomplete."
        )
    return np.ascontiguousarray(values, dtype=np.float32)


def write_binary(triangles: list[Float32Array], path: Path, header: str = "") -> None:
    """Write ``(m, 3, 3)`` triangle arrays as one binary STL, atomically."""
    count = sum(int(t.shape[0]) for t in triangles)
    title = (header or "Kiln Studio").encode("ascii", "replace")[:80]
    if title.lower().startswith(b"solid"):
        title = b"Kiln " + title  # keep readers from mistaking the file for ASCII
    with atomic_writer(path) as fh:
        fh.write(title[:80].ljust(80, b" "))
        fh.write(struct.pack("<I", count))
        for tris in triangles:
            for start in range(0, int(tris.shape[0]), CHUNK_TRIANGLES):
                block = tris[start : start + CHUNK_TRIANGLES].astype(np.float32, copy=False)
                records = np.zeros(block.shape[0], dtype=TRIANGLE_DTYPE)
                records["corners"] = block
                records["normal"] = _unit_normals(block)
                fh.write(records.tobytes())


def _unit_normals(tris: Float32Array) -> Float32Array:
    normal = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    length = np.linalg.norm(normal, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.where(length > 0, normal / length, 0.0)
    return unit.astype(np.float32)


def write(scene: Scene, path: Path) -> list[Path]:
    """Write every part of the scene into one binary STL."""
    name = scene.parts[0].name if len(scene.parts) == 1 else ""
    write_binary([part.triangles() for part in scene.parts], path, header=name)
    return [path]
