"""Sync state: the server cursor and what the account service is known to hold.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_state",
        sa.Column("key", sa.String(50), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_sync_state"),
    )
    op.create_table(
        "sync_models",
        sa.Column("uid", sa.String(64), nullable=False),
        sa.Column("active_version_uid", sa.String(64), nullable=True),
        sa.Column("active_revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("uid", name="pk_sync_models"),
    )
    op.create_table(
        "sync_versions",
        sa.Column("uid", sa.String(64), nullable=False),
        sa.Column("model_uid", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("uid", name="pk_sync_versions"),
    )
    op.create_index("ix_sync_versions_model_uid", "sync_versions", ["model_uid"])


def downgrade() -> None:
    op.drop_index("ix_sync_versions_model_uid", table_name="sync_versions")
    op.drop_table("sync_versions")
    op.drop_table("sync_models")
    op.drop_table("sync_state")
