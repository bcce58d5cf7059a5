"""Scheduled plan changes, wrong-password counters and trusted client addresses.

Revision ID: 0002
Revises: 0001
Create Date: 2026-06-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from account_api.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # A plain ADD COLUMN (no constraint) on both databases: a batch rebuild of "users" on
    # SQLite would drop the table, and with foreign keys on that deletes every row that
    # references it. The code sets it only to a plan that exists.
    op.add_column("users", sa.Column("next_plan_code", sa.String(32), nullable=True))
    op.create_table(
        "password_failures",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "trusted_clients",
        sa.Column(
            "user_id",
            BigId,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("client_key", sa.String(64), primary_key=True),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("trusted_clients")
    op.drop_table("password_failures")
    op.drop_column("users", "next_plan_code")
