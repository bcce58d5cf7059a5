"""Deletes are soft: undo brings a version back with its number until the sweep."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from library_fixtures import add_stl, blob_files, numbers, png_bytes

from studio.library import Library, LibraryChange, LibraryError


def three_versions(library: Library) -> int:
    model_id: int = add_stl(library, seed=1, name="Vase").model.id
    add_stl(library, model_id, seed=2)
    add_stl(library, model_id, seed=3)
    return model_id


def test_undo_restores_a_deleted_version_with_its_number(
    library: Library, changes: list[LibraryChange]
) -> None:
    model_id = three_versions(library)
    deleted = library.get_version(model_id, 2)
    changes.clear()
    deletion = library.delete_version(model_id, 2)
    assert deletion.message == "Deleted version 2 of “Vase”."
    assert numbers(library, model_id) == [3, 1]
    assert library.get_model(model_id).version_count == 2
    with pytest.raises(LibraryError, match="has no version 2"):
        library.get_version(model_id, 2)
    assert library.check() == []
    model = library.undo_delete(deletion)
    assert model.version_count == 3
    assert numbers(library, model_id) == [3, 2, 1]
    back = library.get_version(model_id, 2)
    assert (back.id, back.uid, back.sha256) == (deleted.id, deleted.uid, deleted.sha256)
    assert library.blob_path(back.sha256).is_file()
    assert changes == [
        LibraryChange("version-deleted", model_id),
        LibraryChange("version-restored", model_id),
    ]
    assert library.check() == []
    # The next version still gets a number never used before.
    assert add_stl(library, model_id, seed=4).version.number == 4


def test_restoring_the_active_version_makes_it_active_again_if_nothing_else_was_chosen(
    library: Library,
) -> None:
    model_id = three_versions(library)
    library.delete_version(model_id, 3)  # active: 2 takes over
    assert library.active_version(model_id).number == 2
    restored = library.restore_version(model_id, 3)
    assert restored.is_active
    assert library.active_version(model_id).number == 3
    assert library.check() == []


def test_restoring_keeps_an_active_version_chosen_since(library: Library) -> None:
    model_id = three_versions(library)
    library.delete_version(model_id, 3)
    library.set_active_version(model_id, 1)  # the designer chose another meanwhile
    restored = library.restore_version(model_id, 3)
    assert not restored.is_active
    assert library.active_version(model_id).number == 1
    assert library.check() == []


def test_undoing_two_deletes_in_reverse_order_restores_the_active_chain(
    library: Library,
) -> None:
    model_id = three_versions(library)
    first = library.delete_version(model_id, 3)  # 2 becomes active
    second = library.delete_version(model_id, 2)  # 1 becomes active
    assert library.active_version(model_id).number == 1
    library.undo_delete(second)
    assert library.active_version(model_id).number == 2
    library.undo_delete(first)
    assert library.active_version(model_id).number == 3
    assert library.check() == []


def test_the_last_visible_version_still_cannot_be_deleted_on_its_own(library: Library) -> None:
    model_id: int = add_stl(library, seed=1).model.id
    add_stl(library, model_id, seed=2)
    library.delete_version(model_id, 2)
    with pytest.raises(LibraryError, match="has only this version"):
        library.delete_version(model_id, 1)
    assert library.check() == []


def test_undo_restores_a_deleted_model_with_versions_tags_and_active(
    library: Library, changes: list[LibraryChange]
) -> None:
    model_id = three_versions(library)
    library.set_tags(model_id, ["Pottery"])
    library.set_active_version(model_id, 2)
    library.set_thumbnail(library.get_version(model_id, 2).id, png_bytes())
    changes.clear()
    deletion = library.delete_model(model_id)
    assert deletion.number is None
    assert deletion.message == "Deleted “Vase”."
    assert library.list_models() == []
    assert library.list_models("pottery") == []
    assert library.tags() == []
    with pytest.raises(LibraryError, match=f"There is no model with id {model_id}."):
        library.get_model(model_id)
    assert library.check() == []
    model = library.undo_delete(deletion)
    assert model.name == "Vase"
    assert model.tags == ("Pottery",)
    assert model.active_version_number == 2
    assert model.thumbnail_sha is not None
    assert numbers(library, model_id) == [3, 2, 1]
    assert library.tags() == ["Pottery"]
    assert changes == [
        LibraryChange("model-deleted", model_id),
        LibraryChange("model-restored", model_id),
    ]
    assert library.check() == []


def test_a_deleted_version_is_hidden_from_every_query(library: Library, tmp_path: Path) -> None:
    model_id = three_versions(library)
    version = library.get_version(model_id, 2)
    library.delete_version(model_id, 2)
    assert 2 not in numbers(library, model_id)
    with pytest.raises(LibraryError, match="There is no version with id"):
        library.get_version_by_id(version.id)
    with pytest.raises(LibraryError, match="has no version 2"):
        library.export_version(model_id, tmp_path / "out.stl", number=2)
    with pytest.raises(LibraryError, match="has no version 2"):
        library.set_active_version(model_id, 2)
    snapshot = library.sync_snapshot()
    [local] = snapshot.models.values()
    assert [v.number for v in local.versions] == [1, 3]


def test_importing_the_bytes_of_a_deleted_version_makes_a_new_version(library: Library) -> None:
    model_id = three_versions(library)
    library.delete_version(model_id, 2)
    again = add_stl(library, model_id, seed=2)
    assert again.created
    assert again.version.number == 4


def test_restore_after_the_sweep_is_refused_plainly(library: Library) -> None:
    model_id = three_versions(library)
    deletion = library.delete_version(model_id, 2)
    gone_sha = library.get_version(model_id, 3).sha256
    assert library.sweep() == 0  # within the grace period: kept
    assert library.restore_version(model_id, 2).number == 2
    library.delete_version(model_id, 2)
    library.sweep(grace=0)
    assert library.check() == []
    with pytest.raises(LibraryError) as info:
        library.restore_version(model_id, 2)
    assert str(info.value) == (
        "Version 2 of “Vase” can no longer be restored: it has been removed for good."
    )
    with pytest.raises(LibraryError, match="can no longer be restored"):
        library.undo_delete(deletion)
    with pytest.raises(LibraryError, match=r"^“Vase” has no version 9\.$"):
        library.restore_version(model_id, 9)
    assert library.blob_path(gone_sha).is_file()  # version 3 is untouched
    assert library.check() == []

    whole = library.delete_model(model_id)
    library.sweep(grace=0)
    assert blob_files(library.data_dir) == set()
    with pytest.raises(LibraryError) as info:
        library.undo_delete(whole)
    assert str(info.value) == "“Vase” can no longer be restored: it has been removed for good."
    with pytest.raises(LibraryError) as info:
        library.restore_model(model_id)
    assert str(info.value) == (
        f"Model {model_id} can no longer be restored: it has been removed for good."
    )
    assert library.check() == []


def test_the_sweep_keeps_deletes_younger_than_its_grace_period(library: Library) -> None:
    model_id = three_versions(library)
    library.delete_version(model_id, 2)
    other = add_stl(library, seed=9, name="Cup").model.id
    library.delete_model(other)
    before = blob_files(library.data_dir)
    assert library.sweep(grace=timedelta(hours=1).total_seconds()) == 0
    assert blob_files(library.data_dir) == before
    assert library.restore_version(model_id, 2).number == 2
    assert library.restore_model(other).name == "Cup"
    assert library.check() == []


def test_undo_is_refused_when_the_model_id_now_names_another_model(library: Library) -> None:
    # SQLite may give a swept model's id to the next model: undo must not touch that one.
    deletion = library.delete_model(add_stl(library, seed=1, name="Old").model.id)
    library.sweep(grace=0)
    new = add_stl(library, seed=2, name="New").model
    assert new.id == deletion.model_id
    with pytest.raises(LibraryError, match="“Old” can no longer be restored"):
        library.undo_delete(deletion)
    assert library.get_model(new.id).name == "New"


def test_a_thumbnail_made_after_a_delete_survives_the_undo(library: Library) -> None:
    model_id = three_versions(library)
    version = library.get_version(model_id, 3)
    library.delete_version(model_id, 3)
    library.set_thumbnail(version.id, png_bytes())  # a worker finishing late
    library.restore_version(model_id, 3)
    assert library.thumbnail_path(version.id) is not None
    assert library.check() == []


def test_opening_the_library_purges_deletes_older_than_an_hour(tmp_path: Path) -> None:
    import sqlite3

    data = tmp_path / "data"
    with Library.open(data) as library:
        model_id = three_versions(library)
        old = library.get_version(model_id, 2)
        library.delete_version(model_id, 2)
        library.delete_version(model_id, 3)  # recent: stays restorable
        other = add_stl(library, seed=9, name="Cup").model.id
        library.delete_model(other)
    with sqlite3.connect(data / "library.sqlite3") as conn:
        conn.execute(
            "UPDATE versions SET deleted_at = datetime(deleted_at, '-2 hours') WHERE number = 2"
        )
        conn.execute("UPDATE models SET deleted_at = datetime(deleted_at, '-2 hours')")
    with Library.open(data) as library:
        assert not library.blob_path(old.sha256).exists()
        with pytest.raises(LibraryError, match="removed for good"):
            library.restore_version(model_id, 2)
        with pytest.raises(LibraryError, match="removed for good"):
            library.restore_model(other)
        assert library.restore_version(model_id, 3).number == 3
        assert library.purge_deleted() == 0
        assert library.check() == []
