"""Per version: which unit the file is in and which axis is up, remembered and exported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from studio import meshes
from studio.library import KEEP, Library, LibraryChange, LibraryError
from studio.meshes import MeshFormat, Part, Scene
from studio.meshes.units import declared_obj_unit, resolve_placement

EXTENTS = (10.0, 20.0, 30.0)


def box_scene(fmt: MeshFormat = MeshFormat.STL_BINARY, unit: str | None = None) -> Scene:
    box = trimesh.creation.box(EXTENTS)
    box.apply_translation(np.array(EXTENTS) / 2)  # corner at the origin
    part = Part(box.vertices.astype(np.float32), box.faces.astype(np.int32), name="box")
    return Scene([part], fmt, unit=unit)


def write_box(path: Path) -> Path:
    meshes.export(box_scene(), path)
    return path


def extents(path: Path) -> tuple[np.ndarray, str | None]:
    scene = meshes.load(path)
    lo, hi = scene.bounds()
    return np.subtract(hi, lo), scene.unit


def import_box(library: Library, tmp_path: Path, name: str) -> int:
    tmp_path.joinpath("in").mkdir(exist_ok=True)
    model_id: int = library.import_file(write_box(tmp_path / "in" / name)).model.id
    return model_id


# -- defaults by format ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "declared", "unit", "up", "assumed"),
    [
        (MeshFormat.GLB, "meter", "m", "Y", False),
        (MeshFormat.GLTF, "meter", "m", "Y", False),
        (MeshFormat.STL_BINARY, None, "mm", "Z", False),
        (MeshFormat.STL_ASCII, None, "mm", "Z", False),
        (MeshFormat.THREEMF, "millimeter", "mm", "Z", False),
        (MeshFormat.THREEMF, "centimeter", "cm", "Z", False),
        (MeshFormat.PLY_BINARY, None, "mm", "Z", False),
        (MeshFormat.OFF, None, "mm", "Z", False),
        (MeshFormat.OBJ, None, "mm", "Y", True),
        (MeshFormat.OBJ, "inch", "in", "Y", False),
    ],
)
def test_defaults_follow_the_format_and_what_the_file_says(
    fmt: MeshFormat, declared: str | None, unit: str, up: str, assumed: bool
) -> None:
    placement = resolve_placement(fmt, declared)
    assert (placement.unit, placement.up_axis) == (unit, up)
    assert placement.unit_is_assumed is assumed
    assert placement.unit_is_default
    assert placement.up_axis_is_default
    chosen = resolve_placement(fmt, declared, "cm", "Z")
    assert (chosen.unit, chosen.up_axis) == ("cm", "Z")
    assert not (chosen.unit_is_default)
    assert not (chosen.unit_is_assumed)
    assert not (chosen.up_axis_is_default)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("# Alias OBJ Model File\n# Exported from SketchUp\n# File units = inches\n", "inch"),
        ("# File units = millimeters\n", "millimeter"),
        ("# File units = meters\n", "meter"),
        ("# units: cm\n", "centimeter"),
        ("# Blender v3.6 OBJ File\n", None),
        ("", None),
        # Only the header counts: a comment after the geometry starts is not a declaration.
        ("v 0 0 0\n# File units = inches\n", None),
    ],
)
def test_an_obj_header_can_declare_its_unit(tmp_path: Path, header: str, expected: str) -> None:
    path = tmp_path / "model.obj"
    path.write_text(header + "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", encoding="utf-8")
    assert declared_obj_unit(path) == expected


def test_imported_versions_carry_their_format_defaults(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    stl = library.active_version(library.import_file(write_box(folder / "a.stl")).model.id)
    glb = library.active_version(library.import_file(write_box(folder / "b.glb")).model.id)
    plain = folder / "c.obj"
    declared = folder / "d.obj"
    meshes.export(box_scene(), plain)
    declared.write_text("# File units = inches\n" + plain.read_text(encoding="utf-8"))
    obj = library.active_version(library.import_file(plain).model.id)
    inches = library.active_version(library.import_file(declared).model.id)
    assert (stl.unit, stl.up_axis, stl.unit_is_assumed) == ("mm", "Z", False)
    assert (glb.unit, glb.up_axis, glb.unit_is_assumed) == ("m", "Y", False)
    assert (obj.unit, obj.up_axis, obj.unit_is_assumed) == ("mm", "Y", True)
    assert (inches.unit, inches.unit_is_assumed) == ("in", False)
    # The stats stay in the file's own numbers; the record says which unit they are in.
    assert inches.stats["dimensions"] == pytest.approx(list(EXTENTS))


# -- the designer's choice ---------------------------------------------------------------------


def test_set_version_placement_is_remembered_and_announced(
    library: Library, tmp_path: Path
) -> None:
    model_id = import_box(library, tmp_path, "a.stl")
    version = library.active_version(model_id)
    seen: list[LibraryChange] = []
    library.changed.connect(seen.append)
    changed = library.set_version_placement(version.id, unit="cm", up_axis="y")
    assert (changed.unit, changed.up_axis) == ("cm", "Y")
    assert not changed.unit_is_default
    assert not changed.up_axis_is_default
    assert seen == [LibraryChange("placement-changed", model_id)]
    assert library.get_model(model_id).version_count == 1  # no new version
    # Left out keeps; None goes back to the default.
    kept = library.set_version_placement(version.id, up_axis=None)
    assert (kept.unit, kept.up_axis, kept.up_axis_is_default) == ("cm", "Z", True)
    cleared = library.set_version_placement(version.id, unit=None, up_axis=KEEP)
    assert (cleared.unit, cleared.unit_is_default) == ("mm", True)
    seen.clear()
    library.set_version_placement(version.id, unit=None)  # nothing changes: no event
    assert seen == []
    # It survives reopening.
    library.set_version_placement(version.id, unit="in")
    with Library.open(library.data_dir) as again:
        assert again.active_version(model_id).unit == "in"
    assert library.check() == []


def test_a_bad_unit_or_axis_is_refused_plainly(library: Library, tmp_path: Path) -> None:
    version = library.active_version(import_box(library, tmp_path, "a.stl"))
    with pytest.raises(LibraryError) as info:
        library.set_version_placement(version.id, unit="ft")
    assert str(info.value) == "“ft” is not a unit Kiln Studio knows. Choose one of mm, cm, m, in."
    with pytest.raises(LibraryError, match=r"^“X” is not an up axis\. Choose Y or Z\.$"):
        library.set_version_placement(version.id, up_axis="X")
    assert library.set_version_placement(version.id, unit="Millimeter").unit == "mm"


def test_an_assumed_obj_unit_is_no_longer_assumed_once_chosen(
    library: Library, tmp_path: Path
) -> None:
    model_id = import_box(library, tmp_path, "a.obj")
    version = library.active_version(model_id)
    assert version.unit_is_assumed
    chosen = library.set_version_placement(version.id, unit="mm")
    assert chosen.unit == "mm"
    assert not chosen.unit_is_assumed


# -- export follows it -------------------------------------------------------------------------


def test_a_version_marked_cm_exports_to_stl_in_millimetres_and_to_glb_in_metres(
    library: Library, tmp_path: Path
) -> None:
    model_id = import_box(library, tmp_path, "a.stl")
    version = library.active_version(model_id)
    out = tmp_path / "out"
    out.mkdir()
    # As stored: millimetres, copied.
    library.export_version(model_id, out / "plain.stl")
    assert (out / "plain.stl").read_bytes() == library.blob_path(version.sha256).read_bytes()
    library.set_version_placement(version.id, unit="cm")
    library.export_version(model_id, out / "cm.stl")
    size, _ = extents(out / "cm.stl")
    assert size == pytest.approx([100.0, 200.0, 300.0], rel=1e-6)
    library.export_version(model_id, out / "cm.glb")
    size, unit = extents(out / "cm.glb")
    assert unit == "meter"
    # 10 cm is 0.1 m; Z up in the STL is Y up in the GLB.
    assert size == pytest.approx([0.1, 0.3, 0.2], rel=1e-6)
    library.export_version(model_id, out / "cm.3mf")
    size, unit = extents(out / "cm.3mf")
    assert unit == "centimeter"
    assert size == pytest.approx(list(EXTENTS), rel=1e-6)


def test_a_glb_marked_mm_exports_a_glb_a_thousand_times_smaller(
    library: Library, tmp_path: Path
) -> None:
    model_id = import_box(library, tmp_path, "a.glb")
    version = library.active_version(model_id)
    before, _ = extents(library.materialize(version))
    library.set_version_placement(version.id, unit="mm")
    library.export_version(model_id, tmp_path / "mm.glb")
    after, _ = extents(tmp_path / "mm.glb")
    assert after == pytest.approx(before / 1000.0, rel=1e-6)
    library.export_version(model_id, tmp_path / "mm.stl")
    size, _ = extents(tmp_path / "mm.stl")
    # Same numbers, now millimetres; Y up in the GLB is Z up in the STL.
    assert size == pytest.approx([before[0], before[2], before[1]], rel=1e-6)


def test_an_obj_declaring_inches_exports_to_stl_in_millimetres(
    library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    plain = folder / "plain.obj"
    meshes.export(box_scene(), plain)
    declared = folder / "inches.obj"
    declared.write_text("# File units = inches\n" + plain.read_text(encoding="utf-8"))
    model_id = library.import_file(declared).model.id
    library.export_version(model_id, tmp_path / "out.stl")
    size, _ = extents(tmp_path / "out.stl")
    # OBJ is Y up, STL Z up: the box stands the same way up.
    assert size == pytest.approx([254.0, 762.0, 508.0], rel=1e-6)


def test_an_up_axis_override_turns_the_export(library: Library, tmp_path: Path) -> None:
    model_id = import_box(library, tmp_path, "a.stl")
    version = library.active_version(model_id)
    library.set_version_placement(version.id, up_axis="Y")  # this STL was made Y up
    library.export_version(model_id, tmp_path / "turned.stl")
    size, _ = extents(tmp_path / "turned.stl")
    assert size == pytest.approx([10.0, 30.0, 20.0], rel=1e-6)
    library.export_version(model_id, tmp_path / "same.glb")
    size, _ = extents(tmp_path / "same.glb")  # Y up already: only the unit changes
    assert size == pytest.approx([0.01, 0.02, 0.03], rel=1e-6)
