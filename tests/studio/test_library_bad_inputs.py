"""Every kind of bad file the designer may drop: one plain sentence, and the library untouched.

Each case is a real file on disk imported through :meth:`Library.import_file`, both as a
new model and as a new version of an existing one.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from library_fixtures import blob_files, stl_bytes, tmp_entries, write_stl

from studio import meshes
from studio.library import Library, LibraryChange
from studio.meshes import Limits


def _binary_stl(path: Path, triangles: np.ndarray) -> Path:
    records = np.zeros(len(triangles), dtype=[("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")])
    records["v"] = triangles
    path.write_bytes(b"x".ljust(80) + struct.pack("<I", len(triangles)) + records.tobytes())
    return path


def too_large(tmp: Path) -> tuple[Path, Limits]:
    return write_stl(tmp / "huge.stl", 50), Limits(max_file_size=1000)


def too_many_triangles(tmp: Path) -> tuple[Path, Limits]:
    return write_stl(tmp / "dense.stl", 50), Limits(max_triangles=10)


def nan_coordinates(tmp: Path) -> tuple[Path, Limits]:
    triangles = np.zeros((2, 3, 3), dtype=np.float32)
    triangles[1, 2, 0] = np.nan
    triangles[0] = [[0, 0, 0], [1, 0, 0], [0, 1, 0]]
    return _binary_stl(tmp / "nan.stl", triangles), Limits()


def infinite_coordinates(tmp: Path) -> tuple[Path, Limits]:
    path = tmp / "inf.obj"
    path.write_text("v 0 0 0\nv 1 0 0\nv 0 inf 0\nf 1 2 3\n")
    return path, Limits()


def index_out_of_range(tmp: Path) -> tuple[Path, Limits]:
    path = tmp / "index.off"
    path.write_text("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n")
    return path, Limits()


def truncated_stl(tmp: Path) -> tuple[Path, Limits]:
    path = tmp / "cut.stl"
    path.write_bytes(stl_bytes(10)[:300])
    return path, Limits()


def truncated_glb(tmp: Path) -> tuple[Path, Limits]:
    header = struct.pack("<4sII", b"glTF", 2, 5000)
    chunk = struct.pack("<I4s", 200, b"JSON") + b"{" * 40
    path = tmp / "cut.glb"
    path.write_bytes(header + chunk)
    return path, Limits()


def truncated_ply(tmp: Path) -> tuple[Path, Limits]:
    header = (
        b"ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\n"
        b"property float y\nproperty float z\nelement face 1\n"
        b"property list uchar int vertex_indices\nend_header\n"
    )
    path = tmp / "cut.ply"
    path.write_bytes(header + struct.pack("<5f", 0, 0, 0, 1, 0))
    return path, Limits()


def empty_mesh(tmp: Path) -> tuple[Path, Limits]:
    path = tmp / "points.obj"
    path.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    return path, Limits()


def empty_file(tmp: Path) -> tuple[Path, Limits]:
    path = tmp / "nothing.stl"
    path.write_bytes(b"")
    return path, Limits()


def zip_bomb(tmp: Path) -> tuple[Path, Limits]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("3D/3dmodel.model", b"<model>" + b" " * 20_000_000 + b"</model>")
    path = tmp / "bomb.3mf"
    path.write_bytes(buffer.getvalue())
    return path, Limits()


def not_a_model(tmp: Path) -> tuple[Path, Limits]:
    path = tmp / "photo.stl"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    return path, Limits()


BAD_FILES: dict[str, Callable[[Path], tuple[Path, Limits]]] = {
    "too large": too_large,
    "too many triangles": too_many_triangles,
    "NaN coordinates": nan_coordinates,
    "infinite coordinates": infinite_coordinates,
    "index out of range": index_out_of_range,
    "truncated STL": truncated_stl,
    "truncated GLB": truncated_glb,
    "truncated PLY": truncated_ply,
    "no triangles": empty_mesh,
    "empty file": empty_file,
    "3MF zip bomb": zip_bomb,
    "not a model": not_a_model,
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_is_refused_plainly_and_nothing_is_written(
    library: Library, tmp_path: Path, case: str
) -> None:
    existing = library.import_file(write_stl(tmp_path / "good.stl", 4)).model
    blobs_before = blob_files(library.data_dir)
    changes: list[LibraryChange] = []
    library.changed.connect(changes.append)
    path, limits = BAD_FILES[case](tmp_path)
    for model_id in (None, existing.id):
        with pytest.raises(meshes.MeshFormatError) as caught:
            library.import_file(path, model_id=model_id, limits=limits)
        message = str(caught.value)
        assert path.name in message
        assert "Traceback" not in message
        assert "Error" not in message  # no Python exception names
        assert len(re.findall(r"[.!?](?:\s|$)", message)) <= 2  # a sentence or two
    assert changes == []
    assert [m.id for m in library.list_models()] == [existing.id]
    assert library.get_model(existing.id).version_count == 1
    assert blob_files(library.data_dir) == blobs_before
    assert tmp_entries(library.data_dir) == []
    assert library.check() == []
