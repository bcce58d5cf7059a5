"""Generations: every cloud request as a row, and its input pictures.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "generations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("quality", sa.String(20), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("provider_task_id", sa.String(100), nullable=True),
        sa.Column("raw_status", sa.String(40), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("credits_held", sa.Integer(), nullable=True),
        sa.Column("credits_charged", sa.Integer(), nullable=True),
        sa.Column("hold_id", sa.String(100), nullable=True),
        sa.Column("result_version_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_generations"),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name="fk_generations_model_id_models",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["result_version_id"], ["versions.id"],
            name="fk_generations_result_version_id_versions", ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            "progress >= 0 AND progress <= 100", name=op.f("ck_generations_progress_range")
        ),
        sa.UniqueConstraint("uid", name="uq_generations_uid"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_generations_status", "generations", ["status"])
    op.create_table(
        "generation_images",
        sa.Column("generation_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(10), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("generation_id", "slot", name="pk_generation_images"),
        sa.ForeignKeyConstraint(
            ["generation_id"], ["generations.id"],
            name="fk_generation_images_generation_id_generations", ondelete="CASCADE",
        ),
    )
    op.create_index("ix_generation_images_sha256", "generation_images", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_generation_images_sha256", table_name="generation_images")
    op.drop_table("generation_images")
    op.drop_index("ix_generations_status", table_name="generations")
    op.drop_table("generations")
