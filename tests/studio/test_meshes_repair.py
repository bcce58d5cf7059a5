"""Repair returns a new, printable scene and leaves the original alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from studio.meshes import (
    Material,
    MeshFormat,
    Part,
    Scene,
    Texture,
    compute_stats,
    export,
    load,
    repair,
)
from studio.meshes.repair import repair_scene

DATA = Path(__file__).resolve().parents[1] / "data"


def broken_sphere() -> Scene:
    """An icosphere soup with a flipped face, a duplicate, a sliver and a missing face."""
    mesh = trimesh.creation.icosphere(subdivisions=2, radius=10.0)
    tris = mesh.triangles.copy()
    tris[5] = tris[5][::-1]  # flipped
    tris = np.concatenate([tris[:-1], tris[:1], [[tris[0][0], tris[0][0], tris[0][1]]]])
    return Scene([Part(tris.reshape(-1, 3).astype(np.float32), name="ball")], MeshFormat.STL_BINARY)


def test_repair_fixes_a_broken_soup() -> None:
    scene = broken_sphere()
    before = compute_stats(scene)
    assert not before.watertight
    assert not before.winding_consistent
    assert before.duplicate_faces == 1
    assert before.degenerate_faces == 1
    fixed = repair(scene)
    after = compute_stats(fixed)
    assert after.watertight
    assert after.winding_consistent
    assert after.degenerate_faces == 0
    assert after.duplicate_faces == 0
    assert after.faces == 320
    assert after.vertices == 162
    # Outward: the signed volume is positive and close to the sphere's.
    part = fixed.parts[0]
    assert part.faces is not None
    tris = part.vertices[part.faces].astype(np.float64)
    signed = np.einsum("ij,ij->i", tris[:, 0], np.cross(tris[:, 1], tris[:, 2])).sum() / 6
    assert signed == pytest.approx(after.volume)
    assert signed == pytest.approx(4 / 3 * np.pi * 1000, rel=0.05)
    assert fixed.notes[-1] == (
        "Repaired. Closed 1 of 1 hole. Removed 1 degenerate face. Removed 1 duplicate face. "
        "Turned 1 face so every face points outward."
    )


def test_repair_does_not_mutate_its_input() -> None:
    scene = broken_sphere()
    vertices = scene.parts[0].vertices.copy()
    notes = list(scene.notes)
    fixed = repair(scene)
    assert fixed is not scene
    assert fixed.parts[0] is not scene.parts[0]
    np.testing.assert_array_equal(scene.parts[0].vertices, vertices)
    assert scene.parts[0].faces is None
    assert scene.notes == notes


def test_inside_out_mesh_is_turned_outward() -> None:
    box = trimesh.creation.box((2, 2, 2))
    part = Part(box.vertices.astype(np.float32), box.faces[:, ::-1].astype(np.int32))
    fixed = repair(Scene([part], MeshFormat.OBJ)).parts[0]
    mesh = trimesh.Trimesh(fixed.vertices, fixed.faces, process=False)
    assert mesh.is_watertight
    assert mesh.volume == pytest.approx(8.0)


def test_repair_keeps_texture_seams_and_material() -> None:
    box = trimesh.creation.box((2, 2, 2))
    tris = box.triangles.reshape(-1, 3).astype(np.float32)
    uv = np.random.default_rng(1).random((len(tris), 2)).astype(np.float32)
    material = Material(name="paint", base_color_texture=Texture(np.zeros((2, 2, 3), np.uint8)))
    scene = Scene([Part(tris, uv=uv, material=material)], MeshFormat.OBJ)
    fixed = repair(scene).parts[0]
    assert fixed.material is material
    assert fixed.uv is not None
    assert fixed.faces is not None
    # Every corner keeps its own UV, so no vertices could be merged here...
    corner_uv = fixed.uv[fixed.faces].reshape(-1, 2)
    assert sorted(map(tuple, corner_uv.tolist())) == sorted(map(tuple, uv.tolist()))
    # ...yet by position the mesh is closed.
    assert compute_stats(Scene([fixed], MeshFormat.OBJ)).watertight


def test_repaired_scene_exports(tmp_path: Path) -> None:
    fixed = repair(load(DATA / "sphere_solid_header.stl"))
    back = load(export(fixed, tmp_path / "fixed.3mf")[0])
    assert compute_stats(back).watertight


def test_many_random_flips_are_all_undone() -> None:
    mesh = trimesh.creation.torus(20.0, 5.0, major_sections=64, minor_sections=32)
    faces = mesh.faces.copy()
    flip = np.random.default_rng(5).random(len(faces)) < 0.3
    faces[flip] = faces[flip][:, ::-1]
    scene = Scene([Part(mesh.vertices.astype(np.float32), faces.astype(np.int32))], MeshFormat.OBJ)
    assert not compute_stats(scene).winding_consistent
    fixed = repair(scene).parts[0]
    result = trimesh.Trimesh(fixed.vertices, fixed.faces, process=False)
    assert result.is_winding_consistent
    assert result.volume == pytest.approx(abs(mesh.volume), rel=1e-6)


# -- what repair says it did -------------------------------------------------------------------


def torus_with_holes(*centres: int) -> tuple[Part, float]:
    """A torus without the faces around each of the given vertices (one hole each), and
    the whole torus's volume."""
    mesh = trimesh.creation.torus(20.0, 5.0, major_sections=48, minor_sections=24)
    gone = np.isin(mesh.faces, list(centres)).any(axis=1)
    part = Part(mesh.vertices.astype(np.float32), mesh.faces[~gone].astype(np.int32))
    return part, float(mesh.volume)


