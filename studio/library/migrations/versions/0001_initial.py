"""The first schema: models, versions, their companion files, tags.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # models and versions point at each other; SQLite checks foreign keys when rows are
    # written, not when tables are created, so models can name versions before it exists.
    op.create_table(
        "models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("active_version_id", sa.Integer(), nullable=False),
        sa.Column("last_version_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_models"),
        sa.ForeignKeyConstraint(
            ["id", "active_version_id"],
            ["versions.model_id", "versions.id"],
            name="fk_models_active_version",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.CheckConstraint(
            "last_version_number >= 1", name=op.f("ck_models_last_version_number_positive")
        ),
        sa.UniqueConstraint("uid", name="uq_models_uid"),
    )
    op.create_index("ix_models_updated_at", "models", ["updated_at"])

    op.create_table(
        "versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("file_size", sa.Integer(), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.Column("thumbnail_sha", sa.String(64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_versions"),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
            name="fk_versions_model_id_models",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("model_id", "number", name="uq_versions_model_id_number"),
        sa.UniqueConstraint("model_id", "id", name="uq_versions_model_id_id"),
        sa.UniqueConstraint("uid", name="uq_versions_uid"),
        sa.CheckConstraint("number >= 1", name=op.f("ck_versions_number_positive")),
        # Version ids are never reused, so a stale id can't name someone else's version.
        sqlite_autoincrement=True,
    )
    op.create_index("ix_versions_sha256", "versions", ["sha256"])
    op.create_index("ix_versions_thumbnail_sha", "versions", ["thumbnail_sha"])

    op.create_table(
        "version_files",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("relpath", sa.String(500), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("file_size", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("version_id", "relpath", name="pk_version_files"),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name="fk_version_files_version_id_versions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_version_files_sha256", "version_files", ["sha256"])

    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tags"),
        sa.UniqueConstraint("key", name="uq_tags_key"),
    )

    op.create_table(
        "model_tags",
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("model_id", "tag_id", name="pk_model_tags"),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name="fk_model_tags_model_id_models", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name="fk_model_tags_tag_id_tags", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_model_tags_tag_id", "model_tags", ["tag_id"])


def downgrade() -> None:
    op.drop_table("model_tags")
    op.drop_table("tags")
    op.drop_table("version_files")
    op.drop_table("versions")
    op.drop_table("models")
