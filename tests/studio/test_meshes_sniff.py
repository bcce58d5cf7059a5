"""Sniffing: the bytes decide the format, the extension only shapes the note."""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from studio.meshes import MeshFormat, MeshFormatError, load, sniff
from studio.meshes.loading import UNIT_NOTE

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("cube_ascii.stl", MeshFormat.STL_ASCII),
        ("sphere_solid_header.stl", MeshFormat.STL_BINARY),
        ("crate.obj", MeshFormat.OBJ),
        ("glazed_ball.glb", MeshFormat.GLB),
        ("ball_ascii.ply", MeshFormat.PLY_ASCII),
        ("ball_binary.ply", MeshFormat.PLY_BINARY),
        ("ball_big_endian.ply", MeshFormat.PLY_BINARY),
        ("cube.off", MeshFormat.OFF),
        ("wedges_and_plate.3mf", MeshFormat.THREEMF),
    ],
)
def test_samples_are_recognised_without_a_note(name: str, expected: MeshFormat) -> None:
    sniffed = sniff(DATA / name)
    assert sniffed.format is expected
    assert sniffed.note is None


def test_binary_stl_whose_header_starts_with_solid_is_binary() -> None:
    path = DATA / "sphere_solid_header.stl"
    assert path.read_bytes().startswith(b"solid")
    assert sniff(path).format is MeshFormat.STL_BINARY
    assert load(path).n_faces == 320


def test_a_lying_extension_is_loaded_by_content_with_a_note(tmp_path: Path) -> None:
    liar = tmp_path / "model.stl"
    shutil.copy(DATA / "parts.obj", liar)
    sniffed = sniff(liar)
    assert sniffed.format is MeshFormat.OBJ
    assert sniffed.note == "The file is named .stl but holds OBJ text; it was opened as OBJ."
    scene = load(liar)
    assert scene.format is MeshFormat.OBJ
    assert scene.notes[0] == sniffed.note


@pytest.mark.parametrize(
    ("source", "fake", "family"),
    [
        ("cube_ascii.stl", "cube.obj", "STL"),
        ("glazed_ball.glb", "ball.stl", "GLB"),
        ("wedges_and_plate.3mf", "plate.glb", "3MF"),
        ("ball_binary.ply", "ball.off", "PLY"),
    ],
)
def test_other_lying_extensions(tmp_path: Path, source: str, fake: str, family: str) -> None:
    path = tmp_path / fake
    shutil.copy(DATA / source, path)
    sniffed = sniff(path)
    assert sniffed.format.family == family
    assert sniffed.note is not None
    assert f"opened as {family}" in sniffed.note
    assert load(path).n_faces > 0


def test_no_extension_means_no_note(tmp_path: Path) -> None:
    path = tmp_path / "download"
    shutil.copy(DATA / "cube.off", path)
    assert sniff(path) == sniff(DATA / "cube.off")


