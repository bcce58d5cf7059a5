"""Alembic environment: run programmatically by :meth:`account_api.database.Database.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from account_api.tables import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("Run the migrations with `python -m account_api migrate`.")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
