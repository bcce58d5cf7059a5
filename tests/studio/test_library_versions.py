"""Models and versions: numbering, the active version, deletes, dedup, tags, notes, events."""

from __future__ import annotations

import dataclasses
import random
import threading
from datetime import UTC
from pathlib import Path

import pytest
from library_fixtures import add_stl, blob_files, numbers, png_bytes, stl_bytes

from studio.library import Library, LibraryChange, LibraryError
from studio.meshes.scene import MeshFormat

# -- creating ---------------------------------------------------------------------------------


def test_a_new_model_starts_with_version_1_active(library: Library) -> None:
    result = add_stl(library, name="Vase")
    model, version = result.model, result.version
    assert result.created
    assert model.name == "Vase"
    assert model.version_count == 1
    assert model.active_version_id == version.id
    assert model.active_version_number == 1
    assert version.number == 1
    assert version.is_active
    assert version.format is MeshFormat.STL_BINARY
    assert version.filename == "vase.stl"
    assert version.file_size == len(stl_bytes(1, 0))
    assert version.source["kind"] == "import"
    assert version.stats == {"faces": 1}
    assert len(model.uid) == len(version.uid) == 32
    assert model.uid != version.uid
    assert model.created_at.tzinfo is UTC
    assert version.created_at.tzinfo is UTC
    assert library.blob_path(version.sha256).read_bytes() == stl_bytes(1, 0)
    assert library.check() == []


def test_records_are_frozen_copies(library: Library) -> None:
    result = add_stl(library)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.model.name = "Other"  # type: ignore[misc]
    result.version.source["kind"] = "mutated"
    assert library.active_version(result.model.id).source["kind"] == "import"


def test_each_addition_is_a_new_active_version(library: Library) -> None:
    model = add_stl(library, seed=1).model
    second = add_stl(library, model.id, seed=2)
    third = add_stl(library, model.id, seed=3)
    assert (second.version.number, third.version.number) == (2, 3)
    assert third.model.active_version_number == 3
    assert third.model.version_count == 3
    assert numbers(library, model.id) == [3, 2, 1]
    assert [v.is_active for v in library.versions(model.id)] == [True, False, False]
    assert third.model.updated_at >= model.updated_at
    # Earlier versions' files are untouched.
    assert library.blob_path(library.get_version(model.id, 1).sha256).read_bytes() == stl_bytes(
        1, 1
    )


def test_version_numbers_are_never_reused(library: Library) -> None:
    model = add_stl(library, seed=1).model
    add_stl(library, model.id, seed=2)
    add_stl(library, model.id, seed=3)
    library.delete_version(model.id, 3)
    assert add_stl(library, model.id, seed=4).version.number == 4
    library.delete_version(model.id, 4)
    library.delete_version(model.id, 2)
    assert numbers(library, model.id) == [1]
    # Even re-adding the very bytes of a deleted version gets a fresh number.
    assert add_stl(library, model.id, seed=3).version.number == 5
    assert library.check() == []


# -- active version ---------------------------------------------------------------------------


def test_set_active_version_is_a_rollback(library: Library, changes: list[LibraryChange]) -> None:
    model = add_stl(library, seed=1).model
    add_stl(library, model.id, seed=2)
    changes.clear()
    active = library.set_active_version(model.id, 1)
    assert active.number == 1
    assert active.is_active
    assert library.active_version(model.id).number == 1
    assert library.get_model(model.id).active_version_number == 1
    assert [v.is_active for v in library.versions(model.id)] == [False, True]
    assert changes == [LibraryChange("active-changed", model.id)]
    changes.clear()
    library.set_active_version(model.id, 1)  # already active: nothing to announce
    assert changes == []


