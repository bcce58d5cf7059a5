"""Per-version unit and up axis; deletions kept for a while so they can be undone.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 00:00:00

Only ``ADD COLUMN``: SQLite does that in place. A batch rebuild of ``versions`` would drop
the table, and with foreign keys on that cascades to its companion files.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL means "the format's default" (or what the file says), so existing rows keep
    # today's behaviour without rewriting them.
    op.add_column("versions", sa.Column("unit", sa.String(4), nullable=True))
    op.add_column("versions", sa.Column("up_axis", sa.String(1), nullable=True))
    op.add_column("versions", sa.Column("deleted_at", sa.DateTime(), nullable=True))
    op.add_column("versions", sa.Column("successor_id", sa.Integer(), nullable=True))
    op.add_column("models", sa.Column("deleted_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    # Rows deleted softly are gone for good in the older schema.
    op.execute("DELETE FROM models WHERE deleted_at IS NOT NULL")
    op.execute("DELETE FROM versions WHERE deleted_at IS NOT NULL")
    op.drop_column("models", "deleted_at")
    for column in ("successor_id", "deleted_at", "up_axis", "unit"):
        op.drop_column("versions", column)