@pytest.mark.parametrize(
    ("header", "fmt"),
    [
        ("OFF\n3 1 0\n", MeshFormat.OFF),
        ("COFF\n3 1 0\n", MeshFormat.OFF),
        ("NOFF\n3 1 0\n", MeshFormat.OFF),
        ("OFF 3 1 0\n", MeshFormat.OFF),
        ("# comment\n\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", MeshFormat.OBJ),
        ('{"asset": {"version": "2.0"}}', MeshFormat.GLTF),
        ("solid x\nendsolid x\n", MeshFormat.STL_ASCII),
        ("ply\nformat binary_big_endian 1.0\nend_header\n", MeshFormat.PLY_BINARY),
    ],
)
def test_text_headers(tmp_path: Path, header: str, fmt: MeshFormat) -> None:
    path = tmp_path / "sample.bin"
    path.write_text(header)
    assert sniff(path).format is fmt


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty."),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "is a PNG image, not a 3D model."),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 100, "is a JPEG image, not a 3D model."),
        (b"%PDF-1.7\n", "is a PDF document, not a 3D model."),
        (b"<!DOCTYPE html><html></html>", "is a web page, not a 3D model."),
        (b'{"name": "not a model"}', "is a JSON file but not a glTF model."),
        (b"hello, this is a letter\nnot a model\n", "is a text file"),
        (bytes(range(256)) * 4, "is not a 3D model format Kiln Studio knows"),
    ],
)
def test_unknown_content_is_named(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "thing.glb"
    path.write_bytes(content)
    with pytest.raises(MeshFormatError) as caught:
        sniff(path)
    assert message in str(caught.value)
    assert "“thing.glb”" in str(caught.value)


def test_zip_without_a_model_is_named(tmp_path: Path) -> None:
    path = tmp_path / "photos.3mf"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(MeshFormatError, match="is a ZIP archive but not a 3MF model"):
        sniff(path)


def test_missing_file_is_a_plain_error(tmp_path: Path) -> None:
    with pytest.raises(MeshFormatError, match="could not be found"):
        sniff(tmp_path / "gone.stl")


def test_truncated_binary_stl_named_stl_says_cut_short(tmp_path: Path) -> None:
    records = np.zeros(10, dtype=[("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")])
    records["v"] = np.random.default_rng(0).random((10, 3, 3))
    data = b"\x00" * 80 + struct.pack("<I", 10) + records.tobytes()
    path = tmp_path / "part.stl"
    path.write_bytes(data[:-70])
    with pytest.raises(MeshFormatError, match="cut short") as caught:
        sniff(path)
    assert "10 triangles" in str(caught.value)


def test_padded_binary_stl_loads_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "padded.stl"
    path.write_bytes((DATA / "sphere_solid_header.stl").read_bytes() + b"\x00" * 37)
    assert sniff(path).format is MeshFormat.STL_BINARY
    scene = load(path)
    assert scene.n_faces == 320
    assert scene.notes == [
        "“padded.stl” has 37 bytes after its last triangle; they were ignored.",
        UNIT_NOTE,
    ]


# -- issue 8, finding 5: glTF is decided by parsing, not by a window ----------------------


def test_gltf_whose_asset_comes_after_a_large_node_list(tmp_path: Path) -> None:
    # trimesh writes "scenes", "nodes" and "accessors" first; "asset" may be 100 KB in.
    from tests.gltf_files import GltfFile, cube

    v, faces = cube()
    f = GltfFile()
    mesh = f.mesh(f.primitive(v, faces), name="box")
    f.scene(*[f.node(mesh, translation=[2.0 * i, 0, 0], name=f"box {i}") for i in range(3000)])
    tree = json.loads(f.gltf())
    late = {key: tree[key] for key in ("scene", "scenes", "nodes", "accessors")}
    late |= {key: value for key, value in tree.items() if key not in late}
    path = tmp_path / "mode5.gltf"
    path.write_text(json.dumps(late))
    assert path.read_text().index('"asset"') > 100_000
    assert sniff(path).format is MeshFormat.GLTF
    assert load(path).n_faces == 3000 * 12


def test_json_with_gltf_keys_but_no_asset_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "almost.gltf"
    path.write_text(json.dumps({"nodes": [{"name": "x"}] * 5000, "meshes": []}))
    with pytest.raises(MeshFormatError) as caught:
        load(path)
    assert "is a JSON file but not a glTF model" in str(caught.value)
    assert "“almost.gltf”" in str(caught.value)


def test_json_whose_first_key_is_foreign_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "data.gltf"
    path.write_text(json.dumps({"rows": [[i, i * 2] for i in range(20_000)], "asset": {}}))
    with pytest.raises(MeshFormatError, match="is a JSON file but not a glTF model"):
        sniff(path)


# -- issue 8, finding 8: text in UTF-16 (with a byte-order mark) ---------------------------


@pytest.mark.parametrize("encoding", ["utf-16-be", "utf-16-le", "utf-8"])
def test_obj_with_a_byte_order_mark_is_decoded_by_it(tmp_path: Path, encoding: str) -> None:
    import trimesh

    box = trimesh.creation.box((1.0, 2.0, 3.0))
    lines = ["# box", "o box"] + [f"v {x} {y} {z}" for x, y, z in box.vertices]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in box.faces]
    text = "\r\n".join(lines) + "\r\n"
    path = tmp_path / f"box_{encoding}.obj"
    path.write_bytes("\ufeff".encode(encoding) + text.encode(encoding))
    assert sniff(path).format is MeshFormat.OBJ
    scene = load(path)
    (part,) = scene.parts
    assert part.name == "box"
    np.testing.assert_allclose(part.triangles(), box.triangles, rtol=1e-6)
