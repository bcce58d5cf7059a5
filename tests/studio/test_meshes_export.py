"""Export: every format round-trips geometry; GLB and OBJ keep textures; writes are atomic."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import trimesh

from studio.meshes import (
    SUPPORTED_EXTENSIONS,
    Material,
    MeshFormat,
    MeshFormatError,
    Part,
    Scene,
    Texture,
    compute_stats,
    export,
    format_for_extension,
    load,
)
from studio.meshes.formats import stl
from studio.meshes.units import in_unit, mm_per_unit


def textured_scene() -> Scene:
    """A textured torus and a plain coloured box: two parts, two materials."""
    torus = trimesh.creation.torus(10.0, 3.0, major_sections=24, minor_sections=12)
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (16, 32, 3), dtype=np.uint8)
    uv = rng.random((len(torus.vertices), 2)).astype(np.float32)
    glaze = Material(
        name="glaze",
        base_color=(1.0, 1.0, 1.0, 1.0),
        base_color_texture=Texture(image, "glaze colour"),
        metallic=0.1,
        roughness=0.35,
        metallic_roughness_texture=Texture(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)),
        normal_texture=Texture(np.full((4, 4, 3), (128, 128, 255), dtype=np.uint8)),
    )
    box = trimesh.creation.box((4.0, 4.0, 4.0))
    box.apply_translation((25.0, 0.0, 0.0))
    clay = Material(name="clay red", base_color=(0.8, 0.3, 0.2, 1.0), roughness=0.9)
    return Scene(
        [
            Part(torus.vertices.astype(np.float32), torus.faces.astype(np.int32), "torus",
                 uv=uv, material=glaze),
            Part(box.vertices.astype(np.float32), box.faces.astype(np.int32), "box",
                 material=clay),
        ],
        MeshFormat.GLB,
    )  # fmt: skip


def sorted_triangles(scene: Scene) -> np.ndarray:
    """All triangles, each rotated to start at its smallest corner, sorted: order-free."""
    tris = np.concatenate([p.triangles().astype(np.float64) for p in scene.parts])
    keys = [tuple(np.round(t, 4).reshape(-1)) for t in tris]
    rotated = []
    for t, key in zip(tris, keys, strict=True):
        corners = [tuple(np.round(c, 4)) for c in t]
        start = corners.index(min(corners))
        rotated.append(tuple(corners[start:] + corners[:start]))
        del key
    return np.array(sorted(rotated))


@pytest.mark.parametrize("extension", SUPPORTED_EXTENSIONS)
def test_round_trip_keeps_geometry(tmp_path: Path, extension: str) -> None:
    scene = textured_scene()
    path = tmp_path / f"model{extension}"
    written = export(scene, path)
    assert written[-1] == path
    assert all(p.exists() for p in written)
    # Compared in the original's unit: a GLB holds metres, whatever the scene counted in.
    back = in_unit(load(path), scene.unit)
    np.testing.assert_allclose(sorted_triangles(back), sorted_triangles(scene), atol=1e-4)
    before, after = compute_stats(scene), compute_stats(back)
    assert after.vertices == before.vertices
    assert after.faces == before.faces
    assert after.area == pytest.approx(before.area, rel=1e-6)
    assert after.volume == pytest.approx(before.volume, rel=1e-6)
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("extension", [".glb", ".obj", ".3mf"])
def test_multipart_formats_keep_parts(tmp_path: Path, extension: str) -> None:
    back = load(export(textured_scene(), tmp_path / f"parts{extension}")[-1])
    assert [p.name for p in back.parts] == ["torus", "box"]
    assert [p.n_faces for p in back.parts] == [p.n_faces for p in textured_scene().parts]


def test_glb_keeps_materials_textures_and_uv(tmp_path: Path) -> None:
    scene = textured_scene()
    back = load(export(scene, tmp_path / "model.glb")[0])
    torus, box = back.parts
    original = scene.parts[0]
    assert torus.material is not None
    assert original.material is not None
    assert torus.material.name == "glaze"
    assert torus.material.roughness == pytest.approx(0.35)
    assert torus.material.metallic == pytest.approx(0.1)
    for name in ("base_color_texture", "metallic_roughness_texture", "normal_texture"):
        ours = getattr(torus.material, name)
        assert ours is not None, name
        np.testing.assert_array_equal(ours.image, getattr(original.material, name).image)
    assert torus.uv is not None
    assert original.uv is not None
    np.testing.assert_allclose(torus.uv, original.uv, atol=1e-6)
    assert box.material is not None
    # trimesh hands colour factors over as 8-bit values.
    assert box.material.base_color == pytest.approx((0.8, 0.3, 0.2, 1.0), abs=1 / 255)


def test_glb_is_valid_gltf_for_trimesh(tmp_path: Path) -> None:
    path = export(textured_scene(), tmp_path / "model.glb")[0]
    data = path.read_bytes()
    magic, version, length = struct.unpack_from("<4sII", data)
    assert (magic, version, length) == (b"glTF", 2, len(data))
    json_length = struct.unpack_from("<I", data, 12)[0]
    tree = json.loads(data[20 : 20 + json_length])
    assert tree["asset"]["version"] == "2.0"
    reference = trimesh.load_scene(path)
    assert len(reference.geometry) == 2
    texture = next(iter(reference.geometry.values())).visual.material.baseColorTexture
    np.testing.assert_array_equal(
        np.asarray(texture.convert("RGB")),
        textured_scene().parts[0].material.base_color_texture.image,  # type: ignore[union-attr]
    )


def test_obj_writes_mtl_and_png_and_keeps_the_texture(tmp_path: Path) -> None:
    scene = textured_scene()
    written = export(scene, tmp_path / "model.obj")
    assert [p.name for p in written] == ["model_glaze.png", "model.mtl", "model.obj"]
    back = load(tmp_path / "model.obj")
    torus = back.parts[0]
    assert torus.material is not None
    assert torus.material.base_color_texture is not None
    np.testing.assert_array_equal(
        torus.material.base_color_texture.image,
        scene.parts[0].material.base_color_texture.image,  # type: ignore[union-attr]
    )
    assert torus.uv is not None
    # trimesh may reorder vertices; compare UV per triangle corner instead.
    original = scene.parts[0]
    assert original.uv is not None
    ours = np.round(torus.uv[torus.face_indices()], 5)
    theirs = np.round(original.uv[original.face_indices()], 5)
    assert sorted(map(tuple, ours.reshape(len(ours), -1))) == sorted(
        map(tuple, theirs.reshape(len(theirs), -1))
    )
    assert back.parts[1].material is not None
    assert back.parts[1].material.base_color_texture is None


def test_ply_keeps_vertex_colours(tmp_path: Path) -> None:
    mesh = trimesh.creation.icosphere(subdivisions=1)
    colors = np.random.default_rng(3).integers(0, 256, (len(mesh.vertices), 4), dtype=np.uint8)
    scene = Scene(
        [Part(mesh.vertices.astype(np.float32), mesh.faces.astype(np.int32), colors=colors)],
        MeshFormat.PLY_BINARY,
    )
    back = load(export(scene, tmp_path / "ball.ply")[0])
    assert back.format is MeshFormat.PLY_BINARY
    assert back.parts[0].colors is not None
    np.testing.assert_array_equal(back.parts[0].colors, colors)


def test_3mf_keeps_unit_and_welds_a_soup(tmp_path: Path) -> None:
    soup = load(Path(__file__).resolve().parents[1] / "data" / "sphere_solid_header.stl")
    soup.unit = "centimeter"
    back = load(export(soup, tmp_path / "ball.3mf")[0])
    assert back.unit == "centimeter"
    assert back.parts[0].n_vertices == compute_stats(soup).vertices
    assert compute_stats(back).watertight


def test_binary_stl_writer_is_binary_even_for_a_solid_name(tmp_path: Path) -> None:
    scene = textured_scene()
    scene.parts = scene.parts[:1]
    scene.parts[0].name = "solid torus"
    path = export(scene, tmp_path / "t.stl")[0]
    data = path.read_bytes()
    assert not data.startswith(b"solid")
    assert len(data) == 84 + 50 * scene.n_faces


def test_format_for_extension() -> None:
    assert format_for_extension(".STL") is MeshFormat.STL_BINARY
    assert format_for_extension("glb") is MeshFormat.GLB
    assert format_for_extension(".3mf") is MeshFormat.THREEMF
    with pytest.raises(MeshFormatError) as caught:
        format_for_extension(".fbx")
    for extension in SUPPORTED_EXTENSIONS:
        assert extension in str(caught.value)


def test_unknown_extension_lists_supported_ones(tmp_path: Path) -> None:
    with pytest.raises(MeshFormatError, match=r"\.glb, \.obj, \.stl"):
        export(textured_scene(), tmp_path / "model.fbx")
    assert not (tmp_path / "model.fbx").exists()


def test_failed_export_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "model.stl"
    target.write_bytes(b"the previous version")

    def explode(tris: np.ndarray) -> np.ndarray:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(stl, "_unit_normals", explode)
    with pytest.raises(MeshFormatError, match="the disk is full") as caught:
        export(textured_scene(), target)
    assert "“model.stl”" in str(caught.value)
    assert target.read_bytes() == b"the previous version"
    assert [p.name for p in tmp_path.iterdir()] == ["model.stl"]


def test_export_does_not_change_the_scene(tmp_path: Path) -> None:
    scene = textured_scene()
    before = [p.vertices.copy() for p in scene.parts]
    for extension in SUPPORTED_EXTENSIONS:
        export(scene, tmp_path / f"m{extension}")
    for part, vertices in zip(scene.parts, before, strict=True):
        np.testing.assert_array_equal(part.vertices, vertices)


def test_soup_exports_everywhere(tmp_path: Path) -> None:
    soup = load(Path(__file__).resolve().parents[1] / "data" / "sphere_solid_header.stl")
    for extension in SUPPORTED_EXTENSIONS:
        back = load(export(soup, tmp_path / f"soup{extension}")[-1])
        assert back.n_faces == 320
        assert compute_stats(back).vertices == compute_stats(soup).vertices


def test_empty_parts_are_left_out(tmp_path: Path) -> None:
    scene = textured_scene()
    scene.parts.append(Part(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int32), "nothing"))
    for extension in SUPPORTED_EXTENSIONS:
        back = load(export(scene, tmp_path / f"m{extension}")[-1])
        assert back.n_faces == scene.n_faces
    with pytest.raises(MeshFormatError, match="nothing to export"):
        export(Scene([], MeshFormat.GLB), tmp_path / "empty.glb")


def test_units_follow_each_format(tmp_path: Path) -> None:
    """glTF counts in metres by its specification; STL, OBJ, PLY, OFF in millimetres."""
    scene = textured_scene()  # unitless: millimetres
    glb = tmp_path / "m.glb"
    export(scene, glb)
    in_metres = load(glb)
    assert in_metres.unit == "meter"
    lo, hi = scene.bounds()
    lo_m, hi_m = in_metres.bounds()
    assert np.allclose(np.subtract(hi_m, lo_m) * 1000, np.subtract(hi, lo), rtol=1e-6)
    stl = tmp_path / "back.stl"
    export(in_metres, stl)  # metres back to the millimetres STL means
    assert np.allclose(np.subtract(*reversed(load(stl).bounds())), np.subtract(hi, lo), rtol=1e-6)
    assert mm_per_unit(None) == 1.0
    assert mm_per_unit("meter") == 1000.0
