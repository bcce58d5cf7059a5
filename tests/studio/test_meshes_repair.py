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
    assert "filled 1 holes" in fixed.notes[-1]


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
