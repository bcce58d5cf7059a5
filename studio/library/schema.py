"""The library's tables, as SQLAlchemy 2 typed declarative classes.

These classes never leave :mod:`studio.library`: callers get the frozen records of
:mod:`studio.library.records`. The Alembic migrations under ``migrations/versions`` are
written by hand to match this module; a test checks that they agree.

"Active" has one source of truth, ``models.active_version_id``. A composite foreign key
``(models.id, models.active_version_id) -> versions(model_id, id)`` makes it impossible for
a model to point at no version or at another model's version. It is deferred to the commit,
so a model row and its first version can be inserted in one transaction, in either order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Named constraints: the hand-written migration uses the same names, and later batch
# migrations (SQLite rebuilds tables to alter them) need names to refer to.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SHA256_LENGTH = 64
UID_LENGTH = 32


def utcnow() -> datetime:
    """Now, timezone-aware UTC: the only kind of timestamp the library stores."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime, stored naive (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("library timestamps must be timezone-aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


model_tags = Table(
    "model_tags",
    Base.metadata,
    Column("model_id", ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_model_tags_tag_id", "tag_id"),
)


class Model(Base):
    """A thing the designer works on; its files live in its versions."""

    __tablename__ = "models"
    __table_args__ = (
        ForeignKeyConstraint(
            ["id", "active_version_id"],
            ["versions.model_id", "versions.id"],
            name="fk_models_active_version",
            deferrable=True,
            initially="DEFERRED",
            # The two tables point at each other; this breaks the cycle for create_all.
            use_alter=True,
        ),
        CheckConstraint("last_version_number >= 1", name="last_version_number_positive"),
    )

    # Explicit: being part of a foreign key would otherwise switch off autoincrement.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(UID_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    active_version_id: Mapped[int] = mapped_column(Integer)
    # The highest number ever given to a version of this model, so numbers are never reused.
    last_version_number: Mapped[int] = mapped_column(Integer)
    # Set when the designer deletes the model: hidden from every query, kept (with its
    # files) until the sweep's grace period has passed, so the delete can be undone.
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Version(Base):
    """One immutable state of a model: a main file, its companions and where it came from."""

    __tablename__ = "versions"
    __table_args__ = (
        UniqueConstraint("model_id", "number"),
        # The target of the models' composite "active version" key.
        UniqueConstraint("model_id", "id"),
        CheckConstraint("number >= 1", name="number_positive"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(UID_LENGTH), unique=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(SHA256_LENGTH), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(20))
    file_size: Mapped[int] = mapped_column(Integer)
    source: Mapped[dict[str, Any]] = mapped_column(JSON)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON)
    thumbnail_sha: Mapped[str | None] = mapped_column(String(SHA256_LENGTH), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # What the file's numbers mean ("mm", "cm", "m", "in") and which axis is up ("Y", "Z"),
    # as the designer said; None means the format's default (or what the file declares).
    # Placement, not content: changing them edits no file, so it is no new version.
    unit: Mapped[str | None] = mapped_column(String(4), nullable=True)
    up_axis: Mapped[str | None] = mapped_column(String(1), nullable=True)
    # A soft delete, as on models. ``successor_id`` is the version that became active
    # because this one was deleted while active; a restore makes this one active again if
    # that one still is (nobody chose another since).
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    successor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class VersionFile(Base):
    """A companion file of a version (OBJ's MTL and textures, glTF's buffers and images)."""

    __tablename__ = "version_files"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True
    )
    # Relative to the main file's folder, with forward slashes ("textures/wood.png").
    relpath: Mapped[str] = mapped_column(String(500), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(SHA256_LENGTH), index=True)
    file_size: Mapped[int] = mapped_column(Integer)


class Tag(Base):
    """A label shared by models; unique regardless of case ("Chair" is "chair")."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # name.casefold(): SQLite's NOCASE only folds ASCII, this folds "Ä" too.
    key: Mapped[str] = mapped_column(String(100), unique=True)


class Generation(Base):
    """One request to a cloud provider, from the moment it is asked for to its version.

    Persisted before anything is sent, so a restart finds every unfinished generation and
    follows its provider task instead of submitting again (a replay bills twice).
    """

    __tablename__ = "generations"
    __table_args__ = (
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(UID_LENGTH), unique=True)
    provider: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))  # text / image / multiview
    quality: Mapped[str] = mapped_column(String(20))
    prompt: Mapped[str] = mapped_column(Text, default="")
    # The new model's name as the designer left it in the panel; "" names it from the prompt.
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The model a regeneration adds its version to; None makes a new model.
    model_id: Mapped[int | None] = mapped_column(
        ForeignKey("models.id", ondelete="SET NULL"), nullable=True
    )
    # requested / submitting / queued / running / downloading / importing /
    # succeeded / failed / cancelled / expired
    status: Mapped[str] = mapped_column(String(20), index=True)
    stage: Mapped[str] = mapped_column(String(20), default="")
    provider_task_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    raw_status: Mapped[str] = mapped_column(String(40), default="")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    credits_held: Mapped[int | None] = mapped_column(Integer, nullable=True)
    credits_charged: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hold_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    result_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("versions.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # When the create call was (about to be) sent: an ambiguous create is looked for after it.
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class GenerationImage(Base):
    """An input picture of a generation, kept in the blob store (and by the sweep)."""

    __tablename__ = "generation_images"

    generation_id: Mapped[int] = mapped_column(
        ForeignKey("generations.id", ondelete="CASCADE"), primary_key=True
    )
    # "image" for single-image; "front" / "left" / "back" / "right" for multi-view.
    slot: Mapped[str] = mapped_column(String(10), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(SHA256_LENGTH), index=True)
    filename: Mapped[str] = mapped_column(String(255))


# -- sync ---------------------------------------------------------------------------------
# What the account service is known to hold. No foreign keys to the tables above on
# purpose: a row outliving its local model or version is how a local deletion is found.


class SyncState(Base):
    """Small per-library sync values by name (``cursor``: the last feed's cursor)."""

    __tablename__ = "sync_state"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class SyncModel(Base):
    """A model the server has, with its active state as last agreed with the server.

    A local active version different from ``active_version_uid`` is a local change not yet
    pushed, based on ``active_revision``.
    """

    __tablename__ = "sync_models"

    uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    active_version_uid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    active_revision: Mapped[int] = mapped_column(Integer)


class SyncVersion(Base):
    """A version the server has (pushed from here, or pulled from it)."""

    __tablename__ = "sync_versions"

    uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_uid: Mapped[str] = mapped_column(String(64), index=True)
