"""What the library hands to callers: frozen snapshots, never ORM objects or sessions.

A record is a copy taken when it was read; after a change, read it again (the library's
``changed`` signal says when).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from studio.meshes.scene import MeshFormat
from studio.meshes.units import Placement

ChangeKind = Literal[
    "model-added",
    "model-changed",
    "model-deleted",
    "version-added",
    "version-deleted",
    "version-restored",
    "model-restored",
    "placement-changed",
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
    #: The unit the file's numbers (and so ``stats``' bounds, dimensions, area, volume)
    #: are in: "mm", "cm", "m" or "in" ("um"/"ft" only when a 3MF declares them).
    unit: str = "mm"
    #: "Y" or "Z".
    up_axis: str = "Z"
    #: True unless the designer chose the unit (:meth:`Library.set_version_placement`).
    unit_is_default: bool = True
    #: True when nobody said which unit it is (an OBJ that declares none): ask once.
    unit_is_assumed: bool = False
    up_axis_is_default: bool = True

    @property
    def placement(self) -> Placement:
        """Unit and up axis together (see :func:`studio.meshes.units.placed_for`)."""
        return Placement(
            unit=self.unit,
            up_axis=self.up_axis,
            unit_is_default=self.unit_is_default,
            unit_is_assumed=self.unit_is_assumed,
            up_axis_is_default=self.up_axis_is_default,
        )


@dataclass(frozen=True)
class Deletion:
    """What :meth:`Library.delete_version` or ``delete_model`` did, to undo it with
    :meth:`Library.undo_delete` until the sweep removes it for good."""

    model_id: int
    model_uid: str
    #: The model's name when it was deleted.
    name: str
    #: The deleted version's number; None when the whole model was deleted.
    number: int | None
    version_uid: str | None
    deleted_at: datetime
    #: The model after a version's delete (its new active version); None for a model.
    model: ModelRecord | None

    @property
    def message(self) -> str:
        """One line for a status bar ("Deleted version 2 of “Vase”.")."""
        if self.number is None:
            return f"Deleted “{self.name}”."
        return f"Deleted version {self.number} of “{self.name}”."


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
