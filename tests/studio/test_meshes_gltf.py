"""The glTF reader on files the tests write: extensions, instancing, damaged accessors.

Issue 8 findings 1 (Draco), 2 (KHR_texture_transform), 9 (a scalar POSITION); issue 7
findings 14 (20,000 placed boxes) and 16 (NaN coordinates, glTF 1.0).
"""

from __future__ import annotations

import json
import math
import struct
import time
import warnings
from pathlib import Path

import DracoPy
import numpy as np
import pytest
import trimesh

from studio.meshes import (
    Limits,
    MeshFormatError,
    MeshLimitError,
    MeshStats,
    Scene,
    compute_stats,
    load,
)
from tests.gltf_files import GltfFile, cube


def assert_plain(error: BaseException, name: str) -> str:
    message = str(error)
    assert f"“{name}”" in message
    assert "Error" not in message
    assert "Traceback" not in message
    assert message.endswith(".")
    return message


# -- finding 1: Draco ------------------------------------------------------------------------

_DRACO_NAMES = {0: "POSITION", 1: "NORMAL", 3: "TEXCOORD_0"}  # Draco's attribute types


def draco_gltf(mesh: trimesh.Trimesh, uv: np.ndarray) -> tuple[GltfFile, dict[str, int]]:
    """``mesh`` compressed with DracoPy's encoder, as a KHR_draco_mesh_compression primitive."""
    encoded = DracoPy.encode(
        np.asarray(mesh.vertices, dtype=np.float64),
        np.asarray(mesh.faces, dtype=np.uint32),
        quantization_bits=16,
        normals=np.asarray(mesh.vertex_normals, dtype=np.float64),
        tex_coord=uv.astype(np.float64),
        preserve_order=True,
    )
    decoded = DracoPy.decode(encoded)
    # The encoder numbers attributes its own way (here texcoords first): the file says which.
    ids = {_DRACO_NAMES[a["attribute_type"]]: a["unique_id"] for a in decoded.attributes}
    assert ids["POSITION"] != 0  # so reading them in order would be wrong
    f = GltfFile()
    f.use_extension("KHR_draco_mesh_compression", required=True)
    n = len(mesh.vertices)
    accessors = f.tree.setdefault("accessors", [])
    lo, hi = mesh.bounds
    accessors += [
        {"componentType": 5126, "count": n, "type": "VEC3", "min": list(lo), "max": list(hi)},
        {"componentType": 5126, "count": n, "type": "VEC3"},
        {"componentType": 5126, "count": n, "type": "VEC2"},
        {"componentType": 5125, "count": 3 * len(mesh.faces), "type": "SCALAR"},
    ]
    primitive = {
        "attributes": {"POSITION": 0, "NORMAL": 1, "TEXCOORD_0": 2},
        "indices": 3,
        "extensions": {
            "KHR_draco_mesh_compression": {"bufferView": f.view(encoded), "attributes": ids}
        },
    }
    f.scene(f.node(f.mesh(primitive, name="engine")))
    return f, ids


def test_draco_compressed_primitives_are_decoded(tmp_path: Path) -> None:
    mesh = trimesh.creation.icosphere(subdivisions=3, radius=0.05)
    uv = np.column_stack([mesh.vertices[:, 0] * 10 + 0.5, mesh.vertices[:, 1] * 10 + 0.5])
    f, _ids = draco_gltf(mesh, uv)
    path = f.write(tmp_path / "engine.glb")

    scene = load(path)
    (part,) = scene.parts
    assert part.n_faces == len(mesh.faces)
    assert part.n_vertices == len(mesh.vertices)
    # 16-bit quantisation over a 0.1 m box: every corner within 0.1 / 2**16 of the original.
    np.testing.assert_allclose(part.vertices, mesh.vertices, atol=0.1 / 2**15)
    assert part.faces is not None
    np.testing.assert_array_equal(part.faces, mesh.faces)
    assert part.uv is not None
    np.testing.assert_allclose(part.uv[:, 0], uv[:, 0], atol=1e-6)
    np.testing.assert_allclose(part.uv[:, 1], 1.0 - uv[:, 1], atol=1e-6)  # glTF's v is down
    assert part.normals is not None
    np.testing.assert_allclose(part.normals, mesh.vertex_normals, atol=1e-5)
    stats = compute_stats(scene)
    assert stats.area == pytest.approx(mesh.area, rel=1e-3)
    assert stats.volume == pytest.approx(mesh.volume, rel=1e-3)
    assert stats.dimensions == pytest.approx(list(mesh.extents), rel=1e-3)
    assert not any("Draco" in note for note in scene.notes)


