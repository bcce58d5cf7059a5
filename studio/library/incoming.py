"""What the library accepts from elsewhere: a version received from the account service.

A synced version names folders and files on this disk (its uid is a cache folder, its
companions are paths beside the main file), so everything it names is checked before it is
downloaded or stored: the sync skips a version that fails (with a note), and the library
refuses it again on insert, so no caller can store what the cache could not safely write.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from studio.library.store import is_sha256
from studio.meshes.scene import MeshFormat
from studio.safe_paths import relpath_problem

#: Uids name cache folders: letters, digits, ``_`` and ``-`` only (this library makes uuid hex).
_UID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_FILENAME_LENGTH = 255
#: Version numbers are SQLite integers here and 32-bit on some servers.
MAX_VERSION_NUMBER = 2**31 - 1


def uid_problem(uid: str) -> str | None:
    """Why ``uid`` can't name a model or version here, as a short phrase; ``None`` if it can."""
    if not _UID.fullmatch(uid):
        return "its identifier is not one this library can use as a folder name"
    return None


def format_problem(fmt: str) -> str | None:
    try:
        MeshFormat(fmt)
    except ValueError:
        return f"its format “{fmt[:40]}” is not one this version of Kiln Studio can open"
    return None


def time_problem(value: datetime) -> str | None:
    if value.tzinfo is None or value.utcoffset() is None:
        return "its date has no time zone"
    try:
        value.astimezone(UTC)
    except OverflowError:
        return "its date is out of range"
    return None


def version_problem(
    *,
    uid: str,
    model_uid: str,
    number: int,
    sha256: str,
    filename: str,
    format: str,
    companions: Sequence[tuple[str, str]],
    thumbnail_sha: str | None,
    created_at: datetime,
) -> str | None:
    """Why a received version can't be kept, as a short phrase; ``None`` when it can."""
    for problem in (uid_problem(uid), uid_problem(model_uid), format_problem(format)):
        if problem is not None:
            return problem
    if not 1 <= number <= MAX_VERSION_NUMBER:
        return f"its number {number} is out of range"
    problem = time_problem(created_at)
    if problem is not None:
        return problem
    if not filename or len(filename) > MAX_FILENAME_LENGTH:
        return "its file name is empty or too long"
    if not is_sha256(sha256) or (thumbnail_sha is not None and not is_sha256(thumbnail_sha)):
        return "it names a file by something that is not a checksum"
    seen: set[str] = set()
    for relpath, sha in companions:
        problem = relpath_problem(relpath)
        if problem is not None:
            return f"its companion file “{relpath[:80]}” has an unsafe path ({problem})"
        if relpath in seen:
            return f"it lists the companion file “{relpath}” twice"
        if relpath == filename:
            return f"its companion file “{relpath}” has the main file's name"
        if not is_sha256(sha):
            return "it names a file by something that is not a checksum"
        seen.add(relpath)
    return None
