"""Models and versions synced across a user's devices, and the change feed.

Every change takes the next value of the user's ``revision`` counter (under the user's
lock) and stamps it on what changed: ``rev`` (created or renamed), ``active_rev`` (active
version changed) or ``deleted_rev`` (tombstone). The feed returns what is stamped after the
client's cursor. Deletions are tombstones: uids are never reused, and version numbers per
model never repeat, even after a delete.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from account_api.errors import ApiError, not_found
from account_api.tables import BlobRow, ModelRow, UserRow, VersionRow
from studio.account import schema

log = logging.getLogger("account_api")


def _bump(user: UserRow) -> int:
    user.revision += 1
    return user.revision


def model_out(model: ModelRow) -> schema.Model:
    return schema.Model(
        uid=model.uid,
        name=model.name,
        created_at=model.created_at,
        active_version_uid=model.active_version_uid,
        active_revision=model.active_revision,
        revision=model.rev,
    )


def _safe_companions(version: VersionRow) -> list[schema.Companion]:
    """The stored companions that pass today's rules: one stored before the rules existed
    (``../x``) is left out of every answer instead of breaking the whole feed."""
    companions = []
    for stored in version.companions:
        try:
            companions.append(schema.Companion.model_validate(stored))
        except ValidationError:
            log.warning("version %s: a companion with an unsafe path is not sent", version.id)
    return companions


def _bounded(version: VersionRow, value: dict[str, Any], what: str) -> dict[str, Any]:
    """``value`` if it is within today's JSON limits, else ``{}`` (stored before them)."""
    try:
        return dict(schema.bounded_json(dict(value)))
    except (ValueError, TypeError):
        log.warning("version %s: its %s is over the limits and is not sent", version.id, what)
        return {}


def version_out(version: VersionRow, model_uid: str) -> schema.Version:
    return schema.Version(
        uid=version.uid,
        model_uid=model_uid,
        number=version.number,
        sha256=version.sha256,
        filename=version.filename,
        format=version.format,
        companions=_safe_companions(version),
        thumbnail_sha=version.thumbnail_sha,
        source=_bounded(version, version.source, "source"),
        stats=_bounded(version, version.stats, "stats"),
        created_at=version.created_at,
        revision=version.rev,
    )


def active_out(model: ModelRow) -> schema.ActiveState:
    return schema.ActiveState(
        model_uid=model.uid,
        active_version_uid=model.active_version_uid,
        active_revision=model.active_revision,
        revision=model.active_rev,
    )


def find_model(session: Session, user: UserRow, uid: str) -> ModelRow:
    """The user's live model ``uid`` (a 404 for unknown, deleted, or someone else's)."""
    model = session.scalars(
        select(ModelRow).where(ModelRow.user_id == user.id, ModelRow.uid == uid)
    ).one_or_none()
    if model is None or model.deleted_at is not None:
        raise not_found("model")
    return model


def find_version(session: Session, user: UserRow, model: ModelRow, uid: str) -> VersionRow:
    version = session.scalars(
        select(VersionRow).where(
            VersionRow.user_id == user.id,
            VersionRow.model_id == model.id,
            VersionRow.uid == uid,
        )
    ).one_or_none()
    if version is None or version.deleted_at is not None:
        raise not_found("version")
    return version


def live_versions(session: Session, model: ModelRow) -> list[VersionRow]:
    return list(
        session.scalars(
            select(VersionRow)
            .where(VersionRow.model_id == model.id, VersionRow.deleted_at.is_(None))
            .order_by(VersionRow.number)
        )
    )


def create_model(
    session: Session, user: UserRow, body: schema.ModelCreate, now: datetime
) -> tuple[ModelRow, bool]:
    existing = session.scalars(
        select(ModelRow).where(ModelRow.user_id == user.id, ModelRow.uid == body.uid)
    ).one_or_none()
    if existing is not None:
        if existing.deleted_at is not None:
            raise ApiError(409, "This model was deleted; its id cannot be used again.")
        return existing, False
    rev = _bump(user)
    model = ModelRow(
        user_id=user.id,
        uid=body.uid,
        name=body.name,
        created_at=now,
        active_version_uid=None,
        active_revision=0,
        rev=rev,
        active_rev=rev,
        deleted_at=None,
        deleted_rev=None,
    )
    session.add(model)
    session.flush()
    return model, True


def rename_model(session: Session, user: UserRow, uid: str, name: str) -> ModelRow:
    model = find_model(session, user, uid)
    if model.name != name:
        model.name = name
        model.rev = _bump(user)
    return model


def _missing_blobs(session: Session, user: UserRow, shas: Iterable[str]) -> list[str]:
    wanted = sorted(set(shas))
    present = set(
        session.scalars(
            select(BlobRow.sha256).where(BlobRow.user_id == user.id, BlobRow.sha256.in_(wanted))
        )
    )
    return [sha for sha in wanted if sha not in present]


