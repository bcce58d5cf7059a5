"""Crash leftovers: unfinished uploads and blobs that no row names.

An upload streams into ``<data dir>/tmp/upload-*`` and is deleted when the request ends; a
``kill -9`` leaves it. A blob is stored before its row is committed, so a crash in between
(or between deleting an account's rows and its files) leaves a file no row names; a crash
inside the local store's atomic write leaves a ``.<sha>.<random>.tmp`` part. The sweep
removes each of these once it is older than ``upload_grace`` (so an upload in progress is
never touched), checking a blob again under its owner's lock just before removing it.
It runs at start-up (``serve``) and as ``python -m account_api sweep``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from account_api import guessing
from account_api.blobs import BlobStore, StoredBlob
from account_api.database import Database, lock_user
from account_api.settings import Settings
from account_api.tables import BlobRow, UserRow

log = logging.getLogger("account_api")


@dataclass(frozen=True)
class SweepReport:
    uploads: int
    blobs: int
    counters: int

    @property
    def summary(self) -> str:
        return (
            f"Removed {self.uploads} unfinished uploads and {self.blobs} unreferenced blobs; "
            f"forgot {self.counters} old password-failure counters."
        )


def _stale_uploads(settings: Settings, cutoff: datetime) -> int:
    removed = 0
    folder = settings.data_dir / "tmp"
    if not folder.is_dir():
        return 0
    for path in folder.glob("upload-*"):
        try:
            if datetime.fromtimestamp(path.stat().st_mtime, UTC) < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def _owner_id(db: Database, owner: str) -> int | None:
    with db.read() as session:
        return session.scalar(select(UserRow.id).where(UserRow.public_id == owner))


def _referenced(db: Database, user_id: int, sha256: str) -> bool:
    with db.read() as session:
        return session.get(BlobRow, (user_id, sha256)) is not None


def _remove_if_unreferenced(
    db: Database, store: BlobStore, entry: StoredBlob, user_id: int | None, cutoff: datetime
) -> bool:
    if user_id is None:  # the account is gone: nothing can upload for it any more
        store.remove(entry)
        return True
    with db.write() as session:
        if lock_user(session, user_id) is None:
            store.remove(entry)
            return True
        # Under the owner's lock: an upload that rewrote the file since the listing, or
        # recorded its row, keeps it.
        modified = store.modified(entry)
        if modified is None or modified >= cutoff:
            return False
        if entry.sha256 is not None and session.get(BlobRow, (user_id, entry.sha256)) is not None:
            return False
        store.remove(entry)
        return True


def sweep(
    settings: Settings,
    db: Database,
    store: BlobStore,
    now: datetime | None = None,
    grace: timedelta | None = None,
) -> SweepReport:
    """Remove what crashes left behind that is older than ``grace``."""
    now = now or datetime.now(UTC)
    cutoff = now - (settings.upload_grace if grace is None else grace)
    uploads = _stale_uploads(settings, cutoff)
    blobs = 0
    owners: dict[str, int | None] = {}
    for entry in store.entries():
        if entry.modified >= cutoff:
            continue
        if entry.owner not in owners:
            owners[entry.owner] = _owner_id(db, entry.owner)
        user_id = owners[entry.owner]
        if (
            entry.sha256 is not None
            and user_id is not None
            and _referenced(db, user_id, entry.sha256)
        ):
            continue
        if _remove_if_unreferenced(db, store, entry, user_id, cutoff):
            blobs += 1
    counters = guessing.forget_stale(db, settings.guessing, now)
    report = SweepReport(uploads, blobs, counters)
    if uploads or blobs:
        log.info("%s", report.summary)
    return report
