"""Smooth normals for soups (``viewer.normals``), checked against closed-form shapes."""

from __future__ import annotations

import numpy as np
import pytest

from studio.meshes.scene import Part
from tests.scenes import box_part, sphere_triangles
from viewer import normals
from viewer.normals import SmoothingCancelled, smooth_polydata, weld_normals


def test_a_sphere_soup_welds_to_radial_normals() -> None:
    corners = sphere_triangles(radius=5.0).reshape(-1, 3)
    welded = weld_normals(corners)
    assert welded.n_vertices == len(np.unique(corners, axis=0))
    points = corners[welded.source_corner]
    radial = points / np.linalg.norm(points, axis=1, keepdims=True)
    assert np.einsum("ij,ij->i", welded.normals, radial).min() > 0.99
    # Every corner points at a vertex in the same place.
    assert np.array_equal(points[welded.vertex_of_corner], corners)


def test_a_box_keeps_its_creases() -> None:
    welded = weld_normals(box_part(soup=True).vertices)
    assert welded.n_vertices == 24  # 8 corners x 3 faces meeting at right angles
    axes = np.unique(np.round(welded.normals, 6), axis=0)
    assert len(axes) == 6
    assert np.allclose(np.abs(axes).sum(axis=1), 1.0)


def test_a_cylinder_is_smooth_around_and_crisp_at_the_caps() -> None:
    n, r, h = 48, 3.0, 10.0
    angle = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.stack([r * np.cos(angle), r * np.sin(angle)], 1)
    bottom = np.hstack([ring, np.zeros((n, 1))])
    top = np.hstack([ring, np.full((n, 1), h)])
    nxt = np.roll(np.arange(n), -1)
    i = np.arange(n)
    side = np.concatenate(
        [
            np.stack([bottom[i], bottom[nxt], top[nxt]], 1),
            np.stack([bottom[i], top[nxt], top[i]], 1),
        ]
    )
    cap_top = np.stack([np.tile([0, 0, h], (n, 1)), top[i], top[nxt]], 1)
    cap_bottom = np.stack([np.zeros((n, 3)), bottom[nxt], bottom[i]], 1)
    corners = np.concatenate([side, cap_top, cap_bottom]).reshape(-1, 3).astype(np.float32)
    welded = weld_normals(corners)
    # Rim vertices split in two (side, cap); the two cap centres stay one vertex each.
    assert welded.n_vertices == 4 * n + 2
    side_normals = welded.normals[welded.vertex_of_corner[: len(side) * 3]]
    assert np.abs(side_normals[:, 2]).max() < 1e-5  # horizontal, not bent towards a cap
    points = corners[: len(side) * 3]
    radial = points[:, :2] / np.linalg.norm(points[:, :2], axis=1, keepdims=True)
    assert np.einsum("ij,ij->i", side_normals[:, :2], radial).min() > 0.999


def test_corners_with_different_colours_stay_apart() -> None:
    part = box_part(soup=True)
    colors = np.zeros((part.n_vertices, 4), dtype=np.uint8)
    colors[:18] = (255, 0, 0, 255)  # the first six triangles red, the rest black
    part.colors = colors
    poly = smooth_polydata(part)
    assert poly is not None
    assert poly.GetPointData().GetScalars() is not None
    assert poly.GetNumberOfPoints() == 24  # colour seams follow the face creases here
    plain = weld_normals(part.vertices)
    assert plain.n_vertices == 24


def test_negative_zero_is_the_same_point() -> None:
    tri = np.array(
        [[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [-0.0, 0, 0], [0, 1, 0], [-1, 0, 0]], dtype=np.float32
    )
    assert np.signbit(tri[3, 0])
    assert weld_normals(tri).n_vertices == 4


def test_an_indexed_part_uses_its_own_vertex_ids() -> None:
    part = box_part()
    poly = smooth_polydata(part)
    assert poly is not None
    assert poly.GetNumberOfPoints() == 24
    assert poly.GetNumberOfCells() == 12


def test_degenerate_faces_do_not_poison_normals() -> None:
    corners = sphere_triangles(radius=2.0).reshape(-1, 3)
    sliver = np.array([[0, 0, 2.0], [0, 0, 2.0], [0, 0, 2.0]], dtype=np.float32)
    welded = weld_normals(np.concatenate([corners, sliver]))
    assert np.isfinite(welded.normals).all()
    assert np.allclose(np.linalg.norm(welded.normals, axis=1), 1.0, atol=1e-5)


def test_many_buckets_give_the_same_surface(monkeypatch: pytest.MonkeyPatch) -> None:
    corners = sphere_triangles(radius=5.0).reshape(-1, 3)
    one = weld_normals(corners)
    monkeypatch.setattr(normals, "BUCKET_CORNERS", 999)  # several buckets
    many = weld_normals(corners)
    assert many.n_vertices == one.n_vertices
    # Per corner: the same normal whichever bucket its vertex was found in.
    assert np.allclose(
        one.normals[one.vertex_of_corner], many.normals[many.vertex_of_corner], atol=1e-6
    )


def test_smoothing_stops_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(normals, "BUCKET_CORNERS", 300)
    asked = []

    def stop() -> bool:
        asked.append(True)
        return len(asked) > 2

    with pytest.raises(SmoothingCancelled):
        weld_normals(sphere_triangles().reshape(-1, 3), stop=stop)


def test_too_big_parts_stay_flat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(normals, "SMOOTH_LIMIT", 10)
    part = Part(vertices=sphere_triangles().reshape(-1, 3))
    assert smooth_polydata(part) is None
