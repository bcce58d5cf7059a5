"""Bad input gets one or two plain sentences naming the file, never a parser's complaint."""

from __future__ import annotations

import io
import re
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from studio.meshes import Limits, MeshFormatError, MeshLimitError, load

DATA = Path(__file__).resolve().parents[1] / "data"


def assert_plain(error: BaseException, path: Path) -> str:
    """The message names the file and reads like prose, not like Python."""
    message = str(error)
    assert f"“{path.name}”" in message
    assert "Traceback" not in message
    assert not re.search(r"\b[A-Z][A-Za-z]*(Error|Exception)\b", message)
    assert message.rstrip().endswith(".")
    assert message.count(". ") <= 2  # one or two sentences
    return message


def load_error(path: Path, limits: Limits | None = None) -> str:
    with pytest.raises(MeshFormatError) as caught:
        load(path, limits=limits)
    return assert_plain(caught.value, path)


def binary_stl(triangles: np.ndarray) -> bytes:
    records = np.zeros(len(triangles), dtype=[("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")])
    records["v"] = triangles
    return b"binary".ljust(80, b" ") + struct.pack("<I", len(triangles)) + records.tobytes()


def test_file_too_large_names_size_limit_and_settings(tmp_path: Path) -> None:
    path = tmp_path / "big.stl"
    shutil.copy(DATA / "sphere_solid_header.stl", path)
    with pytest.raises(MeshLimitError) as caught:
        load(path, limits=Limits(max_file_size=1024))
    message = assert_plain(caught.value, path)
    assert "15.7 KB" in message
    assert "1.0 KB" in message
    assert "Settings" in message


@pytest.mark.parametrize("name", ["sphere_solid_header.stl", "cube_ascii.stl", "parts.obj"])
def test_too_many_triangles(name: str) -> None:
    with pytest.raises(MeshLimitError) as caught:
        load(DATA / name, limits=Limits(max_triangles=10))
    message = assert_plain(caught.value, DATA / name)
    assert "10 limit" in message
    assert "Settings" in message


def test_nan_coordinates_in_binary_stl(tmp_path: Path) -> None:
    tris = np.random.default_rng(0).random((4, 3, 3)).astype(np.float32)
    tris[2, 1, 0] = np.nan
    path = tmp_path / "nan.stl"
    path.write_bytes(binary_stl(tris))
    assert "not numbers" in load_error(path)


