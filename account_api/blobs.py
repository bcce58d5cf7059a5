"""Where uploaded files live: a local directory or an S3-compatible bucket.

Each user's blobs are kept under their own prefix (``<user public id>/<sha256>``): deleting
an account deletes one prefix, and no blob is ever shared between accounts.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from account_api.settings import Settings

SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredBlob:
    """One file in the store, as the sweep sees it."""

    owner: str
    #: The blob's sha256, or ``None`` for a partial write left by a crash.
    sha256: str | None
    name: str
    modified: datetime


class BlobStore(Protocol):
    def put(self, owner: str, sha256: str, source: Path) -> None:
        """Store the (already verified) file ``source`` as ``owner``'s blob ``sha256``."""
        ...

    def read(self, owner: str, sha256: str) -> Iterator[bytes]:
        """The blob's bytes in chunks."""
        ...

    def delete_owner(self, owner: str) -> None:
        """Delete every blob of ``owner``."""
        ...

    def count(self, owner: str) -> int:
        """How many blobs ``owner`` has in the store (for checks and tests)."""
        ...

    def entries(self) -> Iterator[StoredBlob]:
        """Every file in the store, grouped by owner."""
        ...

    def modified(self, entry: StoredBlob) -> datetime | None:
        """When ``entry`` was last written now (``None``: it is gone)."""
        ...

    def remove(self, entry: StoredBlob) -> None:
        """Delete one file (gone already: fine)."""
        ...


class LocalBlobStore:
    """Blobs as files: ``<root>/<owner>/<sha[:2]>/<sha>``, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, owner: str, sha256: str) -> Path:
        return self.root / owner / sha256[:2] / sha256

    def put(self, owner: str, sha256: str, source: Path) -> None:
        target = self._path(owner, sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{sha256}.{secrets.token_hex(8)}.tmp")
        shutil.copyfile(source, tmp)
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)

    def read(self, owner: str, sha256: str) -> Iterator[bytes]:
        with self._path(owner, sha256).open("rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    def delete_owner(self, owner: str) -> None:
        shutil.rmtree(self.root / owner, ignore_errors=True)

    def count(self, owner: str) -> int:
        folder = self.root / owner
        if not folder.exists():
            return 0
        return sum(1 for path in folder.rglob("*") if path.is_file())

    def entries(self) -> Iterator[StoredBlob]:
        if not self.root.is_dir():
            return
        for owner_dir in sorted(self.root.iterdir()):
            if not owner_dir.is_dir():
                continue
            for path in sorted(owner_dir.rglob("*")):
                if not path.is_file():
                    continue
                modified = self._mtime(path)
                if modified is None:
                    continue
                sha = path.name if SHA256.match(path.name) else None
                yield StoredBlob(owner_dir.name, sha, str(path.relative_to(owner_dir)), modified)

    @staticmethod
    def _mtime(path: Path) -> datetime | None:
        try:
            return datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except FileNotFoundError:
            return None

    def modified(self, entry: StoredBlob) -> datetime | None:
        return self._mtime(self.root / entry.owner / entry.name)

    def remove(self, entry: StoredBlob) -> None:
        path = self.root / entry.owner / entry.name
        path.unlink(missing_ok=True)
        # Empty folders go with their last file.
        for folder in (path.parent, self.root / entry.owner):
            if folder != self.root and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


class S3BlobStore:
    """Blobs as objects ``<prefix><owner>/<sha256>`` in an S3-compatible bucket."""

    def __init__(self, bucket: str, endpoint_url: str | None, prefix: str = "") -> None:
        import boto3  # type: ignore[import-untyped]

        self.bucket = bucket
        self.prefix = prefix
        self._client: Any = boto3.client("s3", endpoint_url=endpoint_url)

    def _key(self, owner: str, sha256: str) -> str:
        return f"{self.prefix}{owner}/{sha256}"

    def put(self, owner: str, sha256: str, source: Path) -> None:
        self._client.upload_file(str(source), self.bucket, self._key(owner, sha256))

    def read(self, owner: str, sha256: str) -> Iterator[bytes]:
        body = self._client.get_object(Bucket=self.bucket, Key=self._key(owner, sha256))["Body"]
        try:
            while chunk := body.read(CHUNK):
                yield chunk
        finally:
            body.close()

    def _keys(self, owner: str) -> Iterator[str]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}{owner}/"
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield str(item["Key"])

    def delete_owner(self, owner: str) -> None:
        keys = list(self._keys(owner))
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})

    def count(self, owner: str) -> int:
        return sum(1 for _ in self._keys(owner))

    def entries(self) -> Iterator[StoredBlob]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                owner, _, name = str(item["Key"])[len(self.prefix) :].partition("/")
                if not owner or not name:
                    continue
                sha = name if SHA256.match(name) else None
                yield StoredBlob(owner, sha, name, item["LastModified"].astimezone(UTC))

    def modified(self, entry: StoredBlob) -> datetime | None:
        try:
            head = self._client.head_object(
                Bucket=self.bucket, Key=f"{self.prefix}{entry.owner}/{entry.name}"
            )
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return None
            raise
        modified: datetime = head["LastModified"].astimezone(UTC)
        return modified

    def remove(self, entry: StoredBlob) -> None:
        self._client.delete_object(
            Bucket=self.bucket, Key=f"{self.prefix}{entry.owner}/{entry.name}"
        )


def open_blob_store(settings: Settings) -> BlobStore:
    if settings.s3_bucket:
        return S3BlobStore(settings.s3_bucket, settings.s3_endpoint_url, settings.s3_prefix)
    return LocalBlobStore(settings.blob_dir)
