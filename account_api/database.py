"""The engine (SQLite or PostgreSQL), short sessions, the per-user write lock, migrations.

Every change to a user's credits or models happens in :meth:`Database.write` after
:func:`lock_user`:

* PostgreSQL: ``SELECT ... FOR UPDATE`` on the user's row serialises that user's writers
  (other users proceed in parallel);
* SQLite: every write transaction starts with ``BEGIN IMMEDIATE``, so writers queue on the
  database's write lock (waiting up to the busy timeout) instead of failing half-way.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from account_api.tables import UserRow

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 30_000
_WRITE_OPTION = "kiln_write"
#: Any constant: PostgreSQL instances starting together take turns migrating.
_MIGRATION_LOCK_ID = 0x4B494C4E


def _on_sqlite_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # SQLAlchemy's "begin" event emits BEGIN itself (the driver's implicit one is DEFERRED).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = FULL")
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    write = connection.get_execution_options().get(_WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _create_private(path: Path) -> None:
    """The SQLite file (and its folder) readable by this user only. SQLite gives its -wal and
    -shm files the database file's permissions, so they are private too."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


class Database:
    """Owns the engine for one database URL and hands out short sessions."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                _create_private(Path(parsed.database))
            self.engine: Engine = create_engine(
                url,
                connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
                pool_size=20,
                max_overflow=40,
                hide_parameters=True,
            )
            event.listen(self.engine, "connect", _on_sqlite_connect)
            event.listen(self.engine, "begin", _on_sqlite_begin)
        else:
            connect_args: dict[str, Any] = {}
            if self.dialect == "postgresql":
                connect_args["connect_timeout"] = 5
            self.engine = create_engine(
                url,
                pool_size=10,
                max_overflow=30,
                pool_pre_ping=True,
                pool_timeout=30,
                connect_args=connect_args,
                # Errors and logs never show the values of a statement (hashes, emails).
                hide_parameters=True,
            )
        self._write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (nothing is committed)."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error (write lock on SQLite)."""
        with Session(self._write_engine, expire_on_commit=False) as session, session.begin():
            yield session

    def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def migrate(self) -> None:
        """Bring the schema to the newest migration (creating it in an empty database)."""
        from alembic import command

        config = alembic_config()
        with self._write_engine.begin() as connection:
            if self.dialect == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID}
                )
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def lock_user(session: Session, user_id: int) -> UserRow | None:
    """The user's row, locked for this transaction (None when the account is gone)."""
    return session.scalars(
        select(UserRow).where(UserRow.id == user_id).with_for_update()
    ).one_or_none()


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations (no alembic.ini)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config
