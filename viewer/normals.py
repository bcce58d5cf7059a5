"""Smooth point normals for surfaces that arrive without any (binary STL soups, mostly).

A soup stores every triangle with its own three corners, so a renderer can only shade it
flat. :func:`weld_normals` finds the corners that share a position, averages the normals
of the faces around each (weighted by the face's angle at that corner) and splits the
vertex where faces meet at more than a feature angle, so smooth shading is smooth on
curved surfaces and creases stay crisp. The result is an indexed surface, smaller than the
soup it replaces (a closed mesh has about half as many vertices as triangles).

It is numpy only and works bucket by bucket (corners sorted by a hash of their position),
so memory stays bounded on a 5M-triangle STL, and numpy releases the GIL in the heavy
steps: it runs on a worker thread while the GUI thread keeps drawing. The viewport starts
it once the first frame is up (see :meth:`viewer.viewport.Viewport.show_scene`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonCore import vtkDataArray, vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData

from studio.meshes.scene import Part

#: Faces meeting at more than this many degrees keep a crease (as ``vtkPolyDataNormals``).
FEATURE_ANGLE = 40.0
#: Parts up to this many triangles get smooth normals; bigger ones stay flat (memory).
SMOOTH_LIMIT = 10_000_000
#: Corners sorted at once; bounds the temporary memory (~150 bytes per corner).
BUCKET_CORNERS = 2_000_000
#: Vertices shared by more corners than this (fan centres) are split per face.
MAX_PAIRWISE = 64

Float32Array = npt.NDArray[np.float32]
Int32Array = npt.NDArray[np.int32]
IntArray = npt.NDArray[np.intp]
UInt64Array = npt.NDArray[np.uint64]


class SmoothingCancelled(Exception):
    """The caller's ``stop`` said the result is no longer wanted."""


def _never() -> bool:
    return False


@dataclass(frozen=True)
class Welded:
    """An indexed surface made from per-corner positions.

    Attributes
    ----------
    vertex_of_corner
        ``(3n,)`` the output vertex of each input corner (triangle ``i`` is corners
        ``3i, 3i+1, 3i+2``).
    source_corner
        ``(m,)`` an input corner each output vertex was taken from (to gather positions
        and any other per-corner attribute).
    normals
        ``(m, 3)`` unit normals, float32.
    """

    vertex_of_corner: Int32Array
    source_corner: IntArray
    normals: Float32Array

    @property
    def n_vertices(self) -> int:
        return int(self.source_corner.shape[0])


def _mix(columns: npt.NDArray[np.uint32]) -> UInt64Array:
    """A 64-bit hash of each row of ``columns`` (uint32 bit patterns)."""
    primes = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5)
    h = np.zeros(columns.shape[0], dtype=np.uint64)
    for i in range(columns.shape[1]):
        h ^= columns[:, i].astype(np.uint64) * np.uint64(primes[i % len(primes)])
        h ^= h >> np.uint64(29)
    return h


