"""Helpers shared by the library tests (plain functions; each test module has its fixtures)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image

from studio.library import ImportResult, Library
from studio.meshes.scene import MeshFormat


def png_bytes(color: tuple[int, int, int] = (200, 120, 40), size: int = 2) -> bytes:
    """A small valid PNG of one colour."""
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buffer, "PNG")
    return buffer.getvalue()


PNG_1X1 = png_bytes(size=1)


def stl_bytes(n_triangles: int = 1, seed: int = 0) -> bytes:
    """A binary STL of ``n_triangles`` random triangles (``seed`` makes the bytes differ)."""
    rng = np.random.default_rng(seed)
    records = np.zeros(
        n_triangles,
        dtype=np.dtype([("normal", "<f4", 3), ("corners", "<f4", (3, 3)), ("attr", "<u2")]),
    )
    records["corners"] = rng.random((n_triangles, 3, 3), dtype=np.float32)
    header = b"kiln test".ljust(80, b"\0")
    return header + struct.pack("<I", n_triangles) + records.tobytes()


def write_stl(path: Path, n_triangles: int = 1, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(stl_bytes(n_triangles, seed))
    return path


def tetra_obj(path: Path, *, texture: bytes = PNG_1X1) -> Path:
    """An OBJ tetrahedron with an MTL and a texture in a subfolder, all beside ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / "textures").mkdir(exist_ok=True)
    (path.parent / "textures" / "wood.png").write_bytes(texture)
    (path.with_suffix(".mtl")).write_text(
        "newmtl wood\nKd 0.8 0.6 0.4\nmap_Kd textures/wood.png\n", encoding="utf-8"
    )
    path.write_text(
        f"mtllib {path.with_suffix('.mtl').name}\n"
        "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\n"
        "vt 0 0\nvt 1 0\nvt 0 1\n"
        "usemtl wood\n"
        "f 1/1 3/3 2/2\nf 1/1 2/2 4/3\nf 1/1 4/3 3/2\nf 2/1 3/2 4/3\n",
        encoding="utf-8",
    )
    return path


def add_stl(
    library: Library,
    model_id: int | None = None,
    *,
    seed: int = 0,
    name: str = "Vase",
    source: dict[str, object] | None = None,
) -> ImportResult:
    """Add a tiny STL (different bytes per seed) through the low-level entry."""
    return library.add_version(
        model_id,
        {"vase.stl": stl_bytes(1, seed)},
        main="vase.stl",
        format=MeshFormat.STL_BINARY,
        stats={"faces": 1},
        source=source or {"kind": "import", "path": "/x/vase.stl", "filename": "vase.stl"},
        name=name,
    )


def blob_files(data_dir: Path) -> set[str]:
    """Names of every blob in a library folder."""
    return {p.name for p in (data_dir / "blobs").glob("*/*") if p.is_file()}


def tmp_entries(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "tmp").iterdir())


def numbers(library: Library, model_id: int) -> list[int]:
    """The model's version numbers, newest first."""
    return [v.number for v in library.versions(model_id)]
