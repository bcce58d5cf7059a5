"""Loading every format into a Scene: parts, materials, textures, transforms, notes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from studio.errors import Cancelled
from studio.meshes import (
    MeshFormat,
    MeshFormatError,
    Scene,
    companion_files,
    compute_stats,
    load,
)
from studio.meshes.formats import stl
from studio.meshes.units import mm_per_unit
from studio.work import CancelToken

DATA = Path(__file__).resolve().parents[1] / "data"


def _check_arrays(scene: Scene) -> None:
    for part in scene.parts:
        assert part.vertices.dtype == np.float32
        assert part.vertices.ndim == 2
        assert part.vertices.shape[1] == 3
        assert part.faces is None or part.faces.dtype == np.int32


@pytest.mark.parametrize(
    "name",
    [
        "cube_ascii.stl",
        "two_solids_ascii.stl",
        "sphere_solid_header.stl",
        "crate.obj",
        "parts.obj",
        "glazed_ball.glb",
        "box_and_cone.glb",
        "ball_ascii.ply",
        "ball_binary.ply",
        "ball_big_endian.ply",
        "cube.off",
        "wedges_and_plate.3mf",
    ],
)
def test_every_sample_loads_with_typed_arrays(name: str) -> None:
    path = DATA / name
    scene = load(path)
    _check_arrays(scene)
    assert scene.n_faces > 0
    assert scene.file_size == path.stat().st_size


def test_binary_stl_is_a_triangle_soup() -> None:
    scene = load(DATA / "sphere_solid_header.stl")
    part = scene.parts[0]
    assert part.is_soup
    expected = trimesh.creation.icosphere(subdivisions=2, radius=15.0).triangles
    np.testing.assert_allclose(part.triangles(), expected, rtol=1e-6)


def test_ascii_stl_solids_become_parts() -> None:
    scene = load(DATA / "two_solids_ascii.stl")
    assert [p.name for p in scene.parts] == ["cube", "lid"]
    expected = trimesh.creation.box((10, 20, 30)).triangles
    np.testing.assert_allclose(scene.parts[1].triangles(), expected, rtol=1e-6)


def test_textured_obj_keeps_material_texture_and_uv() -> None:
    scene = load(DATA / "crate.obj")
    (part,) = scene.parts
    assert part.name == "crate"
    assert part.material is not None
    assert part.material.name == "wood"
    texture = part.material.base_color_texture
    assert texture is not None
    expected = np.asarray(Image.open(DATA / "crate.png").convert("RGB"))
    np.testing.assert_array_equal(texture.image, expected)  # top row first
    assert part.uv is not None
    # The file's UVs are corners of the unit square, (0, 0) bottom-left as OBJ writes them.
    assert {tuple(row) for row in np.round(part.uv, 6).tolist()} <= {
        (0.0, 0.0),
        (1.0, 0.0),
        (1.0, 1.0),
        (0.0, 1.0),
    }


def test_multipart_obj_keeps_objects_and_materials() -> None:
    scene = load(DATA / "parts.obj")
    assert [p.name for p in scene.parts] == ["base", "ball"]
    assert [p.n_faces for p in scene.parts] == [12, 80]
    red = scene.parts[1].material
    assert red is not None
    assert red.base_color[:3] == pytest.approx((0.9, 0.1, 0.1), abs=0.01)


def test_glb_pbr_textures_survive() -> None:
    scene = load(DATA / "glazed_ball.glb")
    (part,) = scene.parts
    material = part.material
    assert material is not None
    assert material.metallic == pytest.approx(0.2)
    assert material.roughness == pytest.approx(0.5)
    reference = trimesh.load_scene(DATA / "glazed_ball.glb")
    ref_material = next(iter(reference.geometry.values())).visual.material
    for ours, theirs in (
        (material.base_color_texture, ref_material.baseColorTexture),
        (material.metallic_roughness_texture, ref_material.metallicRoughnessTexture),
        (material.normal_texture, ref_material.normalTexture),
        (material.emissive_texture, ref_material.emissiveTexture),
        (material.occlusion_texture, ref_material.occlusionTexture),
    ):
        assert ours is not None
        np.testing.assert_array_equal(ours.image, np.asarray(theirs.convert("RGB")))
    assert material.is_pbr
    assert part.uv is not None
    assert part.uv.shape == (part.n_vertices, 2)


def test_glb_node_transforms_are_baked() -> None:
    scene = load(DATA / "box_and_cone.glb")
    assert [p.name for p in scene.parts] == ["box", "cone"]
    cone = scene.parts[1]
    assert cone.vertices[:, 0].min() == pytest.approx(26.0, abs=1e-4)
    assert cone.vertices[:, 0].max() == pytest.approx(34.0, abs=1e-4)
    assert scene.parts[0].colors is not None
    assert tuple(scene.parts[0].colors[0]) == (200, 50, 50, 255)


@pytest.mark.parametrize("name", ["ball_ascii.ply", "ball_binary.ply", "ball_big_endian.ply"])
def test_ply_vertex_colours(name: str) -> None:
    (part,) = load(DATA / name).parts
    mesh = trimesh.creation.icosphere(subdivisions=1, radius=8.0)
    np.testing.assert_allclose(part.vertices, mesh.vertices, atol=1e-5)
    np.testing.assert_array_equal(part.faces, mesh.faces)
    assert part.colors is not None
    expected_red = np.linspace(0, 255, len(mesh.vertices)).astype(np.uint8)
    np.testing.assert_array_equal(part.colors[:, 0], expected_red)
    np.testing.assert_array_equal(part.colors[:, 3], 255)


def test_off_quads_are_triangulated_with_colours() -> None:
    (part,) = load(DATA / "cube.off").parts
    assert part.n_faces == 12
    assert part.colors is not None
    np.testing.assert_array_equal(part.colors[7], [255, 255, 255, 255])


def test_3mf_components_transforms_unit_and_colours() -> None:
    scene = load(DATA / "wedges_and_plate.3mf")
    assert scene.unit == "inch"
    assert [p.name for p in scene.parts] == ["wedge", "wedge", "plate"]
    first, second, plate = scene.parts
    # Build item lifts the pair by 1; the second component moves 5 along x.
    assert first.vertices[:, 2].min() == pytest.approx(1.0)
    assert second.vertices[:, 0].min() == pytest.approx(5.0)
    # The plate is turned 90° about z and moved to (10, 10).
    lo, hi = plate.vertices.min(axis=0), plate.vertices.max(axis=0)
    np.testing.assert_allclose(lo, [8.0, 10.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(hi, [10.0, 12.0, 0.25], atol=1e-6)
    assert first.material is not None
    assert first.material.name == "Blue"
    assert plate.material is not None
    assert plate.material.base_color == pytest.approx((240 / 255, 128 / 255, 32 / 255, 1.0))


def _write_crate(folder: Path, mtllib: str, map_kd: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    obj = (DATA / "crate.obj").read_text().replace("mtllib crate.mtl", f"mtllib {mtllib}")
    (folder / "crate.obj").write_text(obj)
    mtl = (DATA / "crate.mtl").read_text().replace("map_Kd crate.png", f"map_Kd {map_kd}")
    (folder / "crate.mtl").write_text(mtl)
    return folder / "crate.obj"


def test_obj_texture_outside_the_folder_is_ignored_with_a_note(tmp_path: Path) -> None:
    shutil.copy(DATA / "crate.png", tmp_path / "secret.png")
    path = _write_crate(tmp_path / "model", "crate.mtl", "../secret.png")
    scene = load(path)
    material = scene.parts[0].material
    assert material is None or material.base_color_texture is None
    assert any("“../secret.png”" in note and "outside" in note for note in scene.notes)
    assert companion_files(path, MeshFormat.OBJ) == [(tmp_path / "model/crate.mtl").resolve()]


@pytest.mark.parametrize("reference", ["../crate.mtl", "/etc/crate.mtl"])
def test_obj_mtllib_outside_the_folder_is_ignored(tmp_path: Path, reference: str) -> None:
    shutil.copy(DATA / "crate.mtl", tmp_path / "crate.mtl")
    shutil.copy(DATA / "crate.png", tmp_path / "crate.png")
    path = _write_crate(tmp_path / "model", reference, "crate.png")
    (tmp_path / "model" / "crate.mtl").unlink()
    scene = load(path)
    assert scene.parts[0].material is None or scene.parts[0].material.base_color_texture is None
    assert any(reference in note for note in scene.notes)
    assert companion_files(path, MeshFormat.OBJ) == []


def test_companion_files_of_a_textured_obj() -> None:
    files = companion_files(DATA / "crate.obj", MeshFormat.OBJ)
    assert files == [(DATA / "crate.mtl").resolve(), (DATA / "crate.png").resolve()]
    assert companion_files(DATA / "cube.off", MeshFormat.OFF) == []


def _write_gltf(folder: Path) -> Path:
    """A .gltf with an external .bin and .png, written by trimesh."""
    mesh = trimesh.creation.box((4, 4, 4))
    image = Image.fromarray(np.arange(48, dtype=np.uint8).reshape(4, 4, 3))
    uv = np.random.default_rng(0).random((len(mesh.vertices), 2))
    material = trimesh.visual.material.PBRMaterial(baseColorTexture=image)
    mesh.visual = trimesh.visual.TextureVisuals(uv=uv, material=material)
    files = trimesh.exchange.gltf.export_gltf(mesh, embed_buffers=False)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    tree = json.loads(files["model.gltf"])
    tree["images"] = [{"uri": "texture.png"}]
    image.save(folder / "texture.png")
    (folder / "model.gltf").write_text(json.dumps(tree))
    return folder / "model.gltf"


def test_gltf_with_external_files(tmp_path: Path) -> None:
    path = _write_gltf(tmp_path)
    scene = load(path)
    material = scene.parts[0].material
    assert material is not None
    assert material.base_color_texture is not None
    np.testing.assert_array_equal(
        material.base_color_texture.image, np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    )
    buffers = sorted(p.name for p in tmp_path.glob("*.bin"))
    names = [p.name for p in companion_files(path, MeshFormat.GLTF)]
    assert names == [*buffers, "texture.png"]


def test_gltf_image_outside_the_folder_is_ignored(tmp_path: Path) -> None:
    path = _write_gltf(tmp_path / "model")
    shutil.move(tmp_path / "model" / "texture.png", tmp_path / "texture.png")
    tree = json.loads(path.read_text())
    tree["images"] = [{"uri": "../texture.png"}]
    path.write_text(json.dumps(tree))
    scene = load(path)
    material = scene.parts[0].material
    assert material is None or material.base_color_texture is None
    assert any("“../texture.png”" in note for note in scene.notes)
    buffers = sorted(p.name for p in (tmp_path / "model").glob("*.bin"))
    assert [p.name for p in companion_files(path, MeshFormat.GLTF)] == buffers


def test_gltf_buffer_outside_the_folder_is_refused(tmp_path: Path) -> None:
    path = _write_gltf(tmp_path / "model")
    shutil.move(tmp_path / "model" / "gltf_buffer_0.bin", tmp_path / "data.bin")
    tree = json.loads(path.read_text())
    tree["buffers"][0]["uri"] = "../data.bin"
    path.write_text(json.dumps(tree))
    with pytest.raises(MeshFormatError, match="outside the model's folder") as caught:
        load(path)
    assert "“model.gltf”" in str(caught.value)


def test_progress_is_reported_and_cancel_is_honoured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stl, "CHUNK_TRIANGLES", 16)
    path = DATA / "sphere_solid_header.stl"  # 320 triangles: 20 chunks
    reports: list[tuple[float, str]] = []
    load(path, progress=lambda f, stage: reports.append((f, stage)))
    fractions = [f for f, _ in reports]
    assert len(reports) >= 20
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    assert {stage for _, stage in reports} == {"Reading file"}

    token = CancelToken()

    def cancel_halfway(fraction: float, stage: str) -> None:
        if fraction >= 0.5:
            token.cancel()

    seen: list[float] = []
    with pytest.raises(Cancelled):
        load(path, progress=lambda f, s: (seen.append(f), cancel_halfway(f, s)), cancel=token)
    assert max(seen) < 1.0


def test_a_cancelled_token_stops_before_reading() -> None:
    token = CancelToken()
    token.cancel()
    for name in ("cube_ascii.stl", "crate.obj", "wedges_and_plate.3mf"):
        with pytest.raises(Cancelled):
            load(DATA / name, cancel=token)


def test_a_one_pixel_texture_is_kept(tmp_path: Path) -> None:
    path = _write_crate(tmp_path, "crate.mtl", "dot.png")
    Image.new("RGB", (1, 1), (10, 200, 30)).save(tmp_path / "dot.png")
    material = load(path).parts[0].material
    assert material is not None
    assert material.base_color_texture is not None
    assert material.base_color_texture.image.tolist() == [[[10, 200, 30]]]


def test_bundled_first_launch_sample() -> None:
    path = Path(__file__).resolve().parents[2] / "resources" / "sample" / "kiln-vase.glb"
    assert path.stat().st_size < 400 * 1024
    scene = load(path)
    assert [p.name for p in scene.parts] == ["vase", "handle"]
    stats = compute_stats(scene)
    assert stats.watertight
    assert stats.winding_consistent
    # glTF is Y-up: the jug stands 120 mm tall along Y, its foot at the bottom.
    (lo_y, hi_y) = (scene.bounds()[0][1], scene.bounds()[1][1])
    assert scene.unit == "meter"
    assert (hi_y - lo_y) * mm_per_unit(scene.unit) == pytest.approx(120.0, abs=0.5)
    for part in scene.parts:
        assert part.material is not None
        assert part.material.base_color_texture is not None
        assert part.material.metallic_roughness_texture is not None
        assert part.uv is not None