def test_deleting_the_active_version_activates_the_newest_remaining(library: Library) -> None:
    model = add_stl(library, seed=1).model
    add_stl(library, model.id, seed=2)
    add_stl(library, model.id, seed=3)
    library.set_active_version(model.id, 2)
    after = library.delete_version(model.id, 2).model
    assert after is not None
    assert after.active_version_number == 3
    assert after.version_count == 2
    library.delete_version(model.id, 3)
    assert library.active_version(model.id).number == 1


def test_deleting_an_inactive_version_keeps_the_active_one(library: Library) -> None:
    model = add_stl(library, seed=1).model
    add_stl(library, model.id, seed=2)
    after = library.delete_version(model.id, 1).model
    assert after is not None
    assert after.active_version_number == 2


def test_the_only_version_cannot_be_deleted_on_its_own(library: Library) -> None:
    model = add_stl(library, name="Vase").model
    with pytest.raises(LibraryError) as info:
        library.delete_version(model.id, 1)
    assert str(info.value) == "“Vase” has only this version. Delete the model instead."
    assert numbers(library, model.id) == [1]
    assert library.check() == []


def test_delete_model_removes_versions_files_and_cache(
    library: Library, changes: list[LibraryChange]
) -> None:
    keep = add_stl(library, seed=9, name="Keep").model
    model = add_stl(library, seed=1).model
    add_stl(library, model.id, seed=2)
    version = library.active_version(model.id)
    library.set_thumbnail(version.id, png_bytes())
    cached = library.materialize(version)
    changes.clear()
    library.delete_model(model.id)
    assert changes == [LibraryChange("model-deleted", model.id)]
    assert [m.id for m in library.list_models()] == [keep.id]
    library.sweep(grace=0)  # the delete is soft until the sweep
    assert blob_files(library.data_dir) == {library.active_version(keep.id).sha256}
    assert not cached.exists()
    with pytest.raises(LibraryError, match=f"There is no model with id {model.id}."):
        library.versions(model.id)
    assert library.check() == []


def test_deleting_a_version_removes_only_blobs_nothing_else_uses(library: Library) -> None:
    first = add_stl(library, seed=1).model
    add_stl(library, first.id, seed=2)
    other = add_stl(library, seed=2, name="Copy")  # the same bytes, recognised
    assert not other.created
    second = library.add_version(
        None,
        {"b.stl": stl_bytes(1, 2), "extra.bin": b"x"},
        main="b.stl",
        format=MeshFormat.STL_BINARY,
        stats={},
        source={"kind": "import"},
    ).model
    shared = library.get_version(first.id, 2).sha256
    library.delete_version(first.id, 2)
    library.sweep(grace=0)
    assert library.blob_path(shared).is_file()  # still version 1 of the second model
    library.delete_model(second.id)
    assert library.blob_path(shared).is_file()  # until the sweep: the delete can be undone
    library.sweep(grace=0)
    assert not library.blob_path(shared).exists()
    assert library.check() == []


# -- unknown ids ------------------------------------------------------------------------------


def test_unknown_ids_raise_plain_library_errors(library: Library) -> None:
    model = add_stl(library, name="Vase").model
    with pytest.raises(LibraryError, match=r"^There is no model with id 7\.$"):
        library.get_model(7)
    with pytest.raises(LibraryError, match=r"^There is no model with id 7\.$"):
        add_stl(library, 7)
    with pytest.raises(LibraryError, match=r"^“Vase” has no version 9\.$"):
        library.get_version(model.id, 9)
    with pytest.raises(LibraryError, match=r"^“Vase” has no version 9\.$"):
        library.set_active_version(model.id, 9)
    with pytest.raises(LibraryError, match=r"^There is no version with id 99\.$"):
        library.set_version_note(99, "x")
    for call in (library.delete_model, library.versions, library.active_version):
        with pytest.raises(LibraryError, match=r"^There is no model with id 7\.$"):
            call(7)
    assert library.check() == []


def test_a_closed_library_says_so(tmp_path: Path) -> None:
    library = Library.open(tmp_path / "data")
    library.close()
    with pytest.raises(LibraryError, match="closed"):
        library.list_models()