def test_damaged_draco_data_is_refused_naming_the_extension(tmp_path: Path) -> None:
    mesh = trimesh.creation.box()
    f, _ = draco_gltf(mesh, np.zeros((len(mesh.vertices), 2)))
    view = f.tree["bufferViews"][-1]
    start = view["byteOffset"]
    f.blob[start : start + view["byteLength"]] = b"\x07" * view["byteLength"]
    path = f.write(tmp_path / "broken.glb")
    with pytest.raises(MeshFormatError) as caught:
        load(path)
    assert "Draco" in assert_plain(caught.value, "broken.glb")


# -- finding 2: KHR_texture_transform -------------------------------------------------------

QUADRANTS = {  # RGB of each quarter of the test image, as it is seen
    "top-left": (250, 0, 0),
    "top-right": (0, 250, 0),
    "bottom-left": (0, 0, 250),
    "bottom-right": (250, 250, 0),
}


def quadrant_image(size: int = 8) -> np.ndarray:
    half = size // 2
    image = np.zeros((size, size, 3), dtype=np.uint8)
    image[:half, :half] = QUADRANTS["top-left"]
    image[:half, half:] = QUADRANTS["top-right"]
    image[half:, :half] = QUADRANTS["bottom-left"]
    image[half:, half:] = QUADRANTS["bottom-right"]
    return image


def sample(image: np.ndarray, uv: np.ndarray) -> tuple[int, ...]:
    """The texel at ``uv`` in our convention ((0, 0) bottom-left), repeating."""
    h, w = image.shape[:2]
    u, v = float(uv[0]) % 1.0, float(uv[1]) % 1.0
    return tuple(int(c) for c in image[min(int((1.0 - v) * h), h - 1), min(int(u * w), w - 1)])


QUAD_V = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=np.float32)
QUAD_F = np.array([[0, 1, 2], [0, 2, 3]], dtype=np.uint32)
QUAD_UV = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)  # glTF's (v down)


def transformed_quad(
    transform: dict[str, object], *, second_uv: np.ndarray | None = None
) -> GltfFile:
    f = GltfFile()
    f.use_extension("KHR_texture_transform")
    texture = f.image(quadrant_image())
    material = f.material(
        name="atlas",
        pbrMetallicRoughness={
            "baseColorTexture": {
                "index": texture,
                "extensions": {"KHR_texture_transform": transform},
            },
            "metallicFactor": 0.0,
        },
    )
    primitive = f.primitive(QUAD_V, QUAD_F, uv=QUAD_UV, material=material)
    if second_uv is not None:
        primitive["attributes"]["TEXCOORD_1"] = f.accessor(second_uv.astype(np.float32))
    f.scene(f.node(f.mesh(primitive, name="quad")))
    return f


def expected_uv(uv: np.ndarray, offset: tuple[float, float], rotation: float,
                scale: tuple[float, float]) -> np.ndarray:  # fmt: skip
    """The extension's transform, written out: scale, then rotate, then offset, in glTF's
    UV space; then flipped to ours."""
    su, sv = uv[:, 0] * scale[0], uv[:, 1] * scale[1]
    c, s = math.cos(rotation), math.sin(rotation)
    u = c * su + s * sv + offset[0]
    v = -s * su + c * sv + offset[1]
    return np.column_stack([u, 1.0 - v])


def test_texture_transform_example_from_the_specification(tmp_path: Path) -> None:
    # "This example utilizes only the lower left quadrant of the source image, rotated
    # clockwise 90°" (KHR_texture_transform README).
    transform = {"offset": [0, 1], "rotation": math.pi / 2, "scale": [0.5, 0.5]}
    path = transformed_quad(transform).write(tmp_path / "atlas.glb")
    scene = load(path)
    (part,) = scene.parts
    assert part.uv is not None
    np.testing.assert_allclose(
        part.uv, expected_uv(QUAD_UV, (0, 1), math.pi / 2, (0.5, 0.5)), atol=1e-6
    )
    # Closed form: the corners land on the lower-left quadrant's corners.
    np.testing.assert_allclose(part.uv, [[0.0, 0.0], [0.0, 0.5], [0.5, 0.5], [0.5, 0.0]], atol=1e-6)
    material = part.material
    assert material is not None
    assert material.base_color_texture is not None
    image = material.base_color_texture.image
    centroid = part.uv[QUAD_F].mean(axis=1)
    assert {sample(image, c) for c in centroid} == {QUADRANTS["bottom-left"]}