def test_a_torus_with_one_open_hole_is_closed_and_the_report_says_so() -> None:
    part, volume = torus_with_holes(100)
    scene = Scene([part], MeshFormat.OBJ)
    before = compute_stats(scene)
    assert not before.watertight
    assert before.open_edges == 6
    fixed, report = repair_scene(scene)
    assert report.changed
    assert (report.holes_found, report.holes_closed, report.holes_left) == (1, 1, [])
    assert report.done == ["Closed 1 of 1 hole."]
    assert report.not_done == []
    assert report.summary == "Repaired. Closed 1 of 1 hole."
    after = compute_stats(fixed)
    assert after.watertight
    assert after.winding_consistent
    assert (after.open_edges, after.nonmanifold_edges) == (0, 0)
    assert after.volume == pytest.approx(volume, rel=0.01)


def test_a_closed_mesh_needs_no_repair_and_the_report_says_so() -> None:
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=5.0)
    soup = Scene([Part(sphere.triangles.reshape(-1, 3).astype(np.float32))], MeshFormat.STL_BINARY)
    _, report = repair_scene(soup)
    assert not report.changed
    assert report.sentences == []
    assert report.summary == "Nothing to repair: the mesh has no problems repair can fix."


def test_a_hole_too_large_to_fill_is_reported_with_its_size() -> None:
    tube = trimesh.creation.cylinder(radius=10.0, height=30.0, sections=48)
    z = tube.vertices[:, 2][tube.faces]
    top = (z > 0).all(axis=1)  # the top cap's faces go: one hole of 48 edges
    bottom = np.flatnonzero((z < 0).all(axis=1))
    keep = ~top
    keep[bottom[0]] = False  # and one face of the bottom cap: a hole of 3 edges
    part = Part(tube.vertices.astype(np.float32), tube.faces[keep].astype(np.int32))
    scene = Scene([part], MeshFormat.STL_BINARY)
    fixed, report = repair_scene(scene)
    assert report.changed
    assert (report.holes_found, report.holes_closed, report.holes_left) == (2, 1, [48])
    assert report.summary == (
        "Repaired. Closed 1 of 2 holes. One hole of 48 edges is still open: holes of more "
        "than 16 edges may be intended openings, so they are left for you to close."
    )
    assert compute_stats(fixed).open_edges == 48
    # Nothing else to do: a second repair changes nothing and says why.
    _, again = repair_scene(fixed)
    assert not again.changed
    assert again.summary.startswith("Nothing could be repaired automatically. One hole of 48")
    # A larger limit fills it too.
    _, generous = repair_scene(scene, max_hole_edges=64)
    assert (generous.holes_closed, generous.holes_left) == (2, [])


