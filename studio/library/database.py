"""The SQLite engine, its settings, sessions and the migrations run at open.

The app and the command line may open the same library at once, each with worker
threads. SQLite in WAL mode lets readers run beside one writer; every write transaction
starts with ``BEGIN IMMEDIATE`` so it takes the write lock up front and waits (up to the
busy timeout) instead of failing half-way with "database is locked".
"""

from __future__ import annotations

import contextlib
import copy
import errno
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session

from studio.library.errors import LibraryError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
#: The newest migration. Opening a current library skips Alembic entirely (it is slow to
#: import); a test checks this matches the migrations folder.
HEAD_REVISION = "0005"
BUSY_TIMEOUT_MS = 30_000
_WRITE_OPTION = "kiln_write"


def _casefold(value: str | None) -> str | None:
    return None if value is None else value.casefold()


def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (the driver's implicit BEGIN is
    # always DEFERRED, and it skips DDL, which the migrations need inside a transaction).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # FULL: a commit is on disk before we delete the blobs it stopped referencing.
        cursor.execute("PRAGMA synchronous = FULL")
    finally:
        cursor.close()
    # Unicode-aware case folding for search (SQLite's lower() only folds ASCII).
    dbapi_connection.create_function("kiln_casefold", 1, _casefold, deterministic=True)


def _on_begin(connection: Connection) -> None:
    write = connection.get_execution_options().get(_WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """Owns the engine of one ``library.sqlite3`` and hands out short sessions.

    Parameters
    ----------
    path
        The SQLite file; created if missing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.engine: Engine = create_engine(
            f"sqlite:///{path}",
            # Worker threads share the pool; a connection is used by one thread at a time.
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(self.engine, "connect", _on_connect)
        event.listen(self.engine, "begin", _on_begin)
        self._write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading: a consistent snapshot, never blocks a writer."""
        with translate_errors(), Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A session holding the write lock, committed on success, rolled back on error."""
        with (
            translate_errors(),
            Session(self._write_engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    def migrate(self) -> None:
        """Bring the schema to the newest revision (creating it in an empty file).

        Raises
        ------
        LibraryError
            The database is damaged, or was written by a newer version of the app.
        """
        if self.revision() == HEAD_REVISION:
            return
        from alembic import command
        from alembic.util.exc import CommandError

        config = alembic_config()
        with translate_errors(), self._write_engine.begin() as connection:
            # Under the write lock: a second process opening the library at the same
            # moment waits, then finds the schema already current.
            config.attributes["connection"] = connection
            try:
                command.upgrade(config, "head")
            except CommandError as exc:
                raise LibraryError(
                    "This library was written by a newer version of Kiln Studio. "
                    "Update the app to open it."
                ) from exc

    def revision(self) -> str | None:
        """The schema revision stamped in the database (None for an empty file)."""
        with translate_errors(), self.engine.connect() as connection:
            has_table = connection.execute(
                text(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
                )
            ).first()
            if has_table is None:
                return None
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations (no alembic.ini)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest migration's revision id, as the migrations folder says."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def is_disk_full(exc: BaseException) -> bool:
    """True for "no space left" from the OS or from SQLite."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return True
    return isinstance(exc, OperationalError | sqlite3.OperationalError) and (
        "disk is full" in str(exc)
    )


@contextlib.contextmanager
def translate_errors(what: str = "the library") -> Iterator[None]:
    """Turn SQLite's environmental failures into plain :class:`LibraryError` sentences."""
    try:
        yield
    except DatabaseError as exc:
        message = str(exc.orig) if exc.orig is not None else str(exc)
        if not isinstance(exc, OperationalError) and "not a database" not in message:
            raise  # integrity errors and the like are bugs, not the designer's problem
        if "locked" in message or "busy" in message:
            raise LibraryError(
                f"The library is busy in another program and did not answer in "
                f"{BUSY_TIMEOUT_MS // 1000} seconds. Try again in a moment."
            ) from exc
        if is_disk_full(exc):
            raise LibraryError(
                f"The disk is full: could not save {what}. Free some space and try again."
            ) from exc
        if "not a database" in message or "malformed" in message:
            raise LibraryError(
                "The library database is damaged. Restore it from a backup or move it aside."
            ) from exc
        if "unable to open" in message or "readonly" in message:
            raise LibraryError(
                "The library database cannot be opened for writing. Check that its folder "
                "exists and that you may write to it."
            ) from exc
        raise


def json_dict(value: Any) -> dict[str, Any]:
    """A JSON column's value as a fresh dict (records never share state with sessions)."""
    return copy.deepcopy(value) if isinstance(value, dict) else {}
