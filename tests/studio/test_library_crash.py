"""Crash safety with real processes killed at the worst moments.

Each test imports a file in a child process that dies by SIGKILL (no cleanup, no atexit,
no finally) and then reopens the library here: it must be consistent, the import must be
either wholly there or wholly absent, and the sweep must remove what the crash left.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from library_fixtures import blob_files, tmp_entries, write_stl

from studio.library import Library

REPO = Path(__file__).resolve().parents[2]
KILLED = -signal.SIGKILL if os.name != "nt" else 137

CHILD = """
import sys
from pathlib import Path
from studio.library import Library

data_dir, model_file, model_id = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
with Library.open(data_dir) as library:
    library.import_file(model_file, model_id=int(model_id) if model_id else None)
print("imported")
"""


def _child(data_dir: Path, model_file: Path, model_id: int | None) -> list[str]:
    return [sys.executable, "-c", CHILD, str(data_dir), str(model_file), str(model_id or "")]


def _env(crash_at: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KILN_CRASH_AT"}
    if crash_at:
        env["KILN_CRASH_AT"] = crash_at
    return env


def _run(data_dir: Path, model_file: Path, model_id: int | None, crash_at: str | None) -> int:
    done = subprocess.run(
        _child(data_dir, model_file, model_id),
        env=_env(crash_at),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.stdout.strip() == ("" if crash_at else "imported"), done.stderr
    return done.returncode


def _assert_all_or_nothing(library: Library, model_file: Path) -> bool:
    """The imported file is a complete version with its blob, or absent. True if present."""
    assert library.check() == []
    sha = hashlib.sha256(model_file.read_bytes()).hexdigest()
    present = [v for m in library.list_models() for v in library.versions(m.id) if v.sha256 == sha]
    if present:
        assert library.blob_path(sha).read_bytes() == model_file.read_bytes()
    return bool(present)


@pytest.mark.parametrize("into_existing_model", [False, True], ids=["new-model", "new-version"])
@pytest.mark.parametrize(
    ("crash_at", "survives", "orphans"),
    [
        # Killed after the temp file was fsynced: the temp file is the orphan.
        ("blob-written", False, {"tmp": 1, "blobs": 0}),
        # Killed after the rename, before the commit: the blob is the orphan.
        ("blob-stored", False, {"tmp": 0, "blobs": 1}),
        # Killed after the commit: the version is complete, nothing is left over.
        ("row-committed", True, {"tmp": 0, "blobs": 0}),
    ],
)
def test_a_crash_at_each_point_leaves_a_consistent_library(
    tmp_path: Path,
    crash_at: str,
    survives: bool,
    orphans: dict[str, int],
    into_existing_model: bool,
) -> None:
    data_dir = tmp_path / "data"
    model_id = None
    if into_existing_model:
        assert _run(data_dir, write_stl(tmp_path / "first.stl", 4, seed=1), None, None) == 0
        with Library.open(data_dir) as library:
            model_id = library.list_models()[0].id
    before = blob_files(data_dir) if data_dir.exists() else set()
    model_file = write_stl(tmp_path / "in" / "vase.stl", 12, seed=2)

    assert _run(data_dir, model_file, model_id, crash_at) == KILLED

    assert len(tmp_entries(data_dir)) == orphans["tmp"]
    with Library.open(data_dir) as library:
        # Opening clears temp files of dead processes; unreferenced blobs wait for the sweep.
        assert tmp_entries(data_dir) == []
        assert _assert_all_or_nothing(library, model_file) is survives
        models = library.list_models()
        assert len(models) == 1 if (survives or into_existing_model) else not models
        if into_existing_model:
            assert models[0].version_count == (2 if survives else 1)
        assert len(blob_files(data_dir) - before) == (1 if survives else orphans["blobs"])
        assert library.sweep() == orphans["blobs"]
        assert blob_files(data_dir) - before == (
            {hashlib.sha256(model_file.read_bytes()).hexdigest()} if survives else set()
        )
        assert library.check() == []
        assert _assert_all_or_nothing(library, model_file) is survives
        # And the library goes on working: the same import now succeeds (or is recognised).
        again = library.import_file(model_file, model_id=model_id)
        assert again.created is not survives
        assert library.check() == []


def _big_stl(path: Path, n_triangles: int) -> Path:
    """A binary STL of about 50 bytes per triangle, written in slices to spare memory."""
    rng = np.random.default_rng(7)
    record = np.dtype([("normal", "<f4", 3), ("corners", "<f4", (3, 3)), ("attr", "<u2")])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(b"big".ljust(80, b"\0"))
        fh.write(np.uint32(n_triangles).tobytes())
        step = 500_000
        for start in range(0, n_triangles, step):
            chunk = np.zeros(min(step, n_triangles - start), dtype=record)
            chunk["corners"] = rng.random((len(chunk), 3, 3), dtype=np.float32) * 100
            fh.write(chunk.tobytes())
    return path


@pytest.mark.slow
def test_killing_an_import_mid_copy_leaves_a_consistent_library(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with Library.open(data_dir) as library:  # an existing library with one model
        library.import_file(write_stl(tmp_path / "small.stl", 4, seed=1))
    before = blob_files(data_dir)
    model_file = _big_stl(tmp_path / "in" / "big.stl", 2_000_000)
    assert model_file.stat().st_size > 100_000_000

    child = subprocess.Popen(
        _child(data_dir, model_file, None),
        env=_env(None),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # Poll the filesystem: the copy into the store has started once a temp file exists.
        deadline = time.monotonic() + 240
        while not tmp_entries(data_dir):
            assert child.poll() is None, child.communicate()[1].decode()
            assert time.monotonic() < deadline, "the import never started copying"
            time.sleep(0.001)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.communicate(timeout=60)
    assert child.returncode == KILLED

    with Library.open(data_dir) as library:
        present = _assert_all_or_nothing(library, model_file)
        assert len(library.list_models()) == (2 if present else 1)
        library.sweep()
        assert tmp_entries(data_dir) == []
        referenced = {v.sha256 for m in library.list_models() for v in library.versions(m.id)}
        assert blob_files(data_dir) == referenced
        assert before <= referenced
        assert library.check() == []
