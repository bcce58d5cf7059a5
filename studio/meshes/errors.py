"""Expected failures while reading or writing a model file.

Every message is one or two plain sentences that name the file, so the UI can show it
as is. Parsers' own exceptions never reach the designer: loading turns them into a
:class:`MeshFormatError` and logs the original for us.
"""

from __future__ import annotations

from pathlib import Path

from studio.errors import KilnError


class MeshFormatError(KilnError):
    """A file is not a model we can open, or is damaged."""


class MeshLimitError(MeshFormatError):
    """A file is within the format but beyond a limit set in Settings (or simply too big)."""


def file_label(path: Path) -> str:
    """The file's name as it appears in messages: “vase.stl”."""
    return f"“{path.name}”"