def test_two_holes_touching_at_a_corner_are_both_closed() -> None:
    mesh = trimesh.creation.torus(20.0, 5.0, major_sections=48, minor_sections=24)
    # Two faces that share exactly one vertex: a boundary that touches itself there.
    first = 0
    corner = mesh.faces[first][0]
    touching = [
        i
        for i, f in enumerate(mesh.faces)
        if corner in f and len(set(f) & set(mesh.faces[first])) == 1
    ]
    part = Part(
        mesh.vertices.astype(np.float32),
        np.delete(mesh.faces, [first, touching[0]], axis=0).astype(np.int32),
    )
    fixed, report = repair_scene(Scene([part], MeshFormat.OBJ))
    assert (report.holes_found, report.holes_closed) == (2, 2)
    assert compute_stats(fixed).watertight


def test_a_concave_hole_is_ear_clipped_not_fanned() -> None:
    # A box whose top is a 4×4 grid; an L of three cells is cut out of it.
    box = trimesh.creation.box((4.0, 4.0, 4.0))
    for _ in range(2):
        box = box.subdivide()
    top = box.vertices[box.faces][:, :, 2].min(axis=1) > 1.99
    centres = box.triangles_center
    cells = {(0, 0), (1, 0), (0, 1)}
    cell = np.floor(centres[:, :2] + 2.0).astype(int)
    cut = top & np.array([tuple(c) in cells for c in cell])
    part = Part(box.vertices.astype(np.float32), box.faces[~cut].astype(np.int32))
    fixed, report = repair_scene(Scene([part], MeshFormat.OBJ))
    assert report.holes_closed == 1
    stats = compute_stats(fixed)
    assert stats.watertight
    assert stats.volume == pytest.approx(64.0)
    # Every face on the top points up: a fan over the L's reflex corner would fold over.
    patch = fixed.parts[0]
    assert patch.faces is not None
    tris = patch.vertices[patch.faces].astype(np.float64)
    normals = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    on_top = tris[:, :, 2].min(axis=1) > 1.99
    assert (normals[on_top][:, 2] > 0).all()
    assert normals[on_top][:, 2].sum() / 2 == pytest.approx(16.0)


@pytest.mark.parametrize("start", range(6))
def test_an_l_shaped_loop_is_covered_exactly_from_any_start(start: int) -> None:
    from studio.meshes.repair import _triangulate

    corners = [(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)]  # counter-clockwise, area 3
    positions = np.array([(x, y, 5.0) for x, y in corners], dtype=np.float64)
    loop = [(start + i) % 6 for i in range(6)]
    triangles = _triangulate(loop, positions)
    assert len(triangles) == 4
    tris = positions[np.array(triangles)]
    normals = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    assert (normals[:, 2] > 0).all()  # the loop's own direction
    assert normals[:, 2].sum() / 2 == pytest.approx(3.0)  # no triangle outside the L


def test_merging_vertices_alone_is_no_change() -> None:
    # A closed box whose faces each have their own corners (as many exporters write it).
    box = trimesh.creation.box((2, 2, 2))
    corners = box.vertices[box.faces].reshape(-1, 3).astype(np.float32)
    part = Part(corners, np.arange(len(corners), dtype=np.int32).reshape(-1, 3))
    _, report = repair_scene(Scene([part], MeshFormat.OBJ))
    assert report.merged_vertices == len(corners) - 8
    assert not report.changed
    assert report.summary == "Nothing to repair: the mesh has no problems repair can fix."
