"""Repair: weld, drop bad faces, make winding consistent and outward, fill small holes.

Repair never edits the scene it is given; the library stores the result as a new version.
Texture seams survive: vertices are welded by position *and* UV/colour, while the
topology (winding, holes) is worked out on positions alone. Winding and hole filling are
our own numpy/scipy code because trimesh's versions need networkx.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from studio.meshes.scene import Int32Array, Part, Scene
from studio.meshes.welding import welded_faces

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Holes with at most this many edges are filled; larger ones are likely intended openings.
MAX_HOLE_EDGES = 16
#: Beyond this many open edges the mesh is a soup of loose faces, not a mesh with holes.
MAX_BOUNDARY_EDGES = 200_000


@dataclass
class _Report:
    welded: int = 0
    dropped_degenerate: int = 0
    dropped_duplicate: int = 0
    flipped: int = 0
    filled: int = 0
    skipped_holes: bool = False

    def sentence(self) -> str:
        done = [
            f"merged {self.welded:,} duplicate vertices",
            f"removed {self.dropped_degenerate:,} degenerate and "
            f"{self.dropped_duplicate:,} duplicate faces",
            f"flipped {self.flipped:,} faces",
            f"filled {self.filled:,} holes",
        ]
        text = "Repair " + ", ".join(done[:-1]) + " and " + done[-1] + "."
        if self.skipped_holes:
            text += " Some openings were too large to fill automatically."
        return text


def repair(scene: Scene) -> Scene:
    """A repaired copy of ``scene``.

    Parameters
    ----------
    scene
        The scene to repair; it is not modified.

    Returns
    -------
    Scene
        New parts (indexed, vertex normals dropped so viewers recompute them), the same
        materials, and a note summarising what changed.
    """
    report = _Report()
    parts = [_repair_part(part, report) for part in scene.parts]
    parts = [p for p in parts if p.n_faces > 0]
    return Scene(
        parts=parts,
        format=scene.format,
        file_size=scene.file_size,
        unit=scene.unit,
        notes=[*scene.notes, report.sentence()],
    )


def _repair_part(part: Part, report: _Report) -> Part:
    if part.n_faces == 0:
        return dataclasses.replace(part)
    topology, weld = welded_faces(part)
    positions = part.vertices[weld.first].astype(np.float64)
    # Vertices keep their UV/colour: weld on (position, uv, colour) for the output.
    corner_vertex = part.face_indices().reshape(-1).astype(np.int64)
    out_of_corner, source_vertex = _attribute_weld(part, corner_vertex, topology.reshape(-1))
    faces = out_of_corner.reshape(-1, 3)
    n_before = part.n_vertices
    keep, degenerate, duplicate = _good_faces(topology, positions)
    report.dropped_degenerate += degenerate
    report.dropped_duplicate += duplicate
    topology = topology[keep]
    faces = faces[keep]
    flip = _consistent_flips(topology, positions)
    report.flipped += int(np.count_nonzero(flip))
    topology[flip] = topology[flip][:, ::-1]
    faces[flip] = faces[flip][:, ::-1]
    new_faces, skipped = _fill_holes(topology)
    report.skipped_holes |= skipped
    report.filled += len(new_faces)
    if new_faces:
        # New faces use, for each position, any output vertex already at that position.
        position_of = topology.reshape(-1)
        output_of = faces.reshape(-1)
        representative = np.zeros(weld.count, dtype=np.int64)
        representative[position_of] = output_of
        added = np.concatenate(new_faces).reshape(-1, 3)
        topology = np.concatenate([topology, added])
        faces = np.concatenate([faces, representative[added]])
    outward = _outward_flips(topology, positions)
    faces[outward] = faces[outward][:, ::-1]
    vertices = part.vertices[source_vertex]
    report.welded += max(n_before - len(vertices), 0)
    return Part(
        vertices=np.ascontiguousarray(vertices, dtype=np.float32),
        faces=np.ascontiguousarray(faces, dtype=np.int32),
        name=part.name,
        uv=None if part.uv is None else np.ascontiguousarray(part.uv[source_vertex]),
        colors=None if part.colors is None else np.ascontiguousarray(part.colors[source_vertex]),
        material=part.material,
    )


def _attribute_weld(
    part: Part, corner_vertex: IntArray, corner_position: Int32Array
) -> tuple[IntArray, IntArray]:
    """Output vertex per corner and source vertex per output vertex."""
    columns: list[npt.NDArray[np.generic]] = [corner_position.astype(np.int64)[:, None]]
    if part.uv is not None:
        uv = part.uv[corner_vertex].astype(np.float64) + 0.0  # -0.0 → 0.0
        columns.append(uv.view(np.int64))
    if part.colors is not None:
        columns.append(part.colors[corner_vertex].astype(np.int64))
    if len(columns) == 1:
        unique, first, inverse = np.unique(corner_position, return_index=True, return_inverse=True)
        del unique
    else:
        rows = np.ascontiguousarray(np.concatenate(columns, axis=1))
        _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), corner_vertex[first]


def _good_faces(
    topology: Int32Array, positions: npt.NDArray[np.float64]
) -> tuple[BoolArray, int, int]:
    """Mask of faces to keep, and how many degenerate and duplicate ones it drops."""
    a, b, c = topology[:, 0], topology[:, 1], topology[:, 2]
    tris = positions[topology]
    cross = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    degenerate = (a == b) | (b == c) | (a == c) | ~np.any(cross != 0.0, axis=1)
    ordered = np.sort(topology, axis=1)
    _, first = np.unique(ordered, axis=0, return_index=True)
    unique = np.zeros(len(topology), dtype=bool)
    unique[first] = True
    keep = ~degenerate & unique
    n_degenerate = int(np.count_nonzero(degenerate))
    return keep, n_degenerate, int(len(topology) - np.count_nonzero(keep) - n_degenerate)


def _edge_pairs(topology: Int32Array) -> tuple[IntArray, IntArray, BoolArray, IntArray]:
    """Faces that share an edge with exactly one other face.

    Returns
    -------
    first, second, same_direction, boundary
        The two faces of each manifold edge, whether both run that edge the same way
        (so one must flip), and the directed edges (as flat corner indices) used once.
    """
    m = len(topology)
    starts = topology.reshape(-1).astype(np.int64)
    ends = topology[:, [1, 2, 0]].reshape(-1).astype(np.int64)
    n = int(max(starts.max(initial=0), ends.max(initial=0))) + 1
    keys = np.minimum(starts, ends) * n + np.maximum(starts, ends)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    new_group = np.ones(3 * m, dtype=bool)
    new_group[1:] = sorted_keys[1:] != sorted_keys[:-1]
    heads = np.flatnonzero(new_group)
    counts = np.diff(np.append(heads, 3 * m))
    pair_heads = heads[counts == 2]
    one = order[pair_heads]
    two = order[pair_heads + 1]
    same = starts[one] == starts[two]
    boundary = order[heads[counts == 1]]
    return one // 3, two // 3, same, boundary


def _consistent_flips(topology: Int32Array, positions: npt.NDArray[np.float64]) -> BoolArray:
    """Which faces to flip so neighbours run shared edges in opposite directions."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order, connected_components

    m = len(topology)
    if m == 0:
        return np.zeros(0, dtype=bool)
    one, two, _same, _ = _edge_pairs(topology)
    graph = coo_matrix((np.ones(len(one), dtype=np.int8), (one, two)), shape=(m + 1, m + 1))
    _, labels = connected_components(graph.tocsr(), directed=False)
    labels = labels[:m]
    # A virtual root (index m) joined to one face per piece: one BFS spans them all.
    _, roots = np.unique(labels, return_index=True)
    rows = np.concatenate([one, np.full(len(roots), m)])
    cols = np.concatenate([two, roots])
    tree = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(m + 1, m + 1))
    _, predecessor = breadth_first_order(tree.tocsr(), m, directed=False)
    parent = predecessor[:m].astype(np.int64)
    is_root = parent == m
    parent[is_root] = np.flatnonzero(is_root)
    # Parity to the parent: 1 when the shared edge runs the same way in both faces.
    parity = _same_direction(topology, np.arange(m), parent)
    parity[is_root] = False
    return _path_parity(parity, parent)


