"""Open and non-manifold edges: counted, and given as vertex pairs a viewer can draw."""

from __future__ import annotations

import numpy as np
import trimesh

from studio.meshes import MeshFormat, Part, Scene, compute_stats
from studio.meshes.edges import find_edges, part_edges


def torus(removed: tuple[int, ...] = ()) -> Part:
    mesh = trimesh.creation.torus(20.0, 5.0, major_sections=32, minor_sections=16)
    keep = np.ones(len(mesh.faces), dtype=bool)
    keep[list(removed)] = False
    return Part(mesh.vertices.astype(np.float32), mesh.faces[keep].astype(np.int32))


def edge_set(pairs: np.ndarray, vertices: np.ndarray) -> set[frozenset[tuple[float, ...]]]:
    """Edges by the positions of their ends (independent of index and direction)."""
    return {frozenset({tuple(vertices[a].tolist()), tuple(vertices[b].tolist())}) for a, b in pairs}


def test_a_closed_mesh_has_no_problem_edges() -> None:
    found = find_edges(Scene([torus()], MeshFormat.OBJ))
    assert (found.open_edges, found.nonmanifold_edges) == (0, 0)
    stats = compute_stats(Scene([torus()], MeshFormat.OBJ))
    assert (stats.open_edges, stats.nonmanifold_edges) == (0, 0)


def test_a_missing_face_leaves_its_three_edges_open() -> None:
    whole = trimesh.creation.torus(20.0, 5.0, major_sections=32, minor_sections=16)
    part = torus(removed=(7,))
    edges = part_edges(part)
    assert edges.open.shape == (3, 2)
    assert edges.nonmanifold.shape == (0, 2)
    hole = whole.faces[7]
    expected = edge_set(
        np.array([[hole[0], hole[1]], [hole[1], hole[2]], [hole[2], hole[0]]]),
        whole.vertices.astype(np.float32),
    )
    assert edge_set(edges.open, part.vertices) == expected
    stats = compute_stats(Scene([part], MeshFormat.OBJ))
    assert (stats.open_edges, stats.nonmanifold_edges) == (3, 0)
    assert stats.to_dict()["open_edges"] == 3


def test_a_soup_is_welded_first_and_pairs_index_its_own_vertices() -> None:
    indexed = torus(removed=(3, 4))  # two neighbours: one hole of four edges
    assert indexed.faces is not None
    soup = Part(indexed.vertices[indexed.faces].reshape(-1, 3))
    edges = part_edges(soup)
    assert edges.open.shape == (4, 2)
    assert int(edges.open.max()) < soup.n_vertices
    assert edge_set(edges.open, soup.vertices) == edge_set(
        part_edges(indexed).open, indexed.vertices
    )


def test_an_edge_shared_by_three_faces_is_non_manifold() -> None:
    # Three fins on the edge (0,0,0)-(0,0,1).
    vertices = np.array([[0, 0, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0], [-1, -1, 0]], dtype=np.float32)
    faces = np.array([[0, 1, 2], [1, 0, 3], [0, 1, 4]], dtype=np.int32)
    part = Part(vertices, faces)
    edges = part_edges(part)
    assert edge_set(edges.nonmanifold, vertices) == edge_set(np.array([[0, 1]]), vertices)
    assert edges.open.shape == (6, 2)
    stats = compute_stats(Scene([part], MeshFormat.OBJ))
    assert (stats.open_edges, stats.nonmanifold_edges) == (6, 1)


def test_counts_add_up_over_parts_and_skip_degenerate_corners() -> None:
    sliver = Part(
        np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=np.float32),
        np.array([[0, 1, 2], [0, 0, 1]], dtype=np.int32),  # a triangle and a repeated corner
    )
    scene = Scene([torus(removed=(1,)), torus(), sliver], MeshFormat.OBJ)
    found = find_edges(scene)
    assert [len(p.open) for p in found.parts] == [3, 0, 3]
    # The face with a repeated corner is a line: it neither closes nor shares an edge.
    assert found.nonmanifold_edges == 0
    assert found.open_edges == 6
    assert compute_stats(scene).open_edges == 6


def test_an_empty_part_has_no_edges() -> None:
    empty = Part(np.zeros((0, 3), dtype=np.float32), np.zeros((0, 3), dtype=np.int32))
    edges = part_edges(empty)
    assert edges.open.shape == (0, 2)
    assert edges.nonmanifold.shape == (0, 2)
