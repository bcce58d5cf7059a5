"""Welding: which vertices share a position.

Positions are compared the way trimesh's ``merge_vertices`` compares them (rounded to
1e-8 in float64), so our counts match the reference designers' other tools report, and
-0.0 equals 0.0. The fast path hashes the three rounded coordinates into one uint64,
sorts once and then checks every group for a hash collision; only if one is found does
it fall back to an exact (slower) lexicographic sort.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from studio.meshes.scene import Float32Array, Int32Array, Part

IntArray = npt.NDArray[np.int64]
UInt64Array = npt.NDArray[np.uint64]

#: trimesh's ``tol.merge`` as digits: positions equal to 1e-8 are the same position.
MERGE_SCALE = 1e8
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


@dataclass(frozen=True)
class Weld:
    """The result of welding ``n`` positions into ``count`` distinct ones.

    Parameters
    ----------
    inverse
        ``(n,)`` int32: the distinct position each input vertex became.
    first
        ``(count,)`` int64: one input vertex for each distinct position.
    """

    inverse: Int32Array
    first: IntArray

    @property
    def count(self) -> int:
        return int(self.first.shape[0])


def _quantized(column: Float32Array) -> UInt64Array:
    """A coordinate column rounded like trimesh, as float64 bit patterns (-0.0 → 0.0)."""
    rounded = np.multiply(column, MERGE_SCALE, dtype=np.float64)
    np.round(rounded, out=rounded)
    rounded += 0.0  # turns -0.0 into +0.0 so both have one bit pattern
    return rounded.view(np.uint64)


def _mix(key: UInt64Array) -> None:
    """splitmix64's finaliser, in place: every input bit reaches every output bit."""
    key ^= key >> np.uint64(30)
    key *= _M1
    key ^= key >> np.uint64(27)
    key *= _M2
    key ^= key >> np.uint64(31)


#: Rows hashed per block: the float64 rounding and the mixing temporaries stay a few MB
#: instead of several copies of a 5M-triangle soup.
_HASH_BLOCK = 1 << 20


def _hash(vertices: Float32Array) -> UInt64Array:
    """One well-mixed uint64 per rounded position (equal positions, equal hashes)."""
    n = int(vertices.shape[0])
    key = np.empty(n, dtype=np.uint64)
    for start in range(0, n, _HASH_BLOCK):
        block = vertices[start : start + _HASH_BLOCK]
        part = _quantized(block[:, 0])
        _mix(part)
        for axis in (1, 2):
            part *= _GOLDEN
            part ^= _quantized(block[:, axis])
            _mix(part)
        key[start : start + _HASH_BLOCK] = part
    return key


def hash_rows(rows: npt.NDArray[np.integer]) -> tuple[UInt64Array, IntArray]:
    """Sorted hashes of ``(n, k)`` integer rows and the permutation that sorts them.

    Equal rows get equal hashes; unequal rows rarely do, so callers confirm matches.
    """
    n = int(rows.shape[0])
    index_bits = max(int(n - 1).bit_length(), 1)
    shift = np.uint64(index_bits)
    key = rows[:, 0].astype(np.uint64)
    _mix(key)
    for column in range(1, rows.shape[1]):
        key *= _GOLDEN
        key ^= rows[:, column].astype(np.uint64)
        _mix(key)
    key >>= shift
    key <<= shift
    key |= np.arange(n, dtype=np.uint64)
    key.sort()
    order = (key & np.uint64((1 << index_bits) - 1)).astype(np.int64)
    key >>= shift
    return key, order