@pytest.mark.parametrize(
    ("transform", "quadrant"),
    [
        ({"offset": [0.5, 0.0], "scale": [0.5, 0.5]}, "top-right"),
        ({"offset": [0.0, 0.5], "scale": [0.5, 0.5]}, "bottom-left"),
        ({"offset": [0.5, 0.5], "scale": [0.5, 0.5]}, "bottom-right"),
        ({"scale": [0.5, 0.5]}, "top-left"),
    ],
)
def test_texture_transform_offsets_pick_the_quadrant(
    tmp_path: Path, transform: dict[str, object], quadrant: str
) -> None:
    path = transformed_quad(transform).write(tmp_path / "offsets.glb")
    (part,) = load(path).parts
    assert part.uv is not None
    assert part.material is not None
    assert part.material.base_color_texture is not None
    image = part.material.base_color_texture.image
    centroids = part.uv[QUAD_F].mean(axis=1)
    assert {sample(image, c) for c in centroids} == {QUADRANTS[quadrant]}


def test_texture_transform_tex_coord_picks_the_second_uv_set(tmp_path: Path) -> None:
    second = np.array([[0.5, 0.5], [1, 0.5], [1, 1], [0.5, 1]], dtype=np.float32)
    transform = {"texCoord": 1, "rotation": 0.3, "offset": [0.1, -0.2], "scale": [2.0, 1.5]}
    path = transformed_quad(transform, second_uv=second).write(tmp_path / "second.gltf")
    (part,) = load(path).parts
    assert part.uv is not None
    np.testing.assert_allclose(
        part.uv, expected_uv(second, (0.1, -0.2), 0.3, (2.0, 1.5)), atol=1e-6
    )


# -- finding 9: accessors that are not what their attribute needs --------------------------


def test_a_scalar_position_accessor_is_refused_plainly(tmp_path: Path) -> None:
    f = GltfFile()
    v, faces = cube()
    primitive = f.primitive(v, faces)
    primitive["attributes"]["POSITION"] = f.accessor(v.reshape(-1), "SCALAR")
    f.scene(f.node(f.mesh(primitive)))
    path = f.write(tmp_path / "scalar.gltf")
    with pytest.raises(MeshFormatError) as caught:
        load(path)
    assert "positions" in assert_plain(caught.value, "scalar.gltf")


# -- issue 7, finding 14: instancing costs what its triangles cost -------------------------


