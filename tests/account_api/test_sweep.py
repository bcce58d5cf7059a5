"""The sweep removes what crashes leave behind (issue 7, finding 11): unfinished uploads in
``tmp/upload-*`` and blobs that no row names (partial writes, a crash between file and row,
an account whose rows were deleted but not its files), never an upload still in progress."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from account_api.blobs import BlobStore, LocalBlobStore
from account_api.sweep import sweep
from tests.account_api.conftest import Api
from tests.account_api.servers import ServiceThread
from tests.account_api.sync_helpers import upload

ROOT = Path(__file__).resolve().parents[2]
GHOST = "0" * 32  # an account that no longer exists


def _put(store: BlobStore, owner: str, data: bytes, folder: Path) -> str:
    sha = hashlib.sha256(data).hexdigest()
    source = folder / f"source-{sha[:8]}"
    source.write_bytes(data)
    store.put(owner, sha, source)
    source.unlink()
    return sha


def _listed(store: BlobStore) -> set[tuple[str, str]]:
    """(owner, file name) of every file in the store."""
    return {(entry.owner, entry.name.rpartition("/")[2]) for entry in store.entries()}


def test_the_sweep_removes_orphans_once_they_are_older_than_the_grace(
    api: Api, service: ServiceThread, tmp_path: Path
) -> None:
    store: BlobStore = service.app.state.services.blobs
    user = api.signup()
    kept = upload(user, b"a file a version can name")
    orphan = _put(store, user.id, b"stored, then the process was killed", tmp_path)
    ghost = _put(store, GHOST, b"the account's rows are gone", tmp_path)
    uploads = service.settings.data_dir / "tmp"
    uploads.mkdir(parents=True, exist_ok=True)
    unfinished = uploads / "upload-killed-mid-stream"
    unfinished.write_bytes(os.urandom(4096))
    if isinstance(store, LocalBlobStore):
        partial = store.root / user.id / orphan[:2] / f".{orphan}.deadbeef.tmp"
        partial.write_bytes(b"half a fi")

    # Within the grace period nothing is touched: it may be an upload in progress.
    fresh = sweep(service.settings, service.db, store)
    assert (fresh.uploads, fresh.blobs) == (0, 0)
    assert (user.id, orphan) in _listed(store)
    assert unfinished.exists()

    later = service.clock.now() + timedelta(hours=2)
    report = sweep(service.settings, service.db, store, now=later)
    assert report.uploads == 1
    assert report.blobs == (3 if isinstance(store, LocalBlobStore) else 2)
    assert {name for owner, name in _listed(store) if owner == user.id} == {kept}
    assert (GHOST, ghost) not in _listed(store)
    assert not unfinished.exists()
    assert user.http.get(f"/v1/blobs/{kept}").content == b"a file a version can name"


def test_python_m_account_api_sweep_on_real_files(
    api: Api, service: ServiceThread, backend: str
) -> None:
    if backend != "sqlite":
        return  # the command is the same; the files below are the local store's
    store = service.app.state.services.blobs
    assert isinstance(store, LocalBlobStore)
    user = api.signup()
    kept = upload(user, b"still named by a row")
    old = time.time() - 3 * 3600
    folder = store.root / user.id / "ab"
    folder.mkdir(parents=True, exist_ok=True)
    stale_blob = folder / ("ab" + "1" * 62)
    stale_blob.write_bytes(b"orphan")
    fresh_blob = folder / ("ab" + "2" * 62)
    fresh_blob.write_bytes(b"being uploaded right now")
    uploads = service.settings.data_dir / "tmp"
    uploads.mkdir(parents=True, exist_ok=True)
    stale_upload, fresh_upload = uploads / "upload-old", uploads / "upload-new"
    for path in (stale_upload, fresh_upload):
        path.write_bytes(os.urandom(2048))
    kept_path = store.root / user.id / kept[:2] / kept
    for path in (stale_blob, stale_upload, kept_path):
        os.utime(path, (old, old))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KILN_ACCOUNT_")}
    env.update(
        KILN_ACCOUNT_DATA_DIR=str(service.settings.data_dir),
        KILN_ACCOUNT_DATABASE_URL=service.settings.database_url,
        KILN_ACCOUNT_JWT_SECRET="a-different-secret-is-fine-for-jobs-" + "y" * 10,
        PYTHONPATH=str(ROOT),
    )
    result = subprocess.run(
        [sys.executable, "-m", "account_api", "sweep"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Removed 1 unfinished uploads and 1 unreferenced blobs" in result.stdout
    assert not stale_blob.exists()
    assert not stale_upload.exists()
    assert fresh_blob.exists()
    assert fresh_upload.exists()
    assert kept_path.exists()
