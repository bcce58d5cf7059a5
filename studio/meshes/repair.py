"""Repair: weld, drop bad faces, make winding consistent and outward, fill small holes.

Repair never edits the scene it is given; the library stores the result as a new version.
Texture seams survive: vertices are welded by position *and* UV/colour, while the
topology (winding, holes) is worked out on positions alone. Winding and hole filling are
our own numpy/scipy code because trimesh's versions need networkx.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from studio.meshes.scene import Int32Array, Part, Scene
from studio.meshes.welding import welded_faces

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Holes with at most this many edges are filled; larger ones are likely intended openings
#: (a vase's mouth), so they are reported and left for the designer.
MAX_HOLE_EDGES = 16
#: Beyond this many open edges the mesh is a soup of loose faces, not a mesh with holes.
MAX_BOUNDARY_EDGES = 200_000


@dataclass
class RepairReport:
    """What :func:`repair_scene` did, and what it could not do, in numbers and sentences.

    ``changed`` is False when the repaired scene is the same surface as the input: only
    merging coincident vertices (which every STL needs, and which no file keeps) is not
    a change.
    """

    #: Vertices of indexed parts merged with another at the same place (and the same UV).
    merged_vertices: int = 0
    removed_degenerate: int = 0
    removed_duplicate: int = 0
    #: Faces whose winding was reversed (to match their neighbours and point outward).
    turned_faces: int = 0
    holes_found: int = 0
    holes_closed: int = 0
    #: Edge counts of the holes left open (too large to fill, or not a simple loop).
    holes_left: list[int] = field(default_factory=list)
    #: Open edges that don't form a loop (faces wound against each other along them).
    untraced_edges: int = 0
    #: True when there were too many open edges to look for holes at all.
    too_many_open_edges: bool = False
    added_faces: int = 0
    max_hole_edges: int = MAX_HOLE_EDGES

    @property
    def changed(self) -> bool:
        return bool(
            self.removed_degenerate
            or self.removed_duplicate
            or self.turned_faces
            or self.holes_closed
        )

    @property
    def done(self) -> list[str]:
        """What was changed, one sentence each."""
        out: list[str] = []
        if self.holes_found and self.holes_closed:
            out.append(f"Closed {self.holes_closed:,} of {_count(self.holes_found, 'hole')}.")
        if self.removed_degenerate:
            out.append(f"Removed {_count(self.removed_degenerate, 'degenerate face')}.")
        if self.removed_duplicate:
            out.append(f"Removed {_count(self.removed_duplicate, 'duplicate face')}.")
        if self.turned_faces:
            out.append(f"Turned {_count(self.turned_faces, 'face')} so every face points outward.")
        if self.changed and self.merged_vertices:
            out.append(
                f"Merged {_count(self.merged_vertices, 'duplicate vertex', 'duplicate vertices')}."
            )
        return out

    @property
    def not_done(self) -> list[str]:
        """What is still wrong and why, one sentence each."""
        out: list[str] = []
        if self.too_many_open_edges:
            out.append(
                "The mesh has too many open edges to look for holes: it is made of loose "
                "faces rather than a surface with holes."
            )
        if self.holes_left:
            sizes = sorted(self.holes_left, reverse=True)
            if len(sizes) == 1:
                text = f"One hole of {sizes[0]:,} edges is still open"
            else:
                shown = ", ".join(f"{n:,}" for n in sizes[:5])
                more = " and more" if len(sizes) > 5 else ""
                text = f"{len(sizes):,} holes are still open ({shown}{more} edges)"
            if any(n > self.max_hole_edges for n in sizes):
                text += (
                    f": holes of more than {self.max_hole_edges} edges may be intended "
                    "openings, so they are left for you to close"
                )
            out.append(text + ".")
        if self.untraced_edges:
            out.append(
                f"{_count(self.untraced_edges, 'open edge')} could not be followed around a hole."
            )
        return out

    @property
    def sentences(self) -> list[str]:
        return self.done + self.not_done

    @property
    def summary(self) -> str:
        """One paragraph: "Repaired: closed 2 of 3 holes. One hole of 48 edges ..."."""
        if not self.changed:
            rest = " ".join(self.not_done)
            if rest:
                return "Nothing could be repaired automatically. " + rest
            return "Nothing to repair: the mesh has no problems repair can fix."
        done = " ".join(self.done)
        rest = " ".join(self.not_done)
        return f"Repaired. {done}" + (f" {rest}" if rest else "")


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"1 {one}" if n == 1 else f"{n:,} {many or one + 's'}"


def repair(scene: Scene, *, max_hole_edges: int = MAX_HOLE_EDGES) -> Scene:
    """A repaired copy of ``scene`` (see :func:`repair_scene`, which also says what it did)."""
    return repair_scene(scene, max_hole_edges=max_hole_edges)[0]


def repair_scene(
    scene: Scene, *, max_hole_edges: int = MAX_HOLE_EDGES
) -> tuple[Scene, RepairReport]:
    """A repaired copy of ``scene`` and a report of what was done and what could not be.

    Parameters
    ----------
    scene
        The scene to repair; it is not modified.
    max_hole_edges
        Holes bounded by at most this many edges are filled.

    Returns
    -------
    Scene, RepairReport
        New parts (indexed, vertex normals dropped so viewers recompute them), the same
        materials, and a note with the report's summary.
    """
    report = RepairReport(max_hole_edges=max_hole_edges)
    parts = [_repair_part(part, report) for part in scene.parts]
    parts = [p for p in parts if p.n_faces > 0]
    repaired = Scene(
        parts=parts,
        format=scene.format,
        file_size=scene.file_size,
        unit=scene.unit,
        notes=[*scene.notes, report.summary],
    )
    return repaired, report


def _repair_part(part: Part, report: RepairReport) -> Part:
    if part.n_faces == 0:
        return dataclasses.replace(part)
    topology, weld = welded_faces(part)
    positions = part.vertices[weld.first].astype(np.float64)
    # Vertices keep their UV/colour: weld on (position, uv, colour) for the output.
    corner_vertex = part.face_indices().reshape(-1).astype(np.int64)
    out_of_corner, source_vertex = _attribute_weld(part, corner_vertex, topology.reshape(-1))
    faces = out_of_corner.reshape(-1, 3)
    keep, degenerate, duplicate = _good_faces(topology, positions)
    report.removed_degenerate += degenerate
    report.removed_duplicate += duplicate
    topology = topology[keep]
    faces = faces[keep]
    n_kept = len(topology)
    flip = _consistent_flips(topology, positions)
    topology[flip] = topology[flip][:, ::-1]
    faces[flip] = faces[flip][:, ::-1]
    new_faces = _fill_holes(topology, positions, report)
    if new_faces:
        # New faces use, for each position, any output vertex already at that position.
        position_of = topology.reshape(-1)
        output_of = faces.reshape(-1)
        representative = np.zeros(weld.count, dtype=np.int64)
        representative[position_of] = output_of
        added = np.concatenate(new_faces).reshape(-1, 3)
        report.added_faces += len(added)
        topology = np.concatenate([topology, added])
        faces = np.concatenate([faces, representative[added]])
    outward = _outward_flips(topology, positions)
    faces[outward] = faces[outward][:, ::-1]
    # A face flipped twice (to match a neighbour, then with its piece) is as it was.
    report.turned_faces += int(np.count_nonzero(flip ^ outward[:n_kept]))
    vertices = part.vertices[source_vertex]
    if not part.is_soup:
        # A soup (an STL) always shares nothing: merging its corners is no news. Vertices
        # no face used are dropped too; only the used ones count as merged.
        used = int(np.unique(corner_vertex).shape[0])
        report.merged_vertices += max(used - len(vertices), 0)
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
    flips = _path_parity(parity, parent)
    # Each piece's root face was kept as it is; if most of the piece then turns, the root
    # was the odd one out: turn the few instead, so the report counts what really changed.
    size = np.bincount(labels)
    turned = np.bincount(labels, weights=flips.astype(np.float64), minlength=len(size))
    flips ^= (turned > size / 2.0)[labels]
    return flips


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


def _fill_holes(
    topology: Int32Array, positions: npt.NDArray[np.float64], report: RepairReport
) -> list[IntArray]:
    """Triangulate the boundary loops of at most ``report.max_hole_edges`` edges.

    Returns the new faces, one array per hole, wound against the loop (the existing faces
    run it one way, the patch must run it the other). Counts go into ``report``.
    """
    if len(topology) == 0:
        return []
    _, _, _, boundary = _edge_pairs(topology)
    if len(boundary) == 0:
        return []
    if len(boundary) > MAX_BOUNDARY_EDGES:
        report.too_many_open_edges = True
        return []
    starts = topology.reshape(-1)[boundary].tolist()
    ends = topology[:, [1, 2, 0]].reshape(-1)[boundary].tolist()
    loops, untraced = _boundary_loops(starts, ends)
    report.untraced_edges += untraced
    filled: list[IntArray] = []
    for loop in loops:
        report.holes_found += 1
        if len(loop) < 3 or len(loop) > report.max_hole_edges:
            report.holes_left.append(len(loop))
            continue
        patch = _triangulate(loop, positions)
        # Ear clipping keeps the loop's direction; the patch runs it backwards.
        filled.append(np.array([(a, c, b) for a, b, c in patch], dtype=np.int64))
        report.holes_closed += 1
    return filled


def _boundary_loops(starts: list[int], ends: list[int]) -> tuple[list[list[int]], int]:
    """Split directed boundary edges into simple closed loops of vertices.

    Where a boundary touches itself (a vertex with two ways out), the walk cuts the
    loop there, so every loop visits each vertex once. Edges that lead nowhere (faces
    wound against each other) are counted, not looped. Returns ``(loops, untraced)``.
    """
    leaving: dict[int, list[int]] = {}
    for index, start in enumerate(starts):
        leaving.setdefault(start, []).append(index)
    used = [False] * len(starts)
    loops: list[list[int]] = []
    untraced = 0

    def take(vertex: int) -> int | None:
        out = leaving.get(vertex)
        while out:
            edge = out.pop()
            if not used[edge]:
                used[edge] = True
                return edge
        return None

    for first in range(len(starts)):
        if used[first]:
            continue
        used[first] = True
        path = [starts[first]]
        where = {starts[first]: 0}
        current = ends[first]
        while True:
            if current in where:
                i = where[current]
                loops.append(path[i:])
                for vertex in path[i + 1 :]:
                    del where[vertex]
                del path[i + 1 :]
                if i == 0:
                    break
            else:
                where[current] = len(path)
                path.append(current)
            step = take(path[-1])
            if step is None:
                untraced += len(path) - 1
                break
            current = ends[step]
    return loops, untraced


def _triangulate(loop: list[int], positions: npt.NDArray[np.float64]) -> list[tuple[int, int, int]]:
    """Triangles covering a loop, in the loop's direction: ear clipping on the loop's best
    plane, or a fan when the loop doesn't lie flat enough to project."""
    points = positions[loop]
    # Newell's normal: robust for non-planar, non-convex loops.
    following = np.roll(points, -1, axis=0)
    normal = np.cross(points, following).sum(axis=0)
    length = float(np.linalg.norm(normal))
    fan = [(loop[0], loop[i], loop[i + 1]) for i in range(1, len(loop) - 1)]
    if length == 0.0 or len(loop) == 3:
        return fan
    normal /= length
    u = np.cross(normal, [1.0, 0.0, 0.0] if abs(normal[0]) < 0.9 else [0.0, 1.0, 0.0])
    u /= np.linalg.norm(u)
    v = np.cross(normal, u)
    flat = np.column_stack([points @ u, points @ v])  # counter-clockwise around ``normal``
    ears = _ear_clip(flat)
    if ears is None:
        return fan
    return [(loop[a], loop[b], loop[c]) for a, b, c in ears]