def placed_boxes(n: int, *, flat: bool = False) -> GltfFile:
    """The 12-triangle box on ``n`` nodes in a 100-wide grid (or one mesh holding them all)."""
    v, faces = cube()
    offsets = np.array([[2.0 * (i % 100), 2.0 * (i // 100), 0.0] for i in range(n)])
    f = GltfFile()
    if flat:
        vertices = (v[None] + offsets[:, None]).reshape(-1, 3).astype(np.float32)
        all_faces = (faces[None] + 8 * np.arange(n)[:, None, None]).reshape(-1, 3)
        f.scene(f.node(f.mesh(f.primitive(vertices, all_faces), name="Box")))
        return f
    mesh = f.mesh(f.primitive(v, faces), name="Box")
    nodes = [f.node(mesh, translation=[float(x) for x in o]) for o in offsets]
    f.scene(*nodes)
    return f


def _timed_load_and_measure(path: Path) -> tuple[float, Scene, MeshStats]:
    start = time.perf_counter()
    scene = load(path)
    stats = compute_stats(scene)
    return time.perf_counter() - start, scene, stats


def test_twenty_thousand_placed_boxes_cost_what_their_triangles_cost(tmp_path: Path) -> None:
    instanced = placed_boxes(20_000).write(tmp_path / "boxes.gltf")
    flat = placed_boxes(20_000, flat=True).write(tmp_path / "flat.glb")
    assert 0.9e6 < instanced.stat().st_size < 1.6e6  # "a 1 MB glTF"
    load(flat)  # warm the imports
    flat_seconds, _, flat_stats = _timed_load_and_measure(flat)
    seconds, scene, stats = _timed_load_and_measure(instanced)
    assert stats.faces == 240_000
    assert stats.bodies == 20_000
    assert stats.bounds == flat_stats.bounds
    assert stats.area == pytest.approx(flat_stats.area)
    assert stats.volume == pytest.approx(20_000.0)
    # The copies are one part, and the load says so.
    assert len(scene.parts) == 1
    assert any("20,000" in note for note in scene.notes)
    # Same triangles, same order of cost: the JSON of 20,000 nodes is all it adds.
    assert seconds < 3 * flat_seconds + 1.0, (seconds, flat_seconds)
    assert seconds < 8.0  # "seconds, not tens" (it was 16 s), with room for a busy machine


def test_placements_over_the_triangle_limit_are_refused_before_expanding(tmp_path: Path) -> None:
    path = placed_boxes(20_000).write(tmp_path / "boxes.gltf")
    start = time.perf_counter()
    with pytest.raises(MeshLimitError) as caught:
        load(path, limits=Limits(max_triangles=100_000))
    # Refused from the count (about 0.2 s idle); expanding first took over 15 s.
    assert time.perf_counter() - start < 5.0
    assert "240,000 triangles" in assert_plain(caught.value, "boxes.gltf")


def test_nodes_that_fan_out_exponentially_are_counted_not_expanded(tmp_path: Path) -> None:
    # 40 levels of nodes, each with the next level twice as children: 2**40 boxes. The
    # specification forbids a node with two parents; counting must not walk every path.
    v, faces = cube()
    f = GltfFile()
    leaf = f.node(f.mesh(f.primitive(v, faces)))
    below = leaf
    for _ in range(40):
        below = f.node(children=[below, below])
    f.scene(below)
    path = f.write(tmp_path / "fanout.gltf")
    start = time.perf_counter()
    with pytest.raises(MeshFormatError) as caught:
        load(path)
    # Counted, not walked: 2**40 paths could never be expanded at all.
    assert time.perf_counter() - start < 5.0
    assert_plain(caught.value, "fanout.gltf")


def test_a_node_hierarchy_that_loops_is_damaged(tmp_path: Path) -> None:
    v, faces = cube()
    f = GltfFile()
    mesh = f.mesh(f.primitive(v, faces))
    f.node(mesh, children=[1])
    f.node(children=[0])
    f.scene(0)
    path = f.write(tmp_path / "loop.gltf")
    with pytest.raises(MeshFormatError) as caught:
        load(path)
    assert "damaged" in assert_plain(caught.value, "loop.gltf")


def test_a_few_copies_stay_separate_parts_named_by_their_nodes(tmp_path: Path) -> None:
    v, faces = cube()
    f = GltfFile()
    mesh = f.mesh(f.primitive(v, faces), name="wheel")
    mirror = [-1.0, 0, 0, 0, 0, 1.0, 0, 0, 0, 0, 1.0, 0, 5.0, 0, 0, 1.0]
    f.scene(
        f.node(mesh, name="front", translation=[0, 0, 2]),
        f.node(mesh, name="back", matrix=mirror),
    )
    scene = load(f.write(tmp_path / "wheels.glb"))
    assert [p.name for p in scene.parts] == ["front", "back"]
    assert scene.parts[0].vertices[:, 2].min() == pytest.approx(1.5)
    assert scene.parts[1].vertices[:, 0].min() == pytest.approx(4.5)
    stats = compute_stats(scene)
    # The mirrored copy's faces are turned around, so both stay outward: volume 2.
    assert stats.winding_consistent
    assert stats.volume == pytest.approx(2.0)


def test_gpu_instancing_extension_places_every_instance(tmp_path: Path) -> None:
    v, faces = cube()
    f = GltfFile()
    f.use_extension("EXT_mesh_gpu_instancing", required=True)
    mesh = f.mesh(f.primitive(v, faces), name="bolt")
    translations = np.array([[0, 0, 0], [3, 0, 0], [0, 3, 0]], dtype=np.float32)
    scales = np.array([[1, 1, 1], [2, 2, 2], [1, 1, 3]], dtype=np.float32)
    node = f.node(
        mesh,
        translation=[0, 0, 10],
        extensions={
            "EXT_mesh_gpu_instancing": {
                "attributes": {
                    "TRANSLATION": f.accessor(translations),
                    "SCALE": f.accessor(scales),
                }
            }
        },
    )
    f.scene(node)
    scene = load(f.write(tmp_path / "bolts.glb"))
    assert scene.n_faces == 36
    stats = compute_stats(scene)
    assert stats.volume == pytest.approx(1 + 8 + 3)
    lo, hi = scene.bounds()
    assert lo == pytest.approx((-0.5, -1.0, 8.5))
    assert hi == pytest.approx((4.0, 3.5, 11.5))


# -- issue 7, finding 16: NaN coordinates, glTF 1.0 ----------------------------------------


@pytest.mark.parametrize(
    "corner", [[np.inf, np.inf, np.inf], [np.nan, 0.0, np.inf], [np.nan, np.nan, np.nan]]
)
def test_nan_coordinates_give_a_plain_message_and_no_numpy_warning(
    tmp_path: Path, corner: list[float]
) -> None:
    # Scaled by its node: transforming infinities is where numpy warned ("invalid value
    # encountered in matmul") before the plain message.
    v, faces = cube()
    v = v.copy()
    v[3] = corner
    f = GltfFile()
    f.scene(f.node(f.mesh(f.primitive(v, faces)), scale=[2, 2, 2]))
    path = f.write(tmp_path / "nan.glb")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(MeshFormatError) as caught:
            load(path)
    assert "not numbers" in assert_plain(caught.value, "nan.glb")


def test_gltf_1_json_is_named_with_a_hint_to_re_export(tmp_path: Path) -> None:
    path = tmp_path / "duck.gltf"
    path.write_text(
        json.dumps(
            {
                "asset": {"version": "1.0"},
                "scene": "defaultScene",
                "scenes": {"defaultScene": {"nodes": ["node_1"]}},
                "nodes": {"node_1": {"meshes": ["mesh_1"]}},
                "meshes": {"mesh_1": {"primitives": []}},
                "buffers": {"buffer_1": {"uri": "duck.bin", "byteLength": 100}},
            }
        )
    )
    with pytest.raises(MeshFormatError) as caught:
        load(path)
    message = assert_plain(caught.value, "duck.gltf")
    assert "glTF 1.0" in message
    assert "glTF 2.0" in message


def test_gltf_1_binary_is_named_too(tmp_path: Path) -> None:
    content = json.dumps({"asset": {"version": "1.0"}, "meshes": {}}).encode()
    data = struct.pack("<4sIIII", b"glTF", 1, 20 + len(content), len(content), 0) + content
    path = tmp_path / "old.glb"
    path.write_bytes(data)
    with pytest.raises(MeshFormatError) as caught:
        load(path)
    assert "glTF 1.0" in assert_plain(caught.value, "old.glb")


# -- notes: nothing dropped silently -------------------------------------------------------


def test_an_unsupported_required_extension_is_refused_by_name(tmp_path: Path) -> None:
    v, faces = cube()
    f = GltfFile()
    f.use_extension("EXT_meshopt_compression", required=True)
    f.scene(f.node(f.mesh(f.primitive(v, faces))))
    path = f.write(tmp_path / "meshopt.glb")
    with pytest.raises(MeshFormatError) as caught:
        load(path)
    assert "EXT_meshopt_compression" in assert_plain(caught.value, "meshopt.glb")


def test_ignored_features_are_noted(tmp_path: Path) -> None:
    v, faces = cube()
    f = GltfFile()
    f.use_extension("KHR_materials_clearcoat")
    f.use_extension("KHR_lights_punctual")
    material = f.material(
        name="lacquer", extensions={"KHR_materials_clearcoat": {"clearcoatFactor": 1.0}}
    )
    lines = f.primitive(v[:4], np.array([0, 1, 1, 2], dtype=np.uint32), mode=1)
    f.scene(f.node(f.mesh(f.primitive(v, faces, material=material), lines, name="box")))
    scene = load(f.write(tmp_path / "extras.glb"))
    assert scene.n_faces == 12
    notes = " ".join(scene.notes)
    assert "KHR_materials_clearcoat" in notes
    assert "KHR_lights_punctual" in notes
    assert "lines" in notes


def test_sparse_accessors_and_strips_are_read(tmp_path: Path) -> None:
    # A strip of two triangles whose last vertex is moved by a sparse accessor.
    f = GltfFile()
    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], dtype=np.float32)
    primitive = f.primitive(positions, mode=5)
    accessor = f.tree["accessors"][primitive["attributes"]["POSITION"]]
    accessor["sparse"] = {
        "count": 1,
        "indices": {"bufferView": f.view(np.array([3], dtype=np.uint16).tobytes()),
                    "componentType": 5123},
        "values": {"bufferView": f.view(np.array([2, 2, 0], dtype=np.float32).tobytes())},
    }  # fmt: skip
    accessor.pop("max")
    f.scene(f.node(f.mesh(primitive)))
    (part,) = load(f.write(tmp_path / "strip.glb")).parts
    assert part.faces is not None
    np.testing.assert_array_equal(part.faces, [[0, 1, 2], [1, 3, 2]])
    np.testing.assert_allclose(part.vertices[3], [2, 2, 0])
