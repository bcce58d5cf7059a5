"""The first schema: plans, prices, users, sessions, credits, holds, ledger, blobs, models.

Revision ID: 0001
Revises:
Create Date: 2025-06-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from account_api.tables import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _user_fk() -> sa.Column[int]:
    return sa.Column(
        "user_id", BigId, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    plans = op.create_table(
        "plans",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("monthly_credits", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    prices = op.create_table(
        "prices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("quality", sa.String(32), nullable=True),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.UniqueConstraint("kind", "quality", name="uq_prices_kind_quality"),
    )
    op.create_table(
        "users",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("public_id", sa.String(32), nullable=False, unique=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("plan_code", sa.String(32), sa.ForeignKey("plans.code"), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "session_families",
        sa.Column("id", sa.String(32), primary_key=True),
        _user_fk(),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_reason", sa.String(64), nullable=True),
    )
    op.create_index("ix_session_families_user_id", "session_families", ["user_id"])
    op.create_table(
        "refresh_tokens",
        sa.Column("id", BigId, primary_key=True),
        sa.Column(
            "family_id",
            sa.String(32),
            sa.ForeignKey("session_families.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("window_start", sa.BigInteger(), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.create_table(
        "credit_buckets",
        sa.Column("id", BigId, primary_key=True),
        _user_fk(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("granted", sa.Integer(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_credit_buckets_user_id", "credit_buckets", ["user_id"])
    op.create_table(
        "holds",
        sa.Column("id", sa.String(32), primary_key=True),
        _user_fk(),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=True),
        sa.Column("quality", sa.String(32), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("settled_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("user_id", "idempotency_key", name="uq_holds_user_key"),
    )
    op.create_index("ix_holds_state_expires", "holds", ["state", "expires_at"])
    op.create_table(
        "hold_allocations",
        sa.Column(
            "hold_id",
            sa.String(32),
            sa.ForeignKey("holds.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "bucket_id",
            BigId,
            sa.ForeignKey("credit_buckets.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("amount", sa.Integer(), nullable=False),
    )
    op.create_table(
        "ledger",
        sa.Column("id", BigId, primary_key=True),
        _user_fk(),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("on_hold_change", sa.Integer(), nullable=False),
        sa.Column("bucket_id", sa.BigInteger(), nullable=True),
        sa.Column("hold_id", sa.String(32), nullable=True),
        sa.Column("reason", sa.String(500), nullable=False),
    )
    op.create_index("ix_ledger_user_id", "ledger", ["user_id"])
    op.create_table(
        "payment_events",
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column(
            "user_id",
            BigId,
            sa.ForeignKey("users.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "blobs",
        sa.Column(
            "user_id",
            BigId,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "models",
        sa.Column("id", BigId, primary_key=True),
        _user_fk(),
        sa.Column("uid", sa.String(64), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("active_version_uid", sa.String(64), nullable=True),
        sa.Column("active_revision", sa.Integer(), nullable=False),
        sa.Column("rev", sa.BigInteger(), nullable=False),
        sa.Column("active_rev", sa.BigInteger(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.Column("deleted_rev", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint("user_id", "uid", name="uq_models_user_uid"),
    )
    op.create_table(
        "versions",
        sa.Column("id", BigId, primary_key=True),
        _user_fk(),
        sa.Column(
            "model_id",
            BigId,
            sa.ForeignKey("models.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("uid", sa.String(64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(1000), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("companions", sa.JSON(), nullable=False),
        sa.Column("thumbnail_sha", sa.String(64), nullable=True),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("rev", sa.BigInteger(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.Column("deleted_rev", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint("user_id", "uid", name="uq_versions_user_uid"),
        sa.UniqueConstraint("model_id", "number", name="uq_versions_model_number"),
    )

    # The product sheet's plans and prices: rows, so operators change them without a release.
    op.bulk_insert(
        plans,
        [
            {"code": "free", "name": "Free", "monthly_credits": 0, "position": 0},
            {"code": "starter", "name": "Starter", "monthly_credits": 200, "position": 1},
            {"code": "pro", "name": "Pro", "monthly_credits": 1000, "position": 2},
            {"code": "enterprise", "name": "Enterprise", "monthly_credits": 5000, "position": 3},
        ],
    )
    op.bulk_insert(
        prices,
        [
            {"kind": "text", "quality": "standard", "credits": 10},
            {"kind": "text", "quality": "ultra", "credits": 20},
            {"kind": "image", "quality": None, "credits": 15},
            {"kind": "multi_image", "quality": None, "credits": 10},
        ],
    )


def downgrade() -> None:
    for table in (
        "versions",
        "models",
        "blobs",
        "payment_events",
        "ledger",
        "hold_allocations",
        "holds",
        "credit_buckets",
        "rate_limits",
        "refresh_tokens",
        "session_families",
        "users",
        "prices",
        "plans",
    ):
        op.drop_table(table)
