"""The service's tables (SQLAlchemy 2 ORM). Migrations in ``account_api/migrations`` match them.

Every row that belongs to someone carries ``user_id`` and is deleted with the user
(``ON DELETE CASCADE``). Client-visible ids are random strings (users, holds) or the
client's own uids (models, versions), unique *per user*: another account's ids are simply
not found.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: An autoincrementing 64-bit key (SQLite only autoincrements INTEGER PRIMARY KEY).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on both databases (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class PlanRow(Base):
    __tablename__ = "plans"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    monthly_credits: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)


class PriceRow(Base):
    __tablename__ = "prices"
    __table_args__ = (UniqueConstraint("kind", "quality", name="uq_prices_kind_quality"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    #: NULL: every quality of this kind.
    quality: Mapped[str | None] = mapped_column(String(32))
    credits: Mapped[int] = mapped_column(Integer)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    plan_code: Mapped[str] = mapped_column(ForeignKey("plans.code"))
    #: The plan taken at the end of the period (the designer cancelled); ``None``: no change.
    next_plan_code: Mapped[str | None] = mapped_column(String(32))
    #: The sync cursor: grows by one on every change to the user's models.
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime]


class SessionFamilyRow(Base):
    """One sign-in: every refresh token rotated from it, revoked together."""

    __tablename__ = "session_families"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(64))


class RefreshTokenRow(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    family_id: Mapped[str] = mapped_column(
        ForeignKey("session_families.id", ondelete="CASCADE"), index=True
    )
    #: sha256 of the token: the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class RateLimitRow(Base):
    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class GuessRow(Base):
    """Wrong passwords for one key (an account, or an account from one address)."""

    __tablename__ = "password_failures"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime]


class TrustedClientRow(Base):
    """An address this account signed in from: other people's guesses never slow it."""

    __tablename__ = "trusted_clients"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    client_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seen_at: Mapped[datetime]


class BucketRow(Base):
    __tablename__ = "credit_buckets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    granted: Mapped[int] = mapped_column(Integer)
    remaining: Mapped[int] = mapped_column(Integer)
    #: active; spent (a one-time pack at 0); ended (a past subscription period).
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]


class HoldRow(Base):
    __tablename__ = "holds"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key", name="uq_holds_user_key"),
        Index("ix_holds_state_expires", "state", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    amount: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str | None] = mapped_column(String(32))
    quality: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]


class HoldAllocationRow(Base):
    """The part of a hold taken from one bucket (given back there on release)."""

    __tablename__ = "hold_allocations"

    hold_id: Mapped[str] = mapped_column(
        ForeignKey("holds.id", ondelete="CASCADE"), primary_key=True
    )
    bucket_id: Mapped[int] = mapped_column(
        ForeignKey("credit_buckets.id", ondelete="CASCADE"), primary_key=True
    )
    amount: Mapped[int] = mapped_column(Integer)


class LedgerRow(Base):
    """Append-only: the balance is the sum of these rows."""

    __tablename__ = "ledger"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(Integer)
    on_hold_change: Mapped[int] = mapped_column(Integer)
    bucket_id: Mapped[int | None] = mapped_column(BigInteger)
    hold_id: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(500))


class PaymentEventRow(Base):
    """A payment webhook event already applied (kept after the account is deleted)."""

    __tablename__ = "payment_events"

    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    credits: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime]


class BlobRow(Base):
    """A blob this user uploaded (the store keeps each user's blobs apart)."""

    __tablename__ = "blobs"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class ModelRow(Base):
    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("user_id", "uid", name="uq_models_user_uid"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    uid: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]
    active_version_uid: Mapped[str | None] = mapped_column(String(64))
    active_revision: Mapped[int] = mapped_column(Integer, default=0)
    #: Account revisions of the last change of the model itself, of its active version,
    #: and of its deletion (the sync feed compares them with ``since``).
    rev: Mapped[int] = mapped_column(BigInteger)
    active_rev: Mapped[int] = mapped_column(BigInteger)
    deleted_at: Mapped[datetime | None]
    deleted_rev: Mapped[int | None] = mapped_column(BigInteger)


class VersionRow(Base):
    __tablename__ = "versions"
    __table_args__ = (
        UniqueConstraint("user_id", "uid", name="uq_versions_user_uid"),
        UniqueConstraint("model_id", "number", name="uq_versions_model_number"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    uid: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(1000))
    format: Mapped[str] = mapped_column(String(32))
    companions: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    thumbnail_sha: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[dict[str, Any]]
    stats: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    rev: Mapped[int] = mapped_column(BigInteger)
    deleted_at: Mapped[datetime | None]
    deleted_rev: Mapped[int | None] = mapped_column(BigInteger)


#: Every table holding a user's data, for the account-deletion test and the CLI.
USER_TABLES = (
    "session_families",
    "trusted_clients",
    "credit_buckets",
    "holds",
    "ledger",
    "blobs",
    "models",
    "versions",
)
