"""Every file the library writes from a stored path stays inside its own folder (issue 7, #1).

The paths here reach the library the way a hostile one would: written into its database
directly (a damaged or tampered library) or handed to the sync's insert (a hostile server).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from library_fixtures import PNG_1X1, add_stl, stl_bytes

from studio.library import Library, LibraryError
from studio.meshes.scene import MeshFormat

VICTIM_BYTES = b"the designer's own file, never to be touched\n"


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    with Library.open(tmp_path / "lib") as lib:
        yield lib


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file outside the library, where a hostile path points."""
    path = tmp_path / "victim.txt"
    path.write_bytes(VICTIM_BYTES)
    return path


def tamper(library: Library, sql: str, *params: object) -> None:
    with sqlite3.connect(library.database_path) as db:
        assert db.execute(sql, params).rowcount >= 1


def obj_with_texture(library: Library) -> int:
    result = library.add_version(
        None,
        {
            "tetra.obj": b"mtllib t.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n",
            "t.mtl": b"newmtl a\nmap_Kd tex/wood.png\n",
            "tex/wood.png": PNG_1X1,
        },
        main="tetra.obj",
        format=MeshFormat.OBJ,
        stats={},
        source={"kind": "import"},
        name="Tetra",
    )
    return result.version.id


def hostile_relpaths(victim: Path, library: Library) -> list[str]:
    """Paths that, joined onto the staging folder (``tmp/<name>.dir``), reach ``victim``."""
    depth = len(library.data_dir.resolve().relative_to(victim.parent.resolve()).parts) + 2
    return ["../" * depth + victim.name, str(victim), "..\\..\\" + victim.name]


def test_materialize_refuses_a_stored_companion_path_outside_the_cache(
    library: Library, victim: Path
) -> None:
    version_id = obj_with_texture(library)
    for bad in hostile_relpaths(victim, library):
        tamper(library, "UPDATE version_files SET relpath = ? WHERE relpath != 't.mtl'", bad)
        version = library.get_version_by_id(version_id)
        with pytest.raises(LibraryError, match="outside"):
            library.materialize(version)
        assert victim.read_bytes() == VICTIM_BYTES
        assert not (library.cache_dir / version.uid).exists()


def test_materialize_refuses_a_stored_version_uid_outside_the_cache(
    library: Library, victim: Path, tmp_path: Path
) -> None:
    version = add_stl(library).version
    escape = tmp_path / "escaped"
    depth = len(library.cache_dir.resolve().relative_to(tmp_path.resolve()).parts)
    tamper(
        library, "UPDATE versions SET uid = ? WHERE id = ?", "../" * depth + "escaped", version.id
    )
    with pytest.raises(LibraryError, match="outside"):
        library.materialize(library.get_version_by_id(version.id))
    assert not escape.exists()
    assert victim.read_bytes() == VICTIM_BYTES


def test_a_companion_named_like_the_main_file_never_overwrites_the_store(
    library: Library,
) -> None:
    """The main file is a hard link into the store: copying over it would damage the blob."""
    version_id = obj_with_texture(library)
    version = library.get_version_by_id(version_id)
    before = library.blob_path(version.sha256).read_bytes()
    tamper(library, "UPDATE version_files SET relpath = 'tetra.obj' WHERE relpath = 't.mtl'")
    with pytest.raises(LibraryError):
        library.materialize(library.get_version_by_id(version_id))
    assert library.blob_path(version.sha256).read_bytes() == before
    assert library.check(verify_hashes=True) == []


def test_materialize_through_a_symlink_out_of_the_cache_is_refused(
    library: Library, tmp_path: Path, victim: Path
) -> None:
    """A cache folder replaced by a link to elsewhere is not followed."""
    version = add_stl(library).version
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    library.cache_dir.mkdir(parents=True, exist_ok=True)
    (library.cache_dir / version.uid).symlink_to(outside, target_is_directory=True)
    with pytest.raises(LibraryError, match="outside"):
        library.materialize(version)
    assert list(outside.iterdir()) == []


def insert(library: Library, companions: list[tuple[str, str]], **overrides: object) -> None:
    now = datetime.now(UTC)
    arguments: dict[str, object] = {
        "model_uid": "m" * 32,
        "model_name": "Synced",
        "model_created_at": now,
        "uid": "v" * 32,
        "number": 1,
        "sha256": library.store_bytes(stl_bytes(1, 7)),
        "filename": "vase.stl",
        "format": MeshFormat.STL_BINARY.value,
        "companions": companions,
        "thumbnail_sha": None,
        "source": {},
        "stats": {},
        "created_at": now,
    }
    arguments.update(overrides)
    library.sync_insert_version(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "relpath", ["../../victim.txt", "/etc/passwd", "a\\..\\..\\b", "C:/x.png", "tex/../../x.png"]
)
def test_the_library_refuses_a_synced_version_with_an_unsafe_companion_path(
    library: Library, relpath: str
) -> None:
    sha = library.store_bytes(PNG_1X1)
    with pytest.raises(LibraryError, match="unsafe path"):
        insert(library, [(relpath, sha)])
    assert library.list_models() == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("uid", "../../x"), ("model_uid", "a/b"), ("format", "fbx"), ("filename", "")],
)
def test_the_library_refuses_a_synced_version_it_cannot_keep(
    library: Library, field: str, value: str
) -> None:
    with pytest.raises(LibraryError):
        insert(library, [], **{field: value})
    assert library.list_models() == []


def test_the_library_refuses_a_synced_companion_named_like_the_main_file(
    library: Library,
) -> None:
    sha = library.store_bytes(PNG_1X1)
    with pytest.raises(LibraryError, match="main file"):
        insert(library, [("vase.stl", sha)])
    assert library.list_models() == []
