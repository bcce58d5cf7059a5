"""Generation rows: create, change and read them inside the library's transactions.

The facade methods on :class:`studio.library.Library` wrap these; :mod:`studio.jobs`
drives the status from ``requested`` to a finished state.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from studio.library.errors import LibraryError
from studio.library.records import (
    FINISHED_STATUSES,
    GenerationImageRecord,
    GenerationRecord,
)
from studio.library.schema import Generation, GenerationImage, Model, utcnow

STATUSES = (
    frozenset({"requested", "submitting", "queued", "running", "downloading", "importing"})
    | FINISHED_STATUSES
)

#: Longest name kept for a generation's model (the column's size).
NAME_LENGTH = 200

#: Fields a job may change; progress only ever grows.
UPDATABLE = frozenset(
    {
        "status",
        "stage",
        "provider_task_id",
        "raw_status",
        "progress",
        "error",
        "credits_held",
        "credits_charged",
        "hold_id",
        "model_id",
        "submitted_at",
    }
)


def create(
    session: Session,
    *,
    provider: str,
    kind: str,
    quality: str,
    prompt: str,
    model_id: int | None,
    images: Sequence[tuple[str, str, str]],
    name: str = "",
) -> Generation:
    """Insert a ``requested`` generation; ``images`` are ``(slot, sha256, filename)``."""
    if model_id is not None and session.get(Model, model_id) is None:
        raise LibraryError(f"There is no model with id {model_id}.")
    now = utcnow()
    generation = Generation(
        uid=uuid.uuid4().hex,
        provider=provider,
        kind=kind,
        quality=quality,
        prompt=prompt,
        name=name.strip()[:NAME_LENGTH] or None,
        model_id=model_id,
        status="requested",
        stage="",
        raw_status="",
        progress=0,
        created_at=now,
        updated_at=now,
    )
    session.add(generation)
    session.flush()
    session.add_all(
        GenerationImage(generation_id=generation.id, slot=slot, sha256=sha, filename=name)
        for slot, sha, name in images
    )
    session.flush()
    return generation


def get(session: Session, generation_id: int) -> Generation:
    generation = session.get(Generation, generation_id)
    if generation is None:
        raise LibraryError(f"There is no generation with id {generation_id}.")
    return generation


def update(session: Session, generation: Generation, changes: dict[str, Any]) -> None:
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise ValueError(f"generation fields not updatable: {sorted(unknown)}")
    if "status" in changes and changes["status"] not in STATUSES:
        raise ValueError(f"unknown generation status {changes['status']!r}")
    if generation.status in FINISHED_STATUSES and changes.get("status", generation.status) != (
        generation.status
    ):
        raise LibraryError("This generation has already finished.")
    for name, value in changes.items():
        if name == "progress":
            # Progress shown to the designer never goes backwards.
            value = max(generation.progress, min(100, max(0, int(value))))
        setattr(generation, name, value)
    now = utcnow()
    generation.updated_at = now
    if generation.status in FINISHED_STATUSES and generation.finished_at is None:
        generation.finished_at = now


def records(session: Session, generations: Sequence[Generation]) -> list[GenerationRecord]:
    ids = [g.id for g in generations]
    images: dict[int, list[GenerationImageRecord]] = {}
    if ids:
        rows = session.scalars(
            select(GenerationImage)
            .where(GenerationImage.generation_id.in_(ids))
            .order_by(GenerationImage.generation_id, GenerationImage.slot)
        ).all()
        for row in rows:
            images.setdefault(row.generation_id, []).append(
                GenerationImageRecord(row.slot, row.sha256, row.filename)
            )
    return [
        GenerationRecord(
            id=g.id,
            uid=g.uid,
            provider=g.provider,
            kind=g.kind,
            quality=g.quality,
            prompt=g.prompt,
            model_id=g.model_id,
            status=g.status,
            stage=g.stage,
            provider_task_id=g.provider_task_id,
            raw_status=g.raw_status,
            progress=g.progress,
            error=g.error,
            credits_held=g.credits_held,
            credits_charged=g.credits_charged,
            hold_id=g.hold_id,
            result_version_id=g.result_version_id,
            created_at=g.created_at,
            updated_at=g.updated_at,
            submitted_at=g.submitted_at,
            finished_at=g.finished_at,
            images=tuple(_slot_order(images.get(g.id, []))),
            name=g.name or "",
        )
        for g in generations
    ]


def _slot_order(images: list[GenerationImageRecord]) -> list[GenerationImageRecord]:
    order = {"image": 0, "front": 1, "left": 2, "back": 3, "right": 4}
    return sorted(images, key=lambda i: order.get(i.slot, 9))
