"""The blob store: layout, crash-safe writes, a full disk, the sweep, the materialised cache."""

from __future__ import annotations

import errno
import hashlib
import os
import threading
import time
from pathlib import Path
from typing import BinaryIO

import pytest
from library_fixtures import add_stl, blob_files, png_bytes, stl_bytes, tmp_entries

from studio.library import Library, LibraryError
from studio.library.store import BlobStore
from studio.meshes.scene import MeshFormat


def test_blobs_are_content_addressed_without_extension(library: Library) -> None:
    version = add_stl(library).version
    data = stl_bytes(1, 0)
    sha = hashlib.sha256(data).hexdigest()
    assert version.sha256 == sha
    path = library.data_dir / "blobs" / sha[:2] / sha
    assert library.blob_path(sha) == path
    assert path.read_bytes() == data
    assert tmp_entries(library.data_dir) == []


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_blobs_are_read_only(library: Library) -> None:
    path = library.blob_path(add_stl(library).version.sha256)
    assert path.stat().st_mode & 0o222 == 0


def test_storing_the_same_bytes_twice_keeps_one_blob(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    first = store.put_bytes(b"hello")
    second = store.put_bytes(b"hello")
    assert first.created
    assert not second.created
    assert first.sha256 == second.sha256 == hashlib.sha256(b"hello").hexdigest()
    assert list(store.shas()) == [first.sha256]
    assert list(store.tmp_dir.iterdir()) == []


def test_a_damaged_blob_is_replaced_by_good_bytes(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    blob = store.put_bytes(b"hello")
    path = store.path(blob.sha256)
    path.chmod(0o644)
    path.write_bytes(b"hel")
    assert store.put_bytes(b"hello").created
    assert path.read_bytes() == b"hello"


# -- a full disk ------------------------------------------------------------------------------


def _fill_the_disk(monkeypatch: pytest.MonkeyPatch, after_bytes: int = 0) -> None:
    written = 0

    def write_chunk(fh: BinaryIO, data: bytes) -> None:
        nonlocal written
        if written + len(data) > after_bytes:
            raise OSError(errno.ENOSPC, "No space left on device")
        fh.write(data)
        written += len(data)

    monkeypatch.setattr(BlobStore, "write_chunk", staticmethod(write_chunk))


def test_a_full_disk_is_a_plain_error_and_changes_nothing(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = add_stl(library, seed=1).model
    before_blobs = blob_files(library.data_dir)
    seen: list[object] = []
    library.changed.connect(seen.append)
    _fill_the_disk(monkeypatch)
    with pytest.raises(LibraryError) as info:
        add_stl(library, model.id, seed=2)
    assert str(info.value) == (
        "The disk is full: could not store “vase.stl” in the library. "
        "Free some space and try again."
    )
    with pytest.raises(LibraryError, match="The disk is full"):
        add_stl(library, seed=3)
    with pytest.raises(LibraryError, match="The disk is full"):
        library.set_thumbnail(model.active_version_id, png_bytes())
    assert seen == []
    assert [m.id for m in library.list_models()] == [model.id]
    assert [v.number for v in library.versions(model.id)] == [1]
    assert blob_files(library.data_dir) == before_blobs
    assert tmp_entries(library.data_dir) == []
    assert library.check() == []


def test_a_disk_that_fills_half_way_leaves_no_partial_version(
    library: Library, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The main file fits, its texture does not: the stored main blob must go again.
    big_texture = tmp_path / "wood.png"
    big_texture.write_bytes(os.urandom(3 * 1024 * 1024))
    main = stl_bytes(1, 5)
    _fill_the_disk(monkeypatch, after_bytes=len(main))
    with pytest.raises(LibraryError, match=r"^The disk is full: could not store “wood\.png”"):
        library.add_version(
            None,
            {"a.obj": main, "wood.png": big_texture},
            main="a.obj",
            format=MeshFormat.OBJ,
            stats={},
            source={"kind": "import"},
        )
    assert library.list_models() == []
    assert blob_files(library.data_dir) == set()
    assert tmp_entries(library.data_dir) == []


def test_an_unreadable_source_file_is_a_plain_error(library: Library, tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match=r"^“gone.stl” no longer exists\.$"):
        library.add_version(
            None,
            {"gone.stl": tmp_path / "gone.stl"},
            main="gone.stl",
            format=MeshFormat.STL_BINARY,
            stats={},
            source={"kind": "import"},
        )
    assert library.list_models() == []


# -- the sweep --------------------------------------------------------------------------------


def test_sweep_removes_unreferenced_blobs_and_dead_temp_files(library: Library) -> None:
    kept = add_stl(library).version
    orphan = library.store_bytes(b"left by a crash")
    tmp = library.data_dir / "tmp"
    dead = tmp / "999999999-0123.part"  # no such process
    dead.write_bytes(b"partial")
    mine = tmp / f"{os.getpid()}-4567.part"  # a write in progress in this process
    mine.write_bytes(b"partial")
    stray_cache = library.data_dir / "cache" / ("0" * 32)
    stray_cache.mkdir()
    assert library.sweep() == 3
    assert blob_files(library.data_dir) == {kept.sha256}
    assert not library.blob_path(orphan).exists()
    assert tmp_entries(library.data_dir) == [mine]
    assert not stray_cache.exists()
    assert library.sweep() == 0
    assert library.check() == []


def test_open_clears_temp_files_older_than_an_hour(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    Library.open(data_dir).close()
    old = data_dir / "tmp" / f"{os.getpid()}-old.part"
    young = data_dir / "tmp" / f"{os.getpid()}-young.part"
    for path in (old, young):
        path.write_bytes(b"x")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    Library.open(data_dir).close()
    assert tmp_entries(data_dir) == [young]


def test_check_reports_a_missing_blob(library: Library) -> None:
    version = add_stl(library).version
    path = library.blob_path(version.sha256)
    path.unlink()
    problems = library.check()
    assert len(problems) == 1
    assert "missing the file of version 1" in problems[0]


def test_check_can_verify_hashes(library: Library) -> None:
    version = add_stl(library).version
    path = library.blob_path(version.sha256)
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    assert library.check() == []
    assert "damaged bytes" in library.check(verify_hashes=True)[0]


# -- the materialised cache -------------------------------------------------------------------


def test_materialize_puts_companions_beside_the_main_file(library: Library) -> None:
    version = library.add_version(
        None,
        {
            "chair.obj": b"mtllib chair.mtl\n",
            "chair.mtl": b"map_Kd tex/wood.png\n",
            "tex/wood.png": b"png",
        },
        main="chair.obj",
        format=MeshFormat.OBJ,
        stats={},
        source={"kind": "import"},
    ).version
    main = library.materialize(version)
    assert main == library.data_dir / "cache" / version.uid / "chair.obj"
    assert main.read_bytes() == b"mtllib chair.mtl\n"
    assert (main.parent / "chair.mtl").read_bytes() == b"map_Kd tex/wood.png\n"
    assert (main.parent / "tex" / "wood.png").read_bytes() == b"png"
    if os.name != "nt":
        # Hard links: no second copy of big files.
        assert main.stat().st_ino == library.blob_path(version.sha256).stat().st_ino
    assert library.materialize(version) == main  # reused
    (main.parent / "chair.mtl").unlink()
    assert library.materialize(version) == main  # repaired
    assert (main.parent / "chair.mtl").is_file()
    assert tmp_entries(library.data_dir) == []


def test_materialize_copies_when_hard_links_fail(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = add_stl(library).version

    def no_links(src: object, dst: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    main = library.materialize(version)
    assert main.read_bytes() == stl_bytes(1, 0)
    assert main.stat().st_ino != library.blob_path(version.sha256).stat().st_ino


def test_materialize_of_a_missing_blob_says_so(library: Library) -> None:
    version = add_stl(library).version
    library.blob_path(version.sha256).unlink()
    with pytest.raises(LibraryError, match="missing from the library folder"):
        library.materialize(version)


def test_threads_materializing_the_same_version_agree(library: Library) -> None:
    version = library.add_version(
        None,
        {"a.obj": b"mtllib a.mtl\n", "a.mtl": b"newmtl x\n", "t/x.png": b"png"},
        main="a.obj",
        format=MeshFormat.OBJ,
        stats={},
        source={"kind": "import"},
    ).version
    results: list[Path] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(library.materialize(version))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(results)) == 1
    assert (results[0].parent / "t" / "x.png").read_bytes() == b"png"
    assert tmp_entries(library.data_dir) == []
