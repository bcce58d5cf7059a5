"""Open and non-manifold edges: where a mesh will not print, and where to show it.

An edge is the segment between two welded positions (:mod:`studio.meshes.welding`), in
either direction. It is *open* (on a boundary, around a hole) when exactly one face uses
it, and *non-manifold* when more than two faces share it. Counting is one sort of every
face's three edge keys, vectorised: no Python loop per face.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from studio.meshes.scene import Int32Array, Part, Scene
from studio.meshes.welding import welded_faces

IntArray = npt.NDArray[np.int64]

_NO_PAIRS: IntArray = np.zeros((0, 2), dtype=np.int64)


@dataclass(frozen=True, eq=False)
class PartEdges:
    """One part's problem edges as ``(k, 2)`` indices into that part's ``vertices``.

    Each edge appears once, whichever faces use it; draw it from ``vertices[i]`` to
    ``vertices[j]``.
    """

    open: IntArray
    nonmanifold: IntArray


@dataclass(frozen=True, eq=False)
class SceneEdges:
    """The problem edges of every part of a scene, in the scene's part order."""

    parts: tuple[PartEdges, ...]

    @property
    def open_edges(self) -> int:
        return sum(int(p.open.shape[0]) for p in self.parts)

    @property
    def nonmanifold_edges(self) -> int:
        return sum(int(p.nonmanifold.shape[0]) for p in self.parts)


def find_edges(scene: Scene) -> SceneEdges:
    """Open and non-manifold edges of each part of ``scene``."""
    return SceneEdges(tuple(part_edges(part) for part in scene.parts))


def part_edges(part: Part) -> PartEdges:
    """Open and non-manifold edges of one part (positions welded first)."""
    if part.n_faces == 0:
        return PartEdges(_NO_PAIRS, _NO_PAIRS)
    faces, weld = welded_faces(part)
    open_pairs, nonmanifold_pairs = welded_edges(faces, weld.count)
    # Back to the part's own vertices: any vertex at the welded position will do.
    return PartEdges(weld.first[open_pairs], weld.first[nonmanifold_pairs])


def welded_edges(faces: Int32Array, n_vertices: int) -> tuple[IntArray, IntArray]:
    """``(open, non-manifold)`` edges of welded ``faces`` as ``(k, 2)`` position pairs.

    Faces with a repeated corner (after welding) are lines, not faces: they are left out.
    """
    a, b, c = faces[:, 0], faces[:, 1], faces[:, 2]
    proper = (a != b) & (b != c) & (a != c)
    if not bool(proper.all()):
        faces = faces[proper]
    del proper
    starts = faces.reshape(-1)
    ends = faces[:, [1, 2, 0]].reshape(-1)
    low = np.minimum(starts, ends)
    high = np.maximum(starts, ends)
    del ends
    # One key per undirected edge (lower index first); n² stays far below 2**63.
    keys = low.astype(np.int64)
    del low
    keys *= max(n_vertices, 1)
    keys += high
    del high
    keys.sort()
    if keys.shape[0] == 0:
        return _NO_PAIRS, _NO_PAIRS
    new_run = np.empty(keys.shape[0], dtype=bool)
    new_run[0] = True
    np.not_equal(keys[1:], keys[:-1], out=new_run[1:])
    heads = np.flatnonzero(new_run)
    counts = np.diff(np.append(heads, keys.shape[0]))
    unique = keys[heads]
    return _pairs(unique[counts == 1], n_vertices), _pairs(unique[counts > 2], n_vertices)


def _pairs(keys: IntArray, n_vertices: int) -> IntArray:
    n = max(n_vertices, 1)
    return np.column_stack([keys // n, keys % n]).astype(np.int64, copy=False)