def create_version(
    session: Session, user: UserRow, model_uid: str, body: schema.VersionCreate
) -> tuple[VersionRow, bool]:
    """Add a version (idempotent by uid); the model's first version becomes active."""
    model = find_model(session, user, model_uid)
    existing = session.scalars(
        select(VersionRow).where(VersionRow.user_id == user.id, VersionRow.uid == body.uid)
    ).one_or_none()
    if existing is not None:
        if existing.model_id != model.id:
            raise ApiError(409, "A version with this id belongs to another model.")
        if existing.deleted_at is not None:
            raise ApiError(409, "This version was deleted; its id cannot be used again.")
        return existing, False
    taken = session.scalars(
        select(VersionRow.id).where(
            VersionRow.model_id == model.id, VersionRow.number == body.number
        )
    ).first()
    if taken is not None:
        raise ApiError(409, f"This model already has (or had) a version {body.number}.")
    shas = [body.sha256, *(c.sha256 for c in body.companions)]
    if body.thumbnail_sha:
        shas.append(body.thumbnail_sha)
    missing = _missing_blobs(session, user, shas)
    if missing:
        raise ApiError(
            409,
            schema.MissingBlobs(
                message=f"Upload the version's files first: {len(missing)} missing.",
                missing=missing,
            ).model_dump(),
        )
    rev = _bump(user)
    version = VersionRow(
        user_id=user.id,
        model_id=model.id,
        uid=body.uid,
        number=body.number,
        sha256=body.sha256,
        filename=body.filename,
        format=body.format,
        companions=[c.model_dump() for c in body.companions],
        thumbnail_sha=body.thumbnail_sha,
        source=body.source,
        stats=body.stats,
        created_at=body.created_at,
        rev=rev,
        deleted_at=None,
        deleted_rev=None,
    )
    session.add(version)
    if model.active_version_uid is None:
        model.active_version_uid = version.uid
        model.active_revision += 1
        model.active_rev = rev
    session.flush()
    return version, True


def set_active(
    session: Session, user: UserRow, model_uid: str, body: schema.SetActiveRequest
) -> ModelRow:
    """Make ``version_uid`` active if ``base_revision`` is current (asking for the version
    that is already active always succeeds, without a new revision)."""
    model = find_model(session, user, model_uid)
    version = find_version(session, user, model, body.version_uid)
    if model.active_version_uid == version.uid:
        return model
    if body.base_revision != model.active_revision:
        raise ApiError(
            409,
            schema.ActiveConflict(
                message="The active version was changed on another device.",
                active_version_uid=model.active_version_uid,
                active_revision=model.active_revision,
            ).model_dump(),
        )
    model.active_version_uid = version.uid
    model.active_revision += 1
    model.active_rev = _bump(user)
    return model


def delete_model(session: Session, user: UserRow, uid: str, now: datetime) -> None:
    """Tombstone the model (deleting a deleted model is a no-op; unknown is a 404)."""
    model = session.scalars(
        select(ModelRow).where(ModelRow.user_id == user.id, ModelRow.uid == uid)
    ).one_or_none()
    if model is None:
        raise not_found("model")
    if model.deleted_at is None:
        model.deleted_at = now
        model.deleted_rev = _bump(user)


def delete_version(
    session: Session, user: UserRow, model_uid: str, uid: str, now: datetime
) -> ModelRow:
    """Tombstone a version; the newest remaining one becomes active if it was active."""
    model = find_model(session, user, model_uid)
    version = session.scalars(
        select(VersionRow).where(
            VersionRow.user_id == user.id, VersionRow.model_id == model.id, VersionRow.uid == uid
        )
    ).one_or_none()
    if version is None:
        raise not_found("version")
    if version.deleted_at is not None:
        return model
    others = [v for v in live_versions(session, model) if v.id != version.id]
    if not others:
        raise ApiError(409, "This is the model's only version: delete the model instead.")
    rev = _bump(user)
    version.deleted_at = now
    version.deleted_rev = rev
    if model.active_version_uid == version.uid:
        model.active_version_uid = max(others, key=lambda v: v.number).uid
        model.active_revision += 1
        model.active_rev = rev
    return model


def feed(session: Session, user: UserRow, since: int) -> schema.SyncFeed:
    """Everything after ``since``. The cursor is read first: a row committed meanwhile is
    sent now *and* next time (harmless), never skipped."""
    cursor = user.revision
    models = session.scalars(
        select(ModelRow)
        .where(
            ModelRow.user_id == user.id,
            or_(ModelRow.rev > since, ModelRow.active_rev > since, ModelRow.deleted_rev > since),
        )
        .order_by(ModelRow.rev)
    ).all()
    live = [m for m in models if m.deleted_at is None]
    versions = session.execute(
        select(VersionRow, ModelRow.uid, ModelRow.deleted_at)
        .join(ModelRow, ModelRow.id == VersionRow.model_id)
        .where(
            VersionRow.user_id == user.id,
            or_(VersionRow.rev > since, VersionRow.deleted_rev > since),
        )
        .order_by(VersionRow.rev)
    ).all()
    tombstones = [
        schema.Tombstone(
            kind="model",
            uid=m.uid,
            model_uid=m.uid,
            deleted_at=m.deleted_at,
            revision=m.deleted_rev or 0,
        )
        for m in models
        if m.deleted_at is not None and (m.deleted_rev or 0) > since
    ]
    live_versions_out = []
    for version, model_uid, model_deleted in versions:
        if model_deleted is not None:
            continue  # the model's tombstone covers its versions
        if version.deleted_at is not None:
            tombstones.append(
                schema.Tombstone(
                    kind="version",
                    uid=version.uid,
                    model_uid=model_uid,
                    deleted_at=version.deleted_at,
                    revision=version.deleted_rev or 0,
                )
            )
        else:
            live_versions_out.append(version_out(version, model_uid))
    tombstones.sort(key=lambda t: t.revision)
    return schema.SyncFeed(
        cursor=cursor,
        models=[model_out(m) for m in live if m.rev > since],
        versions=live_versions_out,
        active=[active_out(m) for m in live if m.active_rev > since],
        tombstones=tombstones,
    )
