"""What a format reader is asked to do: which file, within which limits, reporting how."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from studio.meshes.errors import file_label
from studio.meshes.limits import Limits
from studio.work import NEVER_CANCELLED, CancelToken, Progress, no_progress


@dataclass
class ReadRequest:
    """One load of one file; readers append plain sentences to ``notes``."""

    path: Path
    limits: Limits = field(default_factory=Limits)
    progress: Progress = no_progress
    cancel: CancelToken = NEVER_CANCELLED
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The file's name for messages."""
        return file_label(self.path)
