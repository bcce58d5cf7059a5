"""Repair as a new version: made only when something changed, and it says what it did."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from studio import meshes
from studio.library import Library, LibraryChange
from studio.library.repairs import repair_to_library
from studio.meshes import MeshFormat, Part, Scene


def write_stl(path: Path, mesh: trimesh.Trimesh, remove_around: int | None = None) -> Path:
    faces = mesh.faces
    if remove_around is not None:
        faces = faces[~np.isin(faces, [remove_around]).any(axis=1)]
    scene = Scene(
        [Part(mesh.vertices.astype(np.float32), faces.astype(np.int32))], MeshFormat.STL_BINARY
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    meshes.export(scene, path)
    return path


def torus() -> trimesh.Trimesh:
    return trimesh.creation.torus(20.0, 5.0, major_sections=48, minor_sections=24)


def test_repairing_a_torus_with_a_hole_adds_a_watertight_version(
    library: Library, tmp_path: Path
) -> None:
    path = write_stl(tmp_path / "in" / "ring.stl", torus(), remove_around=100)
    model_id = library.import_file(path).model.id
    source = library.active_version(model_id)
    assert not source.stats["watertight"]
    assert source.stats["open_edges"] == 6
    seen: list[LibraryChange] = []
    library.changed.connect(seen.append)
    outcome = repair_to_library(library, meshes.load(library.materialize(source)), model_id, source)
    assert outcome.changed
    assert outcome.result is not None
    assert outcome.message == "Repaired. Closed 1 of 1 hole. Saved as version 2."
    repaired = library.active_version(model_id)
    assert repaired.number == 2
    assert repaired.source == {"kind": "repair", "from_version": 1}
    assert repaired.stats["watertight"]
    assert (repaired.stats["open_edges"], repaired.stats["nonmanifold_edges"]) == (0, 0)
    assert repaired.note == "Repaired. Closed 1 of 1 hole."
    assert seen == [LibraryChange("version-added", model_id)]
    assert library.check() == []


def test_repairing_a_closed_sphere_makes_no_version_and_says_so(
    library: Library, tmp_path: Path
) -> None:
    path = write_stl(tmp_path / "in" / "ball.stl", trimesh.creation.icosphere(3, radius=5.0))
    model_id = library.import_file(path).model.id
    source = library.active_version(model_id)
    seen: list[LibraryChange] = []
    library.changed.connect(seen.append)
    scene = meshes.load(library.materialize(source))
    outcome = repair_to_library(library, scene, model_id, source)
    assert not outcome.changed
    assert outcome.result is None
    assert outcome.scene is scene
    assert outcome.message == (
        "Nothing to repair: the mesh has no problems repair can fix. No new version was made."
    )
    assert [v.number for v in library.versions(model_id)] == [1]
    assert seen == []


def test_a_repair_that_can_not_close_a_big_hole_makes_no_version(
    library: Library, tmp_path: Path
) -> None:
    tube = trimesh.creation.cylinder(radius=10.0, height=30.0, sections=48)
    top = (tube.vertices[:, 2][tube.faces] > 0).all(axis=1)
    open_tube = trimesh.Trimesh(tube.vertices, tube.faces[~top], process=False)
    path = write_stl(tmp_path / "in" / "cup.stl", open_tube)
    model_id = library.import_file(path).model.id
    source = library.active_version(model_id)
    outcome = repair_to_library(library, meshes.load(library.materialize(source)), model_id, source)
    assert outcome.result is None
    assert outcome.message.startswith(
        "Nothing could be repaired automatically. One hole of 48 edges is still open"
    )
    assert outcome.message.endswith("No new version was made.")
    assert library.get_model(model_id).version_count == 1


def test_the_repaired_file_bakes_in_the_versions_unit(library: Library, tmp_path: Path) -> None:
    path = write_stl(tmp_path / "in" / "ring.stl", torus(), remove_around=100)
    model_id = library.import_file(path).model.id
    source = library.set_version_placement(library.active_version(model_id).id, unit="cm")
    outcome = repair_to_library(library, meshes.load(library.materialize(source)), model_id, source)
    assert outcome.result is not None
    repaired = outcome.result.version
    # The STL is written in millimetres, so its own default unit is right as it is.
    assert (repaired.unit, repaired.unit_is_default) == ("mm", True)
    assert repaired.stats["dimensions"] == pytest.approx(
        [10 * d for d in source.stats["dimensions"]], rel=1e-5
    )