def _ear_clip(points: npt.NDArray[np.float64]) -> list[tuple[int, int, int]] | None:
    """Ear clipping of a counter-clockwise simple polygon; None if it isn't one."""
    remaining = list(range(len(points)))
    triangles: list[tuple[int, int, int]] = []

    def cross(o: int, a: int, b: int) -> float:
        (ox, oy), (ax, ay), (bx, by) = points[o], points[a], points[b]
        return float((ax - ox) * (by - oy) - (ay - oy) * (bx - ox))

    def inside(p: int, a: int, b: int, c: int) -> bool:
        return cross(a, b, p) >= 0 and cross(b, c, p) >= 0 and cross(c, a, p) >= 0

    while len(remaining) > 3:
        n = len(remaining)
        for k in range(n):
            a, b, c = remaining[k - 1], remaining[k], remaining[(k + 1) % n]
            if cross(a, b, c) <= 0:
                continue  # a reflex (or flat) corner is no ear
            others = (p for p in remaining if p not in (a, b, c))
            if any(inside(p, a, b, c) for p in others):
                continue
            triangles.append((a, b, c))
            del remaining[k]
            break
        else:
            return None  # no ear: self-intersecting after projection
    triangles.append((remaining[0], remaining[1], remaining[2]))
    return triangles


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