def weld_positions(vertices: Float32Array) -> Weld:
    """Group ``(n, 3)`` float32 positions that are equal after rounding to 1e-8.

    Parameters
    ----------
    vertices
        The positions to weld.

    Returns
    -------
    Weld
        The inverse map and one representative per distinct position.

    Notes
    -----
    The sort key packs the hash's high bits above the vertex index, so one in-place
    ``np.sort`` (about twice as fast as ``argsort`` plus a gather) yields both the groups
    and the permutation. Fewer hash bits make collisions likelier, so every group is
    checked coordinate by coordinate and any mixed group is split exactly.
    """
    n = int(vertices.shape[0])
    if n == 0:
        return Weld(np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64))
    index_bits = max(int(n - 1).bit_length(), 1)
    shift = np.uint64(index_bits)
    key = _hash(vertices)
    key >>= shift
    key <<= shift
    key |= np.arange(n, dtype=np.uint64)
    key.sort()
    order = (key & np.uint64((1 << index_bits) - 1)).astype(np.int32)
    key >>= shift
    starts = np.empty(n, dtype=bool)
    starts[0] = True
    np.not_equal(key[1:], key[:-1], out=starts[1:])
    del key
    _split_collisions(vertices, order, starts)
    group = np.cumsum(starts, dtype=np.int32)
    group -= 1
    inverse = np.empty(n, dtype=np.int32)
    inverse[order] = group
    first = order[starts].astype(np.int64)
    return Weld(inverse, first)


def _split_collisions(
    vertices: Float32Array, order: Int32Array, starts: npt.NDArray[np.bool_]
) -> None:
    """Make every group hold one rounded position, editing ``order``/``starts`` in place.

    Members of a group sit next to each other in sorted order, so a group is pure when
    each member equals its predecessor: one gather of the rows, then sequential compares.
    The compare is on the raw float32 values (where -0.0 == 0.0): equal raw values are
    equal rounded values, and the rare group whose raw values differ (a collision, or
    values closer than 1e-8) is re-sorted exactly by its rounded coordinates.
    """
    inside = ~starts[1:]
    clash = np.zeros(inside.shape[0], dtype=bool)
    for axis in range(3):
        column = vertices[order, axis]  # one column at a time: a third of a full gather
        clash |= (column[1:] != column[:-1]) & inside
        del column
    if not clash.any():
        return
    group = np.cumsum(starts, dtype=np.int32)
    group -= 1
    mixed = np.zeros(int(group[-1]) + 1, dtype=bool)
    mixed[group[1:][clash]] = True
    members = np.flatnonzero(mixed[group])  # sorted positions of every mixed group
    columns = [_quantized(vertices[order[members], axis]) for axis in range(3)]
    within = np.lexsort((columns[2], columns[1], columns[0], group[members]))
    order[members] = order[members][within]
    ordered_group = group[members][within]
    change = np.ones(members.shape[0], dtype=bool)
    change[1:] = ordered_group[1:] != ordered_group[:-1]
    for rounded in columns:
        ordered = rounded[within]
        change[1:] |= ordered[1:] != ordered[:-1]
    starts[members] = change


def welded_faces(part: Part) -> tuple[Int32Array, Weld]:
    """A part's faces over its distinct positions, counting referenced vertices only.

    Returns
    -------
    faces, weld
        ``(m, 3)`` int32 faces indexing ``weld.first``'s positions, and the weld of the
        vertices the faces use (for a soup: all of them).
    """
    if part.faces is None:
        weld = weld_positions(part.vertices)
        return weld.inverse.reshape(-1, 3), weld
    used = np.unique(part.faces)
    weld = weld_positions(part.vertices[used])
    remap = np.full(part.n_vertices, -1, dtype=np.int32)
    remap[used] = weld.inverse
    # Report representatives as indices into the part's own vertices.
    return remap[part.faces], Weld(weld.inverse, used[weld.first].astype(np.int64))


def weld_part(part: Part) -> tuple[Float32Array, Int32Array]:
    """The part as distinct positions and faces over them (for formats that need sharing)."""
    faces, weld = welded_faces(part)
    vertices = np.ascontiguousarray(part.vertices[weld.first], dtype=np.float32)
    return vertices, np.ascontiguousarray(faces, dtype=np.int32)