# -- recognising the same files ---------------------------------------------------------------


def test_the_same_files_twice_into_a_model_are_recognised(
    library: Library, changes: list[LibraryChange]
) -> None:
    model = add_stl(library, seed=1, name="Vase").model
    add_stl(library, model.id, seed=2)
    changes.clear()
    again = add_stl(library, model.id, seed=1)
    assert not again.created
    assert again.version.number == 1
    assert again.notes == ["“vase.stl” is already version 1 of “Vase”."]
    assert numbers(library, model.id) == [2, 1]
    assert changes == []


def test_the_same_file_as_a_new_model_finds_the_existing_model(library: Library) -> None:
    first = add_stl(library, seed=1, name="Vase")
    again = add_stl(library, seed=1, name="Vase")
    assert not again.created
    assert again.model.id == first.model.id
    assert len(library.list_models()) == 1


def test_different_companions_make_a_different_version(library: Library) -> None:
    def add(texture: bytes) -> bool:
        return library.add_version(
            model.id,
            {"a.obj": b"v 0 0 0\n", "a.mtl": b"map_Kd t.png\n", "t.png": texture},
            main="a.obj",
            format=MeshFormat.OBJ,
            stats={},
            source={"kind": "import"},
        ).created

    model = add_stl(library).model
    assert add(b"red")
    assert not add(b"red")
    assert add(b"blue")
    assert numbers(library, model.id) == [3, 2, 1]
    companions = library.get_version(model.id, 3).companions
    assert [(c.relpath, c.file_size) for c in companions] == [("a.mtl", 13), ("t.png", 4)]


def test_unsafe_relative_paths_are_refused(library: Library) -> None:
    for bad in ("../evil.png", "/abs.png", "a/../../b", "C:/x.png", "a\\b.png"):
        with pytest.raises(ValueError, match="not a safe relative path"):
            library.add_version(
                None,
                {"a.obj": b"v", bad: b"x"},
                main="a.obj",
                format=MeshFormat.OBJ,
                stats={},
                source={"kind": "import"},
            )
    assert library.list_models() == []
    assert blob_files(library.data_dir) == set()


# -- names, notes, tags, search ---------------------------------------------------------------


def test_rename_notes_and_version_notes(library: Library, changes: list[LibraryChange]) -> None:
    result = add_stl(library, name="Vase")
    model_id = result.model.id
    changes.clear()
    assert library.rename_model(model_id, "  Tall   vase ").name == "Tall vase"
    assert library.set_notes(model_id, "For the shop window.").notes == "For the shop window."
    assert library.set_version_note(result.version.id, "first try").note == "first try"
    assert library.get_version(model_id, 1).note == "first try"
    assert changes == [LibraryChange("model-changed", model_id)] * 3
    with pytest.raises(LibraryError, match=r"^A model needs a name\.$"):
        library.rename_model(model_id, "   ")
    with pytest.raises(LibraryError, match="at most 200 characters"):
        library.rename_model(model_id, "x" * 201)
    assert library.get_model(model_id).name == "Tall vase"


def test_tags_are_unique_regardless_of_case(library: Library) -> None:
    vase = add_stl(library, seed=1, name="Vase").model
    cup = add_stl(library, seed=2, name="Cup").model
    tagged = library.set_tags(vase.id, ["Kitchen", " ceramic ", "kitchen", "", "Äpfel"])
    assert tagged.tags == ("ceramic", "Kitchen", "Äpfel")
    # The second model reuses the first spelling of an existing tag.
    assert library.set_tags(cup.id, ["KITCHEN"]).tags == ("Kitchen",)
    library.set_tags(vase.id, ["ceramic"])
    assert library.get_model(vase.id).tags == ("ceramic",)
    assert library.get_model(cup.id).tags == ("Kitchen",)
    library.set_tags(cup.id, [])
    assert library.get_model(cup.id).tags == ()
    # Unused tags are gone: a new spelling is taken as given.
    assert library.set_tags(cup.id, ["KITCHEN"]).tags == ("KITCHEN",)


