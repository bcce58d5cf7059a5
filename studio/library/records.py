"""What the library hands to callers: frozen snapshots, never ORM objects or sessions.

A record is a copy taken when it was read; after a change, read it again (the library's
``changed`` signal says when).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from studio.meshes.scene import MeshFormat

ChangeKind = Literal[
    "model-added",
    "model-changed",
    "model-deleted",
    "version-added",
    "version-deleted",
    "active-changed",
    "thumbnail-changed",
    "generation-changed",
]


@dataclass(frozen=True)
class CompanionRecord:
    """A file stored beside a version's main file (an MTL, a texture, a glTF buffer)."""

    #: Relative to the main file's folder, with forward slashes.
    relpath: str
    sha256: str
    file_size: int


@dataclass(frozen=True)
class VersionRecord:
    """One version of a model, as stored."""

    id: int
    uid: str
    model_id: int
    number: int
    is_active: bool
    #: The main file's original name ("vase.obj").
    filename: str
    format: MeshFormat
    file_size: int
    sha256: str
    #: Where it came from: ``{"kind": "import" | "generation" | "repair" | "regeneration", ...}``.
    source: dict[str, Any]
    #: :meth:`studio.meshes.MeshStats.to_dict` of the main file.
    stats: dict[str, Any]
    thumbnail_sha: str | None
    note: str
    created_at: datetime
    companions: tuple[CompanionRecord, ...] = ()


@dataclass(frozen=True)
class ModelRecord:
    """A model with a summary of its versions."""

    id: int
    uid: str
    name: str
    notes: str
    tags: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    active_version_id: int
    active_version_number: int
    version_count: int
    #: The active version's thumbnail, if it has one.
    thumbnail_sha: str | None


@dataclass(frozen=True)
class ImportResult:
    """What :meth:`studio.library.Library.import_file` and ``add_version`` did."""

    model: ModelRecord
    version: VersionRecord
    #: False when the same files were already a version of the model (nothing was added).
    created: bool
    #: Plain remarks for the designer (from loading the file, or "already in the library").
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LibraryChange:
    """Emitted by ``Library.changed`` after every committed write."""

    kind: ChangeKind
    model_id: int | None


#: Statuses after which a generation never changes again.
FINISHED_STATUSES = frozenset({"succeeded", "failed", "cancelled", "expired"})


@dataclass(frozen=True)
class GenerationImageRecord:
    slot: str  # "image", or "front" / "left" / "back" / "right"
    sha256: str
    filename: str


@dataclass(frozen=True)
class GenerationRecord:
    """One cloud generation as the library remembers it (see ``studio.jobs``)."""

    id: int
    uid: str
    provider: str
    kind: str
    quality: str
    prompt: str
    model_id: int | None
    status: str
    stage: str
    provider_task_id: str | None
    raw_status: str
    progress: int
    error: str | None
    credits_held: int | None
    credits_charged: int | None
    hold_id: str | None
    result_version_id: int | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    finished_at: datetime | None
    images: tuple[GenerationImageRecord, ...] = ()
    #: The name the designer chose for the new model ("": named from the prompt).
    name: str = ""

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES
