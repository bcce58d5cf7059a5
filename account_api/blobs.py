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
from pathlib import Path
from typing import Any, Protocol

from account_api.settings import Settings

SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1024 * 1024


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


def open_blob_store(settings: Settings) -> BlobStore:
    if settings.s3_bucket:
        return S3BlobStore(settings.s3_bucket, settings.s3_endpoint_url, settings.s3_prefix)
    return LocalBlobStore(settings.blob_dir)