def test_search_matches_name_or_tag_ignoring_case(library: Library) -> None:
    vase = add_stl(library, seed=1, name="Tall Vase").model
    bowl = add_stl(library, seed=2, name="Äpfelschale").model
    chair = add_stl(library, seed=3, name="Chair").model
    library.set_tags(bowl.id, ["Kitchen"])
    library.set_tags(chair.id, ["furniture", "kitchen"])

    def found(search: str | None) -> list[int]:
        return [m.id for m in library.list_models(search)]

    assert found(None) == [chair.id, bowl.id, vase.id]  # newest updated first
    assert found("   ") == found(None)
    assert found("vase") == [vase.id]
    assert found("ALL v") == [vase.id]
    assert found("äPFEL") == [bowl.id]
    assert found("kitchen") == [chair.id, bowl.id]
    assert found("kitchen chair") == [chair.id]
    assert found("100%") == []
    library.rename_model(vase.id, "Tall vase 2")
    assert found(None)[0] == vase.id


# -- thumbnails -------------------------------------------------------------------------------


def test_thumbnails_are_png_blobs_of_a_version(
    library: Library, changes: list[LibraryChange]
) -> None:
    result = add_stl(library)
    version_id = result.version.id
    assert library.thumbnail_path(version_id) is None
    changes.clear()
    first = png_bytes((255, 0, 0))
    record = library.set_thumbnail(version_id, first)
    path = library.thumbnail_path(version_id)
    assert path is not None
    assert path.read_bytes() == first
    assert record.thumbnail_sha == path.name
    assert library.get_model(result.model.id).thumbnail_sha == path.name
    assert changes == [LibraryChange("thumbnail-changed", result.model.id)]
    library.set_thumbnail(version_id, png_bytes((0, 0, 255)))
    assert not path.exists()  # the old thumbnail is no longer used
    with pytest.raises(ValueError, match="PNG"):
        library.set_thumbnail(version_id, b"GIF89a")
    assert library.check() == []


def test_a_thumbnail_shared_by_two_versions_survives_one_delete(library: Library) -> None:
    model = add_stl(library, seed=1).model
    second = add_stl(library, model.id, seed=2).version
    png = png_bytes()
    library.set_thumbnail(second.id, png)
    library.set_thumbnail(library.get_version(model.id, 1).id, png)
    library.delete_version(model.id, 2)
    assert library.thumbnail_path(library.get_version(model.id, 1).id) is not None
    assert library.check() == []


# -- provenance -------------------------------------------------------------------------------


def test_generation_input_images_are_kept_while_a_version_names_them(library: Library) -> None:
    image = library.store_bytes(png_bytes(), label="the input image")
    source = {
        "kind": "generation",
        "provider": "meshy",
        "prompt": "a vase",
        "task_id": "t-1",
        "images": [image],
    }
    model = add_stl(library, seed=1, source=source).model
    add_stl(library, model.id, seed=2, source={"kind": "repair", "from_version": 1})
    assert library.get_version(model.id, 1).source == source
    assert library.sweep() == 0
    assert library.blob_path(image).is_file()
    library.delete_version(model.id, 1)
    assert library.blob_path(image).is_file()  # until the sweep: the delete can be undone
    library.sweep(grace=0)
    assert not library.blob_path(image).exists()


# -- events -----------------------------------------------------------------------------------


def test_every_committed_write_is_announced(library: Library, changes: list[LibraryChange]) -> None:
    model = add_stl(library, seed=1).model
    add_stl(library, model.id, seed=2)
    library.delete_version(model.id, 2)
    library.delete_model(model.id)
    assert changes == [
        LibraryChange("model-added", model.id),
        LibraryChange("version-added", model.id),
        LibraryChange("version-deleted", model.id),
        LibraryChange("active-changed", model.id),
        LibraryChange("model-deleted", model.id),
    ]