def test_infinite_coordinates_in_obj(tmp_path: Path) -> None:
    path = tmp_path / "inf.obj"
    path.write_text("v 0 0 0\nv inf 0 0\nv 0 1 0\nf 1 2 3\n")
    assert "not numbers" in load_error(path)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("bad.off", "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n"),
        ("bad.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n"),
        ("bad.ply", "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\n"
         "property float y\nproperty float z\nelement face 1\n"
         "property list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 9\n"),
    ],
)  # fmt: skip
def test_face_index_out_of_range(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    message = load_error(path)
    assert "damaged" in message


def test_truncated_binary_stl(tmp_path: Path) -> None:
    data = binary_stl(np.random.default_rng(0).random((20, 3, 3)))
    path = tmp_path / "cut.stl"
    path.write_bytes(data[: len(data) - 120])
    message = load_error(path)
    assert "cut short" in message
    assert "20 triangles" in message


def test_truncated_glb(tmp_path: Path) -> None:
    data = (DATA / "glazed_ball.glb").read_bytes()
    path = tmp_path / "cut.glb"
    path.write_bytes(data[: len(data) // 2])
    assert "cut short" in load_error(path)


def test_truncated_binary_ply(tmp_path: Path) -> None:
    data = (DATA / "ball_binary.ply").read_bytes()
    path = tmp_path / "cut.ply"
    path.write_bytes(data[:-200])
    assert "cut short" in load_error(path)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("empty.stl", "solid nothing\nendsolid nothing\n"),
        ("points.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\n"),
        ("empty.off", "OFF\n0 0 0\n"),
    ],
)
def test_empty_mesh_holds_no_triangles(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert "holds no triangles" in load_error(path)


def test_binary_stl_with_zero_triangles(tmp_path: Path) -> None:
    path = tmp_path / "zero.stl"
    path.write_bytes(b"\x00" * 80 + struct.pack("<I", 0))
    assert "holds no triangles" in load_error(path)


@pytest.mark.parametrize(
    ("name", "content", "family"),
    [
        ("broken.stl", b"solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 zero 0\n", "STL"),
        ("broken.off", b"OFF\n2 1\n0 0 0\n", "OFF"),
        ("broken.glb", b"glTF\x02\x00\x00\x00\x20\x00\x00\x00\x08\x00\x00\x00JSON{{{{{{{{",
         "GLB"),
        ("broken.gltf", b'{"asset": {"version": "2.0"}, "buffers": [{"uri": 5}], "meshes": 7',
         "glTF"),
        ("broken.ply", b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\n"
         b"end_header\nx y\n", "PLY"),
    ],
)  # fmt: skip
def test_malformed_files_are_damaged_not_crashes(
    tmp_path: Path, name: str, content: bytes, family: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    message = load_error(path)
    assert "damaged" in message or "cut short" in message
    if "not a valid" in message:
        assert f"valid {family} file" in message


def _three_mf(model: bytes, *, compress: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compress) as archive:
        archive.writestr("3D/3dmodel.model", model)
    return buffer.getvalue()


def test_3mf_zip_bomb_is_refused_before_inflating(tmp_path: Path) -> None:
    # 64 MB of spaces inside a valid model compress to ~64 KB: a ratio near 1000.
    head = b'<model xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">'
    model = head + b" " * (64 << 20) + b"<resources/><build/></model>"
    path = tmp_path / "bomb.3mf"
    path.write_bytes(_three_mf(model))
    del model
    with pytest.raises(MeshLimitError) as caught:
        load(path)
    assert "zip bomb" in assert_plain(caught.value, path)


def test_3mf_unzipped_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "plate.3mf"
    shutil.copy(DATA / "wedges_and_plate.3mf", path)
    with pytest.raises(MeshLimitError) as caught:
        load(path, limits=Limits(max_unzipped_size=1000))
    assert "Settings" in assert_plain(caught.value, path)


def test_3mf_lying_entry_size_is_caught(tmp_path: Path) -> None:
    """An entry that claims to be small but inflates to more is stopped at the claim."""
    path = tmp_path / "liar.3mf"
    path.write_bytes(_three_mf((DATA / "wedges_and_plate.3mf").read_bytes()))
    data = bytearray(path.read_bytes())
    # Patch both the local header and the central directory's uncompressed size to 100.
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        struct.pack_into("<I", data, at + offset, 100)
    path.write_bytes(bytes(data))
    load_error(path)


def test_3mf_index_out_of_range(tmp_path: Path) -> None:
    model = (
        b'<model unit="millimeter" xmlns="http://schemas.microsoft.com/3dmanufacturing/core/'
        b'2015/02"><resources><object id="1" type="model"><mesh><vertices>'
        b'<vertex x="0" y="0" z="0"/><vertex x="1" y="0" z="0"/><vertex x="0" y="1" z="0"/>'
        b'</vertices><triangles><triangle v1="0" v2="1" v3="3"/></triangles></mesh></object>'
        b'</resources><build><item objectid="1"/></build></model>'
    )
    path = tmp_path / "dangling.3mf"
    path.write_bytes(_three_mf(model))
    assert "a vertex that does not exist" in load_error(path)


def test_3mf_with_a_dtd_is_refused(tmp_path: Path) -> None:
    model = (
        b'<?xml version="1.0"?><!DOCTYPE model [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<model xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">&b;</model>'
    )
    path = tmp_path / "entities.3mf"
    path.write_bytes(_three_mf(model))
    assert "DTD" in load_error(path)


def test_3mf_damaged_xml(tmp_path: Path) -> None:
    path = tmp_path / "broken.3mf"
    path.write_bytes(_three_mf(b"<model><resources><object id='1'>"))
    assert "not a valid 3MF file" in load_error(path)
