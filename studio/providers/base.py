"""One vocabulary for every provider: what is asked, how a task stands, and the protocol.

Clients (:mod:`studio.providers.meshy`, :mod:`studio.providers.tripo`) translate their
wire formats into these types; :mod:`studio.jobs` only ever sees these.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from studio.providers.errors import BadInputError
from studio.work import NEVER_CANCELLED, CancelToken, Progress, no_progress

#: Image types both providers accept.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
VIEW_NAMES = ("front", "left", "back", "right")


class GenerationKind(enum.Enum):
    TEXT = "text"
    IMAGE = "image"
    MULTIVIEW = "multiview"


class Quality(enum.Enum):
    STANDARD = "standard"
    ULTRA = "ultra"


class TaskStatus(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def finished(self) -> bool:
        return self not in (TaskStatus.QUEUED, TaskStatus.RUNNING)


@dataclass(frozen=True)
class GenerationRequest:
    """What the designer asked for.

    ``images`` holds one path for an image request; for multi-view, the four slots
    front, left, back, right in that order, ``None`` for a missing view (front required,
    at least two views).
    """

    kind: GenerationKind
    prompt: str = ""
    images: tuple[Path | None, ...] = ()
    quality: Quality = Quality.STANDARD

    def check(self, *, max_prompt: int) -> None:
        """Raise :class:`BadInputError` with a plain sentence when the request can't go out."""
        if self.kind is GenerationKind.TEXT:
            text = self.prompt.strip()
            if not text:
                raise BadInputError("Describe the model you want first.")
            if len(text) > max_prompt:
                raise BadInputError(
                    f"The description is {len(text)} characters long; "
                    f"the limit is {max_prompt}. Shorten it and try again."
                )
            return
        given = [p for p in self.images if p is not None]
        if self.kind is GenerationKind.IMAGE and len(given) != 1:
            raise BadInputError("Drop one photo or picture to generate from.")
        if self.kind is GenerationKind.MULTIVIEW:
            if len(self.images) != 4 or self.images[0] is None:
                raise BadInputError("Multi-view needs a front view.")
            if len(given) < 2:
                raise BadInputError("Multi-view needs the front and at least one more view.")
        for path in given:
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                raise BadInputError(
                    f"“{path.name}” is not a PNG, JPEG or WebP picture. Use one of those."
                )
            if not path.is_file():
                raise BadInputError(f"“{path.name}” can't be found any more.")


@dataclass(frozen=True)
class TaskOutput:
    """A file a finished task offers: ``kind`` is "model", "preview" or "texture"."""

    kind: str
    format: str  # "glb", "obj", "fbx", "usdz", "stl", "png", "jpg", ...
    url: str
    name: str = ""


@dataclass(frozen=True)
class ProviderTask:
    """How a task stands, in the shared vocabulary (the provider's own status kept too)."""

    provider: str
    task_id: str
    status: TaskStatus
    progress: int  # 0..100
    raw_status: str
    outputs: tuple[TaskOutput, ...] = ()
    error: str | None = None
    credits_used: int | None = None
    #: For chained work (Meshy ultra: "preview" then "refine"); empty otherwise.
    stage: str = ""

    @property
    def models(self) -> list[TaskOutput]:
        """Model outputs, GLB first."""
        found = [o for o in self.outputs if o.kind == "model"]
        return sorted(found, key=lambda o: o.format != "glb")

    @property
    def preview(self) -> TaskOutput | None:
        return next((o for o in self.outputs if o.kind == "preview"), None)


@dataclass(frozen=True)
class Balance:
    credits: float
    #: Credits reserved by running tasks, where the provider says (Tripo's "frozen").
    reserved: float | None = None
    extra: dict[str, float] = field(default_factory=dict)


class Provider(Protocol):
    """A cloud generation service, reached with the designer's own key."""

    #: "meshy" or "tripo".
    name: str
    #: Longest prompt the provider accepts.
    max_prompt: int

    def submit(self, request: GenerationRequest) -> ProviderTask:
        """Create the task. Never retried on an ambiguous failure (raises
        :class:`~studio.providers.errors.AmbiguousSubmissionError` instead)."""
        ...

    def poll(self, task_id: str) -> ProviderTask:
        """The task's current state (reads are retried with backoff)."""
        ...

    def advance(self, task: ProviderTask, request: GenerationRequest) -> ProviderTask:
        """Start the next stage of chained work once a stage succeeded (Meshy ultra's
        refine); returns ``task`` unchanged when there is nothing to chain. Idempotent:
        a stage already started for this task is found, not started twice."""
        ...

    def cancel(self, task_id: str) -> bool:
        """Ask the provider to stop; ``False`` when it has no way to (Tripo)."""
        ...

    def download(
        self,
        output: TaskOutput,
        dest: Path,
        *,
        progress: Progress = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> Path:
        """Stream ``output`` to ``dest`` (no credentials sent to the file host)."""
        ...

    def balance(self) -> Balance:
        """The provider account's credits; also how "Test key" checks a key."""
        ...

    def find_submitted(self, request: GenerationRequest, since: float) -> ProviderTask | None:
        """After an ambiguous create, the task it may have made (created after ``since``,
        a Unix time), or ``None`` when the provider can't tell or nothing was made."""
        ...


def view_slots(images: Sequence[Path | None]) -> dict[str, Path]:
    """The given views by name: {"front": ..., "back": ...}."""
    return {name: path for name, path in zip(VIEW_NAMES, images, strict=False) if path is not None}