def _path_parity(parity: BoolArray, parent: IntArray) -> BoolArray:
    """XOR of ``parity`` from each node up to its root (where ``parent[i] == i``).

    Pointer jumping: each round doubles how far every node looks up, so a tree of depth
    ``d`` takes ``log2(d)`` vectorised rounds instead of a Python walk per face.
    """
    acc = parity.copy()
    up = parent.copy()
    while True:
        further = up[up]
        if np.array_equal(further, up):
            return acc
        acc ^= acc[up]
        up = further


def _same_direction(topology: Int32Array, faces: IntArray, others: IntArray) -> BoolArray:
    """True where a face and another run some shared edge in the same direction."""
    a = topology[faces]
    b = topology[others]
    out = np.zeros(len(faces), dtype=bool)
    for i in range(3):
        for j in range(3):
            out |= (a[:, i] == b[:, j]) & (a[:, (i + 1) % 3] == b[:, (j + 1) % 3])
    return out


def _fill_holes(topology: Int32Array) -> tuple[list[IntArray], bool]:
    """Fan-fill boundary loops of at most :data:`MAX_HOLE_EDGES` edges.

    Returns the new faces (one array per hole) and whether any hole was left open.
    """
    if len(topology) == 0:
        return [], False
    _, _, _, boundary = _edge_pairs(topology)
    if len(boundary) == 0:
        return [], False
    if len(boundary) > MAX_BOUNDARY_EDGES:
        return [], True
    starts = topology.reshape(-1)[boundary]
    ends = topology[:, [1, 2, 0]].reshape(-1)[boundary]
    following: dict[int, int] = {}
    ambiguous: set[int] = set()
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        if s in following:
            ambiguous.add(s)
        following[s] = e
    filled: list[IntArray] = []
    skipped = False
    seen: set[int] = set()
    for start in following:
        if start in seen:
            continue
        loop = [start]
        seen.add(start)
        current = following.get(start)
        closed = False
        while current is not None and len(loop) <= MAX_HOLE_EDGES:
            if current == start:
                closed = True
                break
            if current in seen or current in ambiguous:
                break
            seen.add(current)
            loop.append(current)
            current = following.get(current)
        if not closed or len(loop) < 3 or any(v in ambiguous for v in loop):
            skipped = True
            continue
        # Existing faces run the loop v0→v1→…; the patch must run it backwards.
        fan = [(loop[0], loop[i + 1], loop[i]) for i in range(1, len(loop) - 1)]
        filled.append(np.array(fan, dtype=np.int64))
    return filled, skipped


def _outward_flips(topology: Int32Array, positions: npt.NDArray[np.float64]) -> BoolArray:
    """Flip every closed piece whose faces point inward (negative volume); mark them."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    m = len(topology)
    if m == 0:
        return np.zeros(0, dtype=bool)
    one, two, _, boundary = _edge_pairs(topology)
    graph = coo_matrix((np.ones(len(one), dtype=np.int8), (one, two)), shape=(m, m))
    n_pieces, labels = connected_components(graph.tocsr(), directed=False)
    tris = positions[topology]
    signed = np.einsum("ij,ij->i", tris[:, 0], np.cross(tris[:, 1], tris[:, 2]))
    volume = np.bincount(labels, weights=signed, minlength=n_pieces)
    open_pieces = np.zeros(n_pieces, dtype=bool)
    open_pieces[labels[boundary // 3]] = True
    inward = (volume < 0.0) & ~open_pieces
    flip: BoolArray = inward[labels]
    topology[flip] = topology[flip][:, ::-1]
    return flip
