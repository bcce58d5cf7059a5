"""The content-addressed blob store: every model file, image and thumbnail, by sha256.

A blob lives at ``blobs/ab/<sha256>`` (no extension; the database knows the name).
Writing is crash-safe: the bytes go to a temp file in ``tmp/`` (same filesystem), are
flushed and fsynced, then renamed into place and the folder is fsynced. Only then may a
database row name the blob, so a crash leaves at worst an unreferenced blob or temp file,
which :meth:`studio.library.Library.sweep` removes.

Blobs are never changed once stored; on POSIX they are made read-only, which also protects
them through the hard links of the materialised cache.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import stat
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from studio.atomic import fsync_dir
from studio.library.errors import LibraryError
from studio.library.faults import BLOB_WRITTEN, crash_point
from studio.work import NEVER_CANCELLED, CancelToken

CHUNK_SIZE = 1024 * 1024
TEMP_SUFFIX = ".part"
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_DISK_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def is_sha256(text: str) -> bool:
    """True when ``text`` looks like a lowercase hex sha256 (what blob names are)."""
    return bool(_SHA_RE.match(text))


def disk_full_error(label: str) -> LibraryError:
    return LibraryError(
        f"The disk is full: could not store “{label}” in the library. "
        "Free some space and try again."
    )


def describe_os_error(exc: OSError, path: Path) -> str:
    """One plain sentence for an OSError met while reading a file the designer chose."""
    if isinstance(exc, FileNotFoundError):
        return f"“{path.name}” no longer exists."
    if isinstance(exc, PermissionError):
        return f"“{path.name}” cannot be read: permission denied."
    if isinstance(exc, IsADirectoryError):
        return f"“{path.name}” is a folder, not a file."
    return f"“{path.name}” cannot be read: {exc.strerror or exc}."


@dataclass(frozen=True)
class StoredBlob:
    """The outcome of putting bytes into the store."""

    sha256: str
    size: int
    #: True when this call added the blob; False when the store already had it.
    created: bool


class BlobStore:
    """Blobs under ``<data_dir>/blobs``, temp files under ``<data_dir>/tmp``.

    Parameters
    ----------
    data_dir
        The library's folder; ``blobs/`` and ``tmp/`` are created inside it.
    """

    def __init__(self, data_dir: Path) -> None:
        self.blobs_dir = data_dir / "blobs"
        self.tmp_dir = data_dir / "tmp"
        self.blobs_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    # -- reading -----------------------------------------------------------------------

    def path(self, sha256: str) -> Path:
        """Where the blob ``sha256`` lives (whether or not it exists)."""
        if not is_sha256(sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return self.blobs_dir / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def shas(self) -> Iterator[str]:
        """Every blob in the store (stray files that aren't named by a sha are skipped)."""
        for shard in self.blobs_dir.iterdir():
            if not shard.is_dir():
                continue
            for entry in shard.iterdir():
                if is_sha256(entry.name) and entry.name[:2] == shard.name:
                    yield entry.name

    # -- writing -----------------------------------------------------------------------

    @staticmethod
    def write_chunk(fh: BinaryIO, data: bytes) -> None:
        """The one place bytes reach the disk (tests replace it to simulate a full disk)."""
        fh.write(data)

    def put_file(
        self,
        source: Path,
        *,
        cancel: CancelToken = NEVER_CANCELLED,
        on_bytes: Callable[[int], None] | None = None,
    ) -> StoredBlob:
        """Copy ``source`` into the store, hashing it on the way.

        Parameters
        ----------
        source
            The file to copy.
        cancel
            Checked between chunks; a cancelled copy leaves nothing behind.
        on_bytes
            Called with the running byte count after each chunk.

        Raises
        ------
        LibraryError
            The file can't be read, or the disk is full.
        """
        try:
            fh = source.open("rb")
        except OSError as exc:
            raise LibraryError(describe_os_error(exc, source)) from exc
        with fh:
            return self._store(_chunks(fh, source), source.name, cancel=cancel, on_bytes=on_bytes)

    def put_bytes(self, data: bytes, *, label: str = "a file") -> StoredBlob:
        """Store ``data``; ``label`` names it in error messages."""
        chunks = (data[i : i + CHUNK_SIZE] for i in range(0, max(len(data), 1), CHUNK_SIZE))
        return self._store(chunks, label)

    def _store(
        self,
        chunks: Iterable[bytes],
        label: str,
        *,
        cancel: CancelToken = NEVER_CANCELLED,
        on_bytes: Callable[[int], None] | None = None,
    ) -> StoredBlob:
        temp = self.new_temp_path()
        digest = hashlib.sha256()
        size = 0
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            with os.fdopen(os.open(temp, flags, 0o644), "wb") as out:
                for chunk in chunks:
                    cancel.raise_if_cancelled()
                    digest.update(chunk)
                    self.write_chunk(out, chunk)
                    size += len(chunk)
                    if on_bytes is not None:
                        on_bytes(size)
                out.flush()
                os.fsync(out.fileno())
            crash_point(BLOB_WRITTEN)
            sha = digest.hexdigest()
            return StoredBlob(sha, size, self._move_into_place(temp, sha, size))
        except OSError as exc:
            temp.unlink(missing_ok=True)
            if exc.errno in _DISK_FULL_ERRNOS:
                raise disk_full_error(label) from exc
            raise
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def _move_into_place(self, temp: Path, sha: str, size: int) -> bool:
        target = self.path(sha)
        with contextlib.suppress(FileNotFoundError):
            if target.stat().st_size == size:
                # Already stored (same content): keep the existing file and its links.
                temp.unlink()
                return False
            # A damaged blob (wrong size) is replaced by the good bytes.
            _make_writable(target)
        if not target.parent.is_dir():
            target.parent.mkdir(exist_ok=True)
            fsync_dir(self.blobs_dir)
        if os.name != "nt":
            os.chmod(temp, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        os.replace(temp, target)
        fsync_dir(target.parent)
        return True

    def delete(self, sha256: str) -> bool:
        """Remove a blob; True when a file was removed. Only the library decides when."""
        target = self.path(sha256)
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        except PermissionError:
            # Windows refuses to delete read-only files.
            _make_writable(target)
            target.unlink()
        return True

    # -- temp files --------------------------------------------------------------------

    def new_temp_path(self, suffix: str = TEMP_SUFFIX) -> Path:
        """A fresh name in ``tmp/`` that says which process owns it (for the sweep)."""
        return self.tmp_dir / f"{os.getpid()}-{uuid.uuid4().hex}{suffix}"

    def stale_temp_files(self, max_age: float | None) -> list[Path]:
        """Temp entries left by a dead process, or older than ``max_age`` seconds.

        ``max_age=None`` leaves out the age test: only entries of dead processes are stale.
        """
        now = time.time()
        stale = []
        for entry in self.tmp_dir.iterdir():
            try:
                age = now - entry.lstat().st_mtime
            except FileNotFoundError:
                continue
            if (max_age is not None and age > max_age) or not _owner_alive(entry.name):
                stale.append(entry)
        return stale


def _chunks(fh: BinaryIO, source: Path) -> Iterator[bytes]:
    while True:
        try:
            chunk = fh.read(CHUNK_SIZE)
        except OSError as exc:
            raise LibraryError(describe_os_error(exc, source)) from exc
        if not chunk:
            return
        yield chunk


def _make_writable(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)


def _owner_alive(name: str) -> bool:
    """Whether the process whose pid starts a temp name still runs (unknown -> True)."""
    head = name.split("-", 1)[0]
    if not head.isdigit():
        return True
    pid = int(head)
    if pid == os.getpid():
        return True
    if os.name == "nt":
        # os.kill on Windows would terminate the process; rely on the age test there.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
