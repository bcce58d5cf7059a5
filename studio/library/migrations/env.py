"""Alembic environment for the library: always run programmatically, on a given connection.

:meth:`studio.library.database.Database.migrate` passes its open connection (already in a
``BEGIN IMMEDIATE`` transaction) through ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from studio.library.schema import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("The library's migrations run through studio.library, not the alembic CLI.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite alters tables by copying them; batch mode does that for later migrations.
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
