"""Damaged files the fuzz run (tests/fuzz) found a reader choking on, kept as plain tests."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest

from studio.meshes import MeshFormatError, compute_stats, load

BOX_OBJ = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n"


def test_an_obj_vertex_with_two_coordinates_is_damaged(tmp_path: Path) -> None:
    """``v 1.0  3.0`` made trimesh return two-column vertices; measuring them crashed."""
    path = tmp_path / "flat.obj"
    path.write_text(BOX_OBJ.replace("v 1 0 0", "v 1  0"), encoding="utf-8")
    with pytest.raises(MeshFormatError) as caught:
        compute_stats(load(path))
    assert str(caught.value) == (
        "“flat.obj” is damaged: some vertices do not have three coordinates (x, y, z)."
    )


def test_a_zip_from_an_unknown_zip_version_is_a_plain_refusal(tmp_path: Path) -> None:
    """zipfile raises NotImplementedError for a "version needed to extract" it lacks."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("3D/3dmodel.model", "<model/>")
    data = bytearray(buffer.getvalue())
    at = data.find(b"PK\x01\x02")
    struct.pack_into("<H", data, at + 6, 221)  # "version needed to extract": 22.1
    path = tmp_path / "future.3mf"
    path.write_bytes(bytes(data))
    with pytest.raises(MeshFormatError) as caught:
        load(path)
    assert str(caught.value) == "“future.3mf” is a damaged ZIP archive, not a 3D model."