def test_failed_writes_announce_nothing(library: Library, changes: list[LibraryChange]) -> None:
    model = add_stl(library).model
    changes.clear()
    with pytest.raises(LibraryError):
        library.delete_version(model.id, 1)
    assert changes == []


# -- the invariants under random use ----------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_invariants_hold_through_200_random_operations(library: Library, seed: int) -> None:
    rng = random.Random(seed)
    contents = 0
    highest: dict[int, int] = {}

    def model_ids() -> list[int]:
        return [m.id for m in library.list_models()]

    def assert_invariants() -> None:
        assert library.check() == []
        for model in library.list_models():
            versions = library.versions(model.id)
            assert sum(v.is_active for v in versions) == 1
            assert versions[0].number <= highest[model.id]

    for _ in range(200):
        ids = model_ids()
        op = rng.choice(
            [
                "new",
                "add",
                "add",
                "dup",
                "activate",
                "delete-version",
                "delete-model",
                "tags",
                "rename",
                "thumbnail",
            ]
        )
        if op == "new" or not ids:
            contents += 1
            model = add_stl(library, seed=contents, name=f"M{contents}").model
            highest[model.id] = 1
            assert_invariants()
            continue
        model_id = rng.choice(ids)
        existing = numbers(library, model_id)
        if op == "add":
            contents += 1
            number = add_stl(library, model_id, seed=contents).version.number
            assert number == highest[model_id] + 1
            highest[model_id] = number
        elif op == "dup":
            version = library.get_version(model_id, rng.choice(existing))
            again = library.add_version(
                model_id,
                {"vase.stl": library.blob_path(version.sha256).read_bytes()},
                main="vase.stl",
                format=MeshFormat.STL_BINARY,
                stats={},
                source={"kind": "import"},
            )
            assert not again.created
            assert again.version.id == version.id
        elif op == "activate":
            library.set_active_version(model_id, rng.choice(existing))
        elif op == "delete-version" and len(existing) == 1:
            with pytest.raises(LibraryError, match="has only this version"):
                library.delete_version(model_id, existing[0])
        elif op == "delete-version":
            library.delete_version(model_id, rng.choice(existing))
        elif op == "delete-model":
            library.delete_model(model_id)
            highest.pop(model_id)
        elif op == "tags":
            library.set_tags(model_id, rng.sample(["a", "B", "b", "c", "Dd"], k=2))
        elif op == "rename":
            library.rename_model(model_id, f"Renamed {rng.randint(0, 9)}")
        elif op == "thumbnail":
            version = library.get_version(model_id, rng.choice(existing))
            library.set_thumbnail(version.id, png_bytes((rng.randint(0, 3), 0, 0)))
        assert_invariants()
    assert library.sweep() == 0  # nothing was ever left behind


# -- concurrency ------------------------------------------------------------------------------


def test_threads_and_a_second_library_object_can_write_at_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    app = Library.open(data_dir)
    cli = Library.open(data_dir)  # like `python -m studio` running beside the app
    try:
        model_id = add_stl(app, seed=0).model.id
        errors: list[BaseException] = []

        def work(library: Library, offset: int) -> None:
            try:
                for i in range(10):
                    add_stl(library, model_id, seed=offset + i)
                    library.list_models("vase")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [
            threading.Thread(target=work, args=(lib, 100 * (n + 1)))
            for n, lib in enumerate([app, app, cli, cli])
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert numbers(app, model_id) == list(range(41, 0, -1))
        assert app.check() == []
    finally:
        app.close()
        cli.close()


def test_a_version_cannot_name_an_input_image_that_is_not_stored(library: Library) -> None:
    missing = "ab" * 32
    with pytest.raises(LibraryError, match="input image"):
        add_stl(library, source={"kind": "generation", "images": [missing]})
    assert library.list_models() == []
    assert blob_files(library.data_dir) == set()
