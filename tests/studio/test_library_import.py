"""Importing real model files, materialising and exporting them (with studio.meshes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from library_fixtures import blob_files, stl_bytes, tetra_obj, tmp_entries, write_stl

from studio import meshes
from studio.errors import Cancelled
from studio.library import Library, LibraryChange, LibraryError
from studio.meshes.loading import UNIT_NOTE
from studio.meshes.scene import MeshFormat
from studio.work import CancelToken


def test_import_makes_a_model_named_after_the_file(library: Library, tmp_path: Path) -> None:
    path = write_stl(tmp_path / "in" / "Tall vase.stl", 5, seed=1)
    reports: list[tuple[float, str]] = []
    result = library.import_file(path, progress=lambda f, s: reports.append((f, s)))
    assert result.created
    assert result.model.name == "Tall vase"
    version = result.version
    assert version.format is MeshFormat.STL_BINARY
    assert version.filename == "Tall vase.stl"
    assert version.file_size == path.stat().st_size
    assert version.source == {
        "kind": "import",
        "path": str(path.absolute()),
        "filename": "Tall vase.stl",
    }
    assert version.stats["faces"] == 5
    assert version.stats["format"] == "stl-binary"
    assert version.companions == ()
    assert library.blob_path(version.sha256).read_bytes() == path.read_bytes()
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    assert library.check() == []


def test_import_into_a_model_adds_a_version(library: Library, tmp_path: Path) -> None:
    first = library.import_file(write_stl(tmp_path / "a.stl", 2, seed=1))
    second = library.import_file(write_stl(tmp_path / "b.stl", 3, seed=2), model_id=first.model.id)
    assert second.created
    assert second.model.id == first.model.id
    assert second.model.name == "a"  # the model keeps its name
    assert second.version.number == 2
    assert second.version.is_active
    assert second.version.stats["faces"] == 3


def test_importing_the_same_file_twice_is_recognised(library: Library, tmp_path: Path) -> None:
    path = write_stl(tmp_path / "vase.stl", 2, seed=1)
    first = library.import_file(path)
    seen: list[LibraryChange] = []
    library.changed.connect(seen.append)
    again = library.import_file(path, model_id=first.model.id)
    assert not again.created
    assert again.version.id == first.version.id
    assert again.notes == [UNIT_NOTE, "“vase.stl” is already version 1 of “vase”."]
    assert library.get_model(first.model.id).version_count == 1
    assert seen == []


def test_import_keeps_obj_materials_and_textures(library: Library, tmp_path: Path) -> None:
    path = tetra_obj(tmp_path / "in" / "tetra.obj")
    result = library.import_file(path)
    version = result.version
    assert version.format is MeshFormat.OBJ
    assert [c.relpath for c in version.companions] == ["tetra.mtl", "textures/wood.png"]
    # The stored copy opens like the original: the loader finds the MTL and the texture.
    materialized = library.materialize(version)
    assert materialized.name == "tetra.obj"
    assert (materialized.parent / "textures" / "wood.png").is_file()
    scene = meshes.load(materialized)
    assert scene.n_faces == 4
    material = scene.parts[0].material
    assert material is not None
    assert material.base_color_texture is not None
    # A changed texture is a new version; the same files again are not.
    assert not library.import_file(path, model_id=result.model.id).created
    (path.parent / "textures" / "wood.png").write_bytes(
        (path.parent / "textures" / "wood.png").read_bytes() + b"\0"
    )
    assert library.import_file(path, model_id=result.model.id).created


def test_given_scene_and_stats_are_used_as_they_are(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_stl(tmp_path / "vase.stl", 3, seed=1)
    scene = meshes.load(path)
    stats = meshes.compute_stats(scene)

    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("loaded or measured twice")

    monkeypatch.setattr(meshes, "load", must_not_run)
    monkeypatch.setattr(meshes, "compute_stats", must_not_run)
    result = library.import_file(path, scene=scene, stats=stats, name="Given")
    assert result.model.name == "Given"
    assert result.version.stats == stats.to_dict()


def test_a_file_named_wrongly_is_stored_by_its_content(library: Library, tmp_path: Path) -> None:
    path = tetra_obj(tmp_path / "in" / "tetra.obj")
    renamed = path.with_name("tetra.stl")
    path.rename(renamed)
    result = library.import_file(renamed)
    assert result.version.format is MeshFormat.OBJ
    assert any("OBJ" in note for note in result.notes)


def test_a_bad_file_writes_nothing(library: Library, tmp_path: Path) -> None:
    model = library.import_file(write_stl(tmp_path / "ok.stl", 1)).model
    before = blob_files(library.data_dir)
    seen: list[LibraryChange] = []
    library.changed.connect(seen.append)
    bad = tmp_path / "broken.stl"
    bad.write_bytes(stl_bytes(10)[:300])  # a binary STL cut short
    for model_id in (None, model.id):
        with pytest.raises(meshes.MeshFormatError):
            library.import_file(bad, model_id=model_id)
    noise = tmp_path / "noise.obj"
    noise.write_bytes(b"\x00\x01garbage" * 50)
    with pytest.raises(meshes.MeshFormatError):
        library.import_file(noise)
    assert seen == []
    assert [m.id for m in library.list_models()] == [model.id]
    assert library.get_model(model.id).version_count == 1
    assert blob_files(library.data_dir) == before
    assert tmp_entries(library.data_dir) == []


def test_import_into_an_unknown_model_fails_before_reading(
    library: Library, tmp_path: Path
) -> None:
    with pytest.raises(LibraryError, match=r"^There is no model with id 42\.$"):
        library.import_file(tmp_path / "does-not-even-exist.stl", model_id=42)


def test_a_cancelled_import_leaves_nothing(library: Library, tmp_path: Path) -> None:
    path = write_stl(tmp_path / "big.stl", 100_000, seed=3)  # several chunks to copy
    cancel = CancelToken()

    def progress(fraction: float, stage: str) -> None:
        if stage == "Copying into the library" and fraction > 0.2:
            cancel.cancel()

    with pytest.raises(Cancelled):
        library.import_file(path, progress=progress, cancel=cancel)
    assert library.list_models() == []
    assert blob_files(library.data_dir) == set()
    assert tmp_entries(library.data_dir) == []


# -- export -----------------------------------------------------------------------------------


def test_export_in_the_stored_family_copies_the_bytes(library: Library, tmp_path: Path) -> None:
    source = write_stl(tmp_path / "vase.stl", 4, seed=1)
    model = library.import_file(source).model
    library.import_file(write_stl(tmp_path / "v2.stl", 6, seed=2), model_id=model.id)
    out = tmp_path / "out" / "copy.STL"
    assert library.export_version(model.id, out, number=1) == [out]
    assert out.read_bytes() == source.read_bytes()
    active = tmp_path / "out" / "active.stl"
    library.export_version(model.id, active)
    assert meshes.load(active).n_faces == 6


def test_export_to_another_format_converts(library: Library, tmp_path: Path) -> None:
    model = library.import_file(write_stl(tmp_path / "vase.stl", 4, seed=1)).model
    out = tmp_path / "out" / "vase.ply"
    written = library.export_version(model.id, out)
    assert written[-1] == out
    assert meshes.sniff(out).format.family == "PLY"
    assert meshes.load(out).n_faces == 4


def test_export_of_an_obj_with_companions_rewrites_them(library: Library, tmp_path: Path) -> None:
    model = library.import_file(tetra_obj(tmp_path / "in" / "tetra.obj")).model
    out = tmp_path / "out" / "shared.obj"
    written = library.export_version(model.id, out)
    assert written[-1] == out
    assert all(path.is_file() for path in written)
    assert meshes.load(out).n_faces == 4


def test_export_to_an_unknown_extension_is_a_plain_error(library: Library, tmp_path: Path) -> None:
    model = library.import_file(write_stl(tmp_path / "vase.stl", 1)).model
    with pytest.raises(meshes.MeshFormatError, match="cannot export"):
        library.export_version(model.id, tmp_path / "vase.xyz")
    assert not (tmp_path / "vase.xyz").exists()
