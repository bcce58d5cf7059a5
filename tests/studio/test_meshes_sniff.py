"""Sniffing: the bytes decide the format, the extension only shapes the note."""

from __future__ import annotations

import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from studio.meshes import MeshFormat, MeshFormatError, load, sniff

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
    assert scene.notes == ["“padded.stl” has 37 bytes after its last triangle; they were ignored."]
