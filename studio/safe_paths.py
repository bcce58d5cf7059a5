"""Relative paths that come from outside: a model's companion files (textures, MTL files).

A companion's ``relpath`` travels from an import, through the library's database, to the account
service and back to another device, where the library writes the file beside the model. Every
hop checks it with :func:`relpath_problem`, and every write checks its final target with
:func:`inside`, so no path a file, a server or a token sends can land outside its folder.

The rules are those of the most restrictive file system a designer might sync to (Windows): a
path is relative, written with forward slashes, in Unicode NFC, has no ``.``/``..``/empty part,
no drive, no colon, no control character, no part ending in a dot or a space and no reserved
device name (``CON``, ``NUL``, ``COM1``…).
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path, PurePosixPath

#: The longest companion path accepted anywhere (the database column holds 500).
MAX_RELPATH_LENGTH = 400
#: The longest single part of a path (most file systems allow 255 bytes).
MAX_PART_LENGTH = 200

_RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)
_FORBIDDEN_CHARACTERS = frozenset('\\:*?"<>|')


def relpath_problem(relpath: str) -> str | None:
    """Why ``relpath`` is not a safe companion path, as a short phrase; ``None`` when it is."""
    if not relpath:
        return "it is empty"
    if len(relpath) > MAX_RELPATH_LENGTH:
        return f"it is longer than {MAX_RELPATH_LENGTH} characters"
    if unicodedata.normalize("NFC", relpath) != relpath:
        return "it is not in Unicode normal form C"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in relpath):
        return "it holds a control character"
    if any(ch in _FORBIDDEN_CHARACTERS for ch in relpath):
        return "it holds a backslash, a colon or another character Windows forbids"
    if relpath.startswith("/"):
        return "it is absolute"
    parts = relpath.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            return "it has an empty, “.” or “..” part"
        if len(part) > MAX_PART_LENGTH:
            return f"a part is longer than {MAX_PART_LENGTH} characters"
        if part.endswith((".", " ")):
            return "a part ends in a dot or a space"
        if part.split(".", 1)[0].upper() in _RESERVED_NAMES:
            return "a part is a reserved device name"
    return None


def is_safe_relpath(relpath: str) -> bool:
    return relpath_problem(relpath) is None


def inside(root: Path, relpath: str) -> Path:
    """``root / relpath`` after checking the path and that, resolved, it stays under ``root``.

    Raises :class:`ValueError` when it would not (a bad path, or a symbolic link on the way that
    points out of ``root``).
    """
    problem = relpath_problem(relpath)
    if problem is not None:
        raise ValueError(f"not a safe relative path ({problem}): {relpath!r}")
    base = Path(os.path.realpath(root))
    target = Path(os.path.realpath(base.joinpath(*PurePosixPath(relpath).parts)))
    if target == base or not target.is_relative_to(base):
        raise ValueError(f"the path leaves its folder: {relpath!r}")
    return target
