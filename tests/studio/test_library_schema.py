"""The library's database: migrations, schema/ORM agreement, SQLite settings, constraints."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from library_fixtures import add_stl
from sqlalchemy import create_engine

from studio.library import Library, LibraryError
from studio.library.database import HEAD_REVISION, Database, head_revision
from studio.library.schema import Base


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def library(data_dir: Path) -> Iterator[Library]:
    with Library.open(data_dir) as lib:
        yield lib


def _raw(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(data_dir / "library.sqlite3")


def _assert_refused(data_dir: Path, sql: str, params: tuple[int, ...]) -> None:
    """Run ``sql`` in its own transaction and expect the deferred foreign key to refuse it."""
    conn = _raw(data_dir)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(sql, params)
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            conn.commit()
        conn.rollback()
    finally:
        conn.close()


def test_open_creates_the_folder_layout_and_migrates_an_empty_database(data_dir: Path) -> None:
    with Library.open(data_dir) as library:
        assert library.list_models() == []
    for name in ("blobs", "tmp", "cache"):
        assert (data_dir / name).is_dir()
    db = Database(data_dir / "library.sqlite3")
    try:
        # HEAD_REVISION lets a current library open without importing Alembic.
        assert db.revision() == head_revision() == HEAD_REVISION
    finally:
        db.dispose()


def test_migrated_schema_matches_the_orm(library: Library) -> None:
    engine = create_engine(f"sqlite:///{library.database_path}")
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_the_active_version_key_is_deferred_to_commit(library: Library) -> None:
    with _raw(library.data_dir) as conn:
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'models'").fetchone()[0]
    assert "REFERENCES versions (model_id, id) DEFERRABLE INITIALLY DEFERRED" in sql


def test_sqlite_runs_in_wal_mode_with_foreign_keys(library: Library) -> None:
    with library._db.read() as session:
        connection = session.connection()
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


def test_reopening_keeps_the_data_and_does_not_migrate_twice(data_dir: Path) -> None:
    with Library.open(data_dir) as library:
        model = add_stl(library).model
    with Library.open(data_dir) as library:
        assert [m.id for m in library.list_models()] == [model.id]
        assert library.check() == []


def test_a_library_from_a_newer_app_is_refused_plainly(data_dir: Path) -> None:
    Library.open(data_dir).close()
    with _raw(data_dir) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(LibraryError, match="newer version of Kiln Studio"):
        Library.open(data_dir)


def test_a_damaged_database_is_refused_plainly(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "library.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(LibraryError, match="damaged"):
        Library.open(data_dir)


def test_the_database_refuses_a_model_pointing_at_another_models_version(
    library: Library,
) -> None:
    first = add_stl(library, seed=1).model
    second = add_stl(library, seed=2).model
    _assert_refused(
        library.data_dir,
        "UPDATE models SET active_version_id = ? WHERE id = ?",
        (second.active_version_id, first.id),
    )
    assert library.check() == []


def test_the_database_refuses_deleting_a_models_last_version(library: Library) -> None:
    model = add_stl(library).model
    _assert_refused(library.data_dir, "DELETE FROM versions WHERE model_id = ?", (model.id,))
    assert library.check() == []


def test_the_database_refuses_a_duplicate_version_number(library: Library) -> None:
    model = add_stl(library, seed=1).model
    add_stl(library, model.id, seed=2)
    with _raw(library.data_dir) as conn, pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute("UPDATE versions SET number = 1 WHERE model_id = ?", (model.id,))


def test_check_reports_what_the_constraints_normally_prevent(library: Library) -> None:
    first = add_stl(library, seed=1).model
    second = add_stl(library, seed=2).model
    assert library.check() == []
    # Another program that writes with foreign keys off could do this; check() notices.
    with _raw(library.data_dir) as conn:
        conn.execute(
            "UPDATE models SET active_version_id = ? WHERE id = ?",
            (second.active_version_id, first.id),
        )
    problems = library.check()
    assert any("has no valid active version" in p for p in problems)
    assert any("breaks a link" in p for p in problems)


def test_upgrading_a_0003_library_keeps_its_models_with_default_placement(
    data_dir: Path,
) -> None:
    from alembic import command

    from studio.library.database import alembic_config

    data_dir.mkdir(parents=True)
    db = Database(data_dir / "library.sqlite3")
    try:
        config = alembic_config()
        with db._write_engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0003")
        assert db.revision() == "0003"
    finally:
        db.dispose()
    # A model written by the previous schema, as its code wrote it.
    with _raw(data_dir) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(
            "INSERT INTO models (id, uid, name, notes, created_at, updated_at, "
            "active_version_id, last_version_number) VALUES "
            "(1, 'm1', 'Old', '', '2026-01-01', '2026-01-01', 1, 1)"
        )
        conn.execute(
            "INSERT INTO versions (id, uid, model_id, number, sha256, filename, format, "
            "file_size, source, stats, note, created_at) VALUES "
            "(1, 'v1', 1, 1, ?, 'old.glb', 'glb', 3, '{\"kind\": \"import\"}', "
            "'{\"unit\": \"meter\"}', '', '2026-01-01')",
            ("a" * 64,),
        )
    with Library.open(data_dir) as library:
        assert library._db.revision() == HEAD_REVISION == "0005"
        [model] = library.list_models()
        version = library.active_version(model.id)
        assert (version.unit, version.up_axis) == ("m", "Y")
        assert version.unit_is_default
        assert version.up_axis_is_default
        assert not version.unit_is_assumed
        # The new columns work on the old rows.
        version = library.set_version_placement(version.id, unit="mm")
        assert version.unit == "mm"
        library.delete_model(model.id)
        assert library.list_models() == []
        library.restore_model(model.id)
        assert [m.name for m in library.list_models()] == ["Old"]


def test_a_library_from_before_generation_names_keeps_its_generations(data_dir: Path) -> None:
    """0003 → 0005 adds the name column without rebuilding the table (no cascades)."""
    from alembic import command

    from studio.library.database import alembic_config

    data_dir.mkdir(parents=True)
    engine = create_engine(f"sqlite:///{data_dir / 'library.sqlite3'}")
    config = alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0003")
    finally:
        engine.dispose()
    conn = _raw(data_dir)
    conn.execute(
        "INSERT INTO generations (uid, provider, kind, quality, prompt, status, stage, "
        "raw_status, progress, created_at, updated_at) VALUES "
        "('u1', 'meshy', 'image', 'standard', '', 'failed', '', '', 0, "
        "'2026-12-01 10:00:00.000000', '2026-12-01 10:00:00.000000')"
    )
    conn.execute(
        "INSERT INTO generation_images (generation_id, slot, sha256, filename) "
        "VALUES (1, 'image', ?, 'cup.png')",
        ("a" * 64,),
    )
    conn.commit()
    conn.close()
    with Library.open(data_dir) as lib:
        (old,) = lib.generations()
        assert old.name == ""
        assert [i.filename for i in old.images] == ["cup.png"]
        named = lib.create_generation(
            provider="meshy", kind="text", quality="standard", prompt="a cup", name=" Cup "
        )
        assert lib.get_generation(named.id).name == "Cup"