def _bits(values: Float32Array) -> npt.NDArray[np.uint32]:
    """Bit patterns of float32 values, with -0.0 read as 0.0 (the same point)."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).copy()
    bits[bits == 0x80000000] = 0
    return bits.reshape(values.shape[0], -1)


def weld_normals(
    corners: Float32Array,
    *,
    attributes: npt.NDArray[np.generic] | None = None,
    keys: npt.NDArray[np.integer] | None = None,
    feature_angle: float = FEATURE_ANGLE,
    stop: Callable[[], bool] = _never,
) -> Welded:
    """Weld coincident corners and give each resulting vertex a smooth normal.

    Parameters
    ----------
    corners
        ``(3n, 3)`` float32 corner positions, three per triangle.
    attributes
        Optional ``(3n, k)`` per-corner values (uv, colours) that must also match for two
        corners to share a vertex.
    keys
        Optional ``(3n,)`` integer ids that already say which corners are one vertex
        (an indexed mesh's vertex indices); used instead of comparing positions.
    feature_angle
        Degrees; faces meeting at a sharper angle keep separate normals.
    stop
        Asked between buckets; when it returns true, :class:`SmoothingCancelled` is
        raised (a viewport that shows something else, or closes, stops waiting at once).
    """
    corners = np.ascontiguousarray(corners, dtype=np.float32).reshape(-1, 3)
    n_corners = corners.shape[0]
    if n_corners % 3:
        raise ValueError("corners must come three per triangle")
    if n_corners == 0:
        empty = np.zeros(0, dtype=np.intp)
        return Welded(np.zeros(0, np.int32), empty, np.zeros((0, 3), np.float32))
    face_unit, corner_angle = _face_frames(corners.reshape(-1, 3, 3), stop)
    cos_split = math.cos(math.radians(feature_angle))
    # Groups whose faces all lie within half the angle of their mean need no pairwise check.
    cos_simple = math.cos(math.radians(feature_angle / 2))

    def identity(idx: IntArray) -> npt.NDArray[np.uint32]:
        if keys is not None:
            k = np.asarray(keys)[idx].astype(np.uint64)
            return np.stack([(k & np.uint64(0xFFFFFFFF)), k >> np.uint64(32)], 1).astype(np.uint32)
        columns = _bits(corners[idx])
        if attributes is not None:
            extra = np.ascontiguousarray(attributes[idx]).reshape(len(idx), -1)
            extra_bits = extra.view(np.uint8).reshape(len(idx), -1)
            pad = (-extra_bits.shape[1]) % 4
            if pad:
                extra_bits = np.pad(extra_bits, ((0, 0), (0, pad)))
            columns = np.hstack([columns, np.ascontiguousarray(extra_bits).view(np.uint32)])
        return columns

    n_buckets = max(1, math.ceil(n_corners / BUCKET_CORNERS))
    bucket = np.zeros(n_corners, dtype=np.uint16)
    if n_buckets > 1:
        for first in range(0, n_corners, BUCKET_CORNERS):
            if stop():
                raise SmoothingCancelled
            idx = np.arange(first, min(first + BUCKET_CORNERS, n_corners))
            spread = _mix(identity(idx)) >> np.uint64(40)
            bucket[first : first + len(idx)] = spread % np.uint64(n_buckets)

    vertex_of_corner = np.empty(n_corners, dtype=np.int32)
    sources: list[IntArray] = []
    normals: list[Float32Array] = []
    offset = 0
    # A stable sort of 16-bit bucket ids is a radix sort in numpy: one cheap pass.
    by_bucket = np.argsort(bucket, kind="stable") if n_buckets > 1 else np.arange(n_corners)
    ends = np.cumsum(np.bincount(bucket, minlength=n_buckets))
    del bucket
    for b in range(n_buckets):
        if stop():
            raise SmoothingCancelled
        idx = by_bucket[(ends[b - 1] if b else 0) : ends[b]]
        if idx.size == 0:
            continue
        columns = identity(idx)
        order = np.argsort(_mix(columns), kind="stable")
        idx, columns = idx[order], columns[order]
        # A new vertex wherever the identity changes (a hash collision splits, never merges).
        start = np.empty(idx.size, dtype=bool)
        start[0] = True
        np.any(columns[1:] != columns[:-1], axis=1, out=start[1:])
        del columns, order
        vertex, source, normal = _smooth_bucket(
            idx, start, face_unit, corner_angle, cos_split, cos_simple
        )
        vertex_of_corner[idx] = vertex + offset
        offset += len(source)
        sources.append(source)
        normals.append(normal)
    return Welded(
        vertex_of_corner=vertex_of_corner,
        source_corner=np.concatenate(sources),
        normals=np.concatenate(normals),
    )


def _face_frames(
    triangles: Float32Array, stop: Callable[[], bool] = _never
) -> tuple[Float32Array, Float32Array]:
    """Unit normal of each face ``(n, 3)`` and its angle at each corner ``(3n,)``.

    Computed in chunks so the float temporaries stay small on a 5M-triangle part.
    """
    n = triangles.shape[0]
    unit = np.zeros((n, 3), dtype=np.float32)
    angle = np.zeros((n, 3), dtype=np.float32)
    for first in range(0, n, BUCKET_CORNERS):
        if stop():
            raise SmoothingCancelled
        tri = triangles[first : first + BUCKET_CORNERS]
        a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
        face = np.cross(b - a, c - a)
        length = np.sqrt(np.einsum("ij,ij->i", face, face))
        good = length > 0
        np.divide(face, length[:, None], out=unit[first : first + len(tri)], where=good[:, None])
        for k, (here, after, before) in enumerate(((a, b, c), (b, c, a), (c, a, b))):
            e1 = after - here
            e2 = before - here
            denom = np.sqrt(np.einsum("ij,ij->i", e1, e1) * np.einsum("ij,ij->i", e2, e2))
            cos_a = np.divide(
                np.einsum("ij,ij->i", e1, e2), denom, out=np.zeros_like(denom), where=denom > 0
            )
            corner = np.arccos(np.clip(cos_a, -1.0, 1.0))
            corner[~good] = 0.0  # a degenerate face pulls no normal its way
            angle[first : first + len(tri), k] = corner
    return unit, angle.reshape(-1)


def _smooth_bucket(
    idx: IntArray,
    start: npt.NDArray[np.bool_],
    face_unit: Float32Array,
    corner_angle: Float32Array,
    cos_split: float,
    cos_simple: float,
) -> tuple[Int32Array, IntArray, Float32Array]:
    """Vertices for one bucket of corners sorted so coincident ones are adjacent.

    Returns each corner's vertex (bucket-local), a source corner per vertex and the
    vertex normals.
    """
    unit = face_unit[idx // 3]
    weighted = unit * corner_angle[idx][:, None]
    group_start = np.flatnonzero(start)
    group = np.cumsum(start) - 1
    sums = np.add.reduceat(weighted, group_start, axis=0)
    mean = _normalised(sums)
    deviation = np.einsum("ij,ij->i", unit, mean[group])
    simple = np.minimum.reduceat(deviation, group_start) >= cos_simple

    # Each corner's "leader": the first corner of its group whose face is within the
    # feature angle of its own. Corners with one leader share a vertex and a normal.
    leader = group_start[group]
    sizes = np.diff(np.append(group_start, idx.size))
    for size in np.unique(sizes[~simple]):
        chosen = np.flatnonzero(~simple & (sizes == size))
        if size == 1:
            continue
        members = group_start[chosen][:, None] + np.arange(size)[None, :]  # (g, s)
        if size > MAX_PAIRWISE:
            leader[members] = members  # a fan centre: every face keeps its own normal
            continue
        faces = unit[members]  # (g, s, 3)
        close = np.einsum("gik,gjk->gij", faces, faces) > cos_split
        close |= np.eye(size, dtype=bool)[None]
        leader[members] = members[np.arange(len(chosen))[:, None], np.argmax(close, axis=2)]
    # Every distinct leader is one vertex (a leader may itself follow an earlier one).
    used = np.zeros(idx.size, dtype=bool)
    used[leader] = True
    vertex = (np.cumsum(used) - 1)[leader].astype(np.int32)
    n_vertices = int(np.count_nonzero(used))
    total = np.stack(
        [
            np.bincount(vertex, weights=weighted[:, k], minlength=n_vertices).astype(np.float64)
            for k in range(3)
        ],
        axis=1,
    )
    return vertex, idx[used], _normalised(total)


def _normalised(vectors: npt.NDArray[np.floating]) -> Float32Array:
    length = np.linalg.norm(vectors, axis=1, keepdims=True)
    out = np.zeros(vectors.shape, dtype=np.float32)
    np.divide(vectors, length, out=out, where=length > 0)
    out[length[:, 0] == 0] = (0.0, 0.0, 1.0)
    return out


def smooth_polydata(
    part: Part, *, feature_angle: float = FEATURE_ANGLE, stop: Callable[[], bool] = _never
) -> vtkPolyData | None:
    """``part`` as an indexed ``vtkPolyData`` with smooth point normals, or ``None``.

    ``None`` when the part is too big to smooth (:data:`SMOOTH_LIMIT`). Safe on a worker
    thread: it builds data objects only, never render state.
    """
    if part.n_faces == 0 or part.n_faces > SMOOTH_LIMIT:
        return None
    source: npt.NDArray[np.integer]
    if part.faces is None:
        # Corners only merge when their uv and colour match too.
        extras = [
            np.ascontiguousarray(a).reshape(part.n_vertices, -1).view(np.uint8)
            for a in (part.uv, part.colors)
            if a is not None and a.shape[0] == part.n_vertices
        ]
        welded = weld_normals(
            part.vertices,
            attributes=np.hstack(extras) if extras else None,
            feature_angle=feature_angle,
            stop=stop,
        )
        source = welded.source_corner
    else:
        faces = np.ascontiguousarray(part.faces, dtype=np.int32).reshape(-1)
        corners = part.vertices[faces]
        welded = weld_normals(corners, keys=faces, feature_angle=feature_angle, stop=stop)
        source = faces[welded.source_corner]
    return _polydata(part, welded, source)


def _shared(array: npt.NDArray[np.generic]) -> vtkDataArray:
    # The arrays are ours alone; numpy_to_vtk keeps them alive as long as VTK uses them.
    result: vtkDataArray = numpy_to_vtk(array, deep=False)
    return result


def _polydata(part: Part, welded: Welded, source: npt.NDArray[np.integer]) -> vtkPolyData:
    """The welded surface; ``source`` maps each output vertex to a vertex of ``part``."""
    poly = vtkPolyData()
    points = vtkPoints()
    points.SetData(_shared(np.ascontiguousarray(part.vertices[source], dtype=np.float32)))
    poly.SetPoints(points)
    cells = vtkCellArray()
    cells.SetData(3, _shared(welded.vertex_of_corner))
    poly.SetPolys(cells)
    point_data = poly.GetPointData()
    normals = _shared(welded.normals)
    normals.SetName("Normals")
    point_data.SetNormals(normals)
    if part.uv is not None and part.uv.shape[0] == part.n_vertices:
        uv = _shared(np.ascontiguousarray(part.uv[source], dtype=np.float32))
        uv.SetName("TCoords")
        point_data.SetTCoords(uv)
    if part.colors is not None and part.colors.shape[0] == part.n_vertices:
        colors = _shared(np.ascontiguousarray(part.colors[source], dtype=np.uint8))
        colors.SetName("Colors")
        point_data.SetScalars(colors)
    return poly
