"""The local library: models, their numbered versions, and the files behind them.

Open it with :meth:`Library.open`; everything it returns is a frozen record.
"""

from __future__ import annotations

from studio.library.errors import LibraryError
from studio.library.library import DELETE_GRACE, KEEP, Library
from studio.library.records import (
    ChangeKind,
    CompanionRecord,
    Deletion,
    GenerationImageRecord,
    GenerationRecord,
    ImportResult,
    LibraryChange,
    ModelRecord,
    VersionRecord,
)

__all__ = [
    "DELETE_GRACE",
    "KEEP",
    "ChangeKind",
    "CompanionRecord",
    "Deletion",
    "GenerationImageRecord",
    "GenerationRecord",
    "ImportResult",
    "Library",
    "LibraryChange",
    "LibraryError",
    "ModelRecord",
    "VersionRecord",
]
