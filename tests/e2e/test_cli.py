"""``python -m studio``: every command as a real subprocess, on real files."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from studio.library import Library
from studio.meshes.loading import UNIT_NOTE
from studio.meshes.units import mm_per_unit
from tests.conftest import KilnDirs
from tests.e2e.conftest import (
    GENERATED,
    SAMPLES_DIR,
    Cli,
    binary_stl,
    box_arrays,
    committed_samples,
)
from tests.gltf_files import GltfFile, cube, png_header_only

STATS_KEYS = {
    "format",
    "vertices",
    "faces",
    "parts",
    "bounds",
    "dimensions",
    "area",
    "volume",
    "watertight",
    "winding_consistent",
    "degenerate_faces",
    "duplicate_faces",
    "bodies",
    "file_size",
    "unit",
    "open_edges",
    "nonmanifold_edges",
}
MODEL_KEYS = {
    "id",
    "name",
    "active_version_number",
    "version_count",
    "tags",
    "updated_at",
    "created_at",
}
VERSION_KEYS = {
    "id",
    "model_id",
    "number",
    "is_active",
    "filename",
    "format",
    "file_size",
    "source",
    "stats",
    "created_at",
    "thumbnail_sha",
    "unit",
    "up_axis",
    "unit_is_default",
    "unit_is_assumed",
    "up_axis_is_default",
}


def assert_one_plain_line(stderr: str) -> str:
    """A failure is one sentence on stderr: no traceback, no logging prefix."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    line = lines[0]
    assert not line.startswith(("ERROR", "WARNING", "Traceback")), line
    assert line.endswith("."), line
    return line


def assert_iso(value: str) -> None:
    assert datetime.fromisoformat(value).tzinfo is not None, value


# -- inspect -----------------------------------------------------------------------------


def test_inspect_prints_a_readable_table(cli: Cli, generated_dir: Path) -> None:
    out = cli.run("inspect", generated_dir / "box-binary.stl").stdout

    lines = out.splitlines()
    assert lines[0] == "box-binary.stl"
    table = {k.strip(): v.strip() for k, v in (_split_row(line) for line in lines[2:] if line)}
    assert table["Format"] == "STL (binary)"
    assert table["Triangles"] == "12"
    assert table["Vertices"] == "8"
    assert table["Parts"] == "1"
    assert table["Bodies"] == "1"
    assert table["Dimensions"] == "10 × 20 × 30 mm"
    assert table["Surface area"] == "2,200 mm²"
    assert table["Volume"] == "6,000 mm³"
    assert table["Watertight"] == "yes"
    assert table["Winding"] == "consistent"
    assert table["Degenerate faces"] == "0"
    assert table["Duplicate faces"] == "0"
    assert table["File size"] == "684 bytes"
    assert "Warnings:" not in out


def _split_row(line: str) -> tuple[str, str]:
    label, _, value = line.partition("  ")
    return label, value


def test_inspect_reports_an_open_mesh_with_warnings(cli: Cli, generated_dir: Path) -> None:
    path = generated_dir / "flawed-ascii.stl"
    out = cli.run("inspect", path).stdout
    table = {k.strip(): v.strip() for k, v in (_split_row(line) for line in out.splitlines())}
    assert table["Format"] == "STL (ASCII)"
    assert table["Volume"] == "not closed"
    assert table["Watertight"] == "no"
    assert table["Degenerate faces"] == "1"
    assert table["Duplicate faces"] == "1"
    assert "Warnings:" in out
    assert "  - The mesh is not watertight" in out

    data = cli.run("inspect", path, "--json").json()
    assert data["volume"] is None
    assert data["watertight"] is False
    assert data["degenerate_faces"] == 1
    assert data["duplicate_faces"] == 1
    assert any("not watertight" in w for w in data["warnings"])


def test_inspect_notes_an_extension_that_lies(cli: Cli, generated_dir: Path) -> None:
    path = generated_dir / "tetra-obj-text.stl"
    out = cli.run("inspect", path).stdout
    assert "Format            OBJ\n" in out
    assert "Notes:\n  - The file is named .stl but holds OBJ text" in out

    data = cli.run("inspect", path, "--json").json()
    assert data["format"] == "obj"
    assert data["notes"] == [
        "The file is named .stl but holds OBJ text; it was opened as OBJ.",
        UNIT_NOTE,
    ]


def test_inspect_json_shape(cli: Cli, generated_dir: Path) -> None:
    data = cli.run("inspect", generated_dir / "box-binary.stl", "--json").json()

    assert STATS_KEYS | {"warnings", "notes"} <= set(data)
    assert data["format"] == "stl-binary"
    assert data["bounds"] == [[0.0, 0.0, 0.0], [10.0, 20.0, 30.0]]
    assert data["dimensions"] == [10.0, 20.0, 30.0]
    assert data["area"] == pytest.approx(2200.0)
    assert data["volume"] == pytest.approx(6000.0)
    assert data["watertight"] is True
    assert data["file_size"] == 684
    assert data["warnings"] == []
    assert data["notes"] == [UNIT_NOTE]


TRIMESH_FILE_TYPE = {
    "stl-binary": "stl",
    "stl-ascii": "stl",
    "obj": "obj",
    "glb": "glb",
    "gltf": "gltf",
    "ply-ascii": "ply",
    "ply-binary": "ply",
    "off": "off",
    "3mf": "3mf",
}
ALL_SAMPLES = [f"data/{name}" for name in committed_samples()] + [
    f"generated/{name}" for name in sorted(GENERATED)
]


@pytest.fixture(params=ALL_SAMPLES)
def sample(request: pytest.FixtureRequest, generated_dir: Path) -> Path:
    where, _, name = str(request.param).partition("/")
    return (SAMPLES_DIR if where == "data" else generated_dir) / name


def trimesh_reference(path: Path, fmt: str) -> dict[str, float]:
    """trimesh's counts for ``path``, part by part as studio.meshes counts them.

    Each placed geometry is welded on position alone (``merge_tex``/``merge_norm``), then
    the counts, areas and volumes are summed over the parts.
    """
    import trimesh

    options: dict[str, Any] = {"process": False}
    if fmt == "obj":
        # studio.meshes makes one part per object and group; so must the reference.
        options |= {"split_objects": True, "split_groups": True}
    loaded = trimesh.load(str(path), file_type=TRIMESH_FILE_TYPE[fmt], **options)
    if isinstance(loaded, trimesh.Scene):
        geometries = list(loaded.dump(concatenate=False))
    else:
        geometries = [loaded]
    meshes = [g for g in geometries if isinstance(g, trimesh.Trimesh) and len(g.faces)]
    for mesh in meshes:
        mesh.merge_vertices(merge_tex=True, merge_norm=True)
    return {
        "vertices": sum(len(m.vertices) for m in meshes),
        "faces": sum(len(m.faces) for m in meshes),
        "parts": len(meshes),
        "area": sum(float(m.area) for m in meshes),
        "volume": sum(abs(float(m.volume)) for m in meshes),
    }


def test_inspect_agrees_with_trimesh(cli: Cli, sample: Path) -> None:
    data = cli.run("inspect", sample, "--json").json()
    assert STATS_KEYS | {"warnings", "notes"} <= set(data)
    assert data["faces"] > 0
    lo, hi = np.array(data["bounds"])
    assert np.allclose(hi - lo, data["dimensions"])

    reference = trimesh_reference(sample, data["format"])

    for key in ("vertices", "faces", "parts", "area"):
        assert data[key] == pytest.approx(reference[key], rel=1e-6), key
    if data["volume"] is not None:
        assert data["volume"] == pytest.approx(reference["volume"], rel=1e-6)


# -- convert -----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".glb", ".obj", ".stl", ".3mf", ".ply", ".off"])
def test_convert_writes_every_supported_format(
    cli: Cli, generated_dir: Path, tmp_path: Path, suffix: str
) -> None:
    source = generated_dir / "instanced.glb"
    out = tmp_path / "out" / f"converted{suffix}"
    out.parent.mkdir()

    written = [Path(line) for line in cli.run("convert", source, out).stdout.splitlines()]

    assert written[-1] == out
    assert all(p.is_file() for p in written)
    if suffix == ".obj":
        assert out.with_suffix(".mtl") in written
    before = cli.run("inspect", source, "--json").json()
    after = cli.run("inspect", out, "--json").json()
    assert after["faces"] == before["faces"]
    # Each file in its own unit (glTF metres, STL/OBJ/PLY/OFF millimetres): compare in mm.
    scale_after, scale_before = mm_per_unit(after["unit"]), mm_per_unit(before["unit"])
    assert after["area"] * scale_after**2 == pytest.approx(
        before["area"] * scale_before**2, rel=1e-5
    )
    assert np.allclose(
        np.multiply(after["bounds"], scale_after),
        np.multiply(before["bounds"], scale_before),
        atol=1e-3,
    )


# -- failures: exit 1, one plain sentence ------------------------------------------------


def test_corrupt_file(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "broken.stl"
    bad.write_bytes(b"kiln".ljust(80, b"\0") + (1000).to_bytes(4, "little") + b"\0" * 120)
    run = cli.run("inspect", bad, expect=1)
    line = assert_one_plain_line(run.stderr)
    assert "“broken.stl” is cut short" in line
    assert run.stdout == ""
    cli.library("import", bad, expect=1)
    assert cli.library("list", "--json").json() == {"models": []}


def test_missing_file(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.obj"
    for run in (
        cli.run("inspect", missing, expect=1),
        cli.run("convert", missing, tmp_path / "out.stl", expect=1),
        cli.library("import", missing, expect=1),
    ):
        assert assert_one_plain_line(run.stderr) == "“nowhere.obj” could not be found."
    assert not (tmp_path / "out.stl").exists()


def test_not_a_model(cli: Cli, tmp_path: Path) -> None:
    page = tmp_path / "model.glb"
    page.write_text("<!DOCTYPE html><html><body>Not found</body></html>", encoding="utf-8")
    run = cli.run("inspect", page, expect=1)
    assert "is a web page, not a 3D model" in assert_one_plain_line(run.stderr)


@pytest.mark.parametrize(
    "args",
    [
        ["versions", "42"],
        ["activate", "42", "1"],
        ["delete-version", "42", "1"],
        ["delete", "42", "--yes"],
        ["export", "42", "out.stl"],
        ["render", "42", "out.png"],
    ],
)
def test_unknown_model_id(cli: Cli, args: list[str]) -> None:
    run = cli.library(*args, expect=1)
    assert assert_one_plain_line(run.stderr) == "There is no model with id 42."


def test_unknown_version_number(cli: Cli, generated_dir: Path) -> None:
    model = cli.import_(generated_dir / "box-binary.stl")["model"]["id"]
    for args in (
        ["activate", model, 9],
        ["delete-version", model, 9],
        ["export", model, "x.stl", "--version", 9],
    ):
        run = cli.library(*map(str, args), expect=1)
        assert assert_one_plain_line(run.stderr) == "“box-binary” has no version 9."


def test_deleting_the_only_version_is_refused(cli: Cli, generated_dir: Path) -> None:
    model = cli.import_(generated_dir / "box-binary.stl")["model"]["id"]
    run = cli.library("delete-version", str(model), "1", expect=1)
    assert (
        assert_one_plain_line(run.stderr)
        == "“box-binary” has only this version. Delete the model instead."
    )
    assert cli.library("versions", str(model), "--json").json()["versions"][0]["number"] == 1


def test_convert_to_an_unsupported_extension(cli: Cli, generated_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "model.fbx"
    run = cli.run("convert", generated_dir / "box-binary.stl", out, expect=1)
    line = assert_one_plain_line(run.stderr)
    assert line == (
        "Kiln Studio cannot export to “.fbx”. Choose one of .glb, .obj, .stl, .3mf, .ply, .off."
    )
    assert not out.exists()
    model = cli.import_(generated_dir / "box-binary.stl")["model"]["id"]
    run = cli.library("export", str(model), tmp_path / "model.gltf", expect=1)
    assert ".glb, .obj, .stl, .3mf, .ply, .off" in assert_one_plain_line(run.stderr)


def test_unexpected_errors_point_to_the_log(cli: Cli, generated_dir: Path, kiln_dirs: Any) -> None:
    prelude = (
        "import studio.meshes\n"
        "def broken(*args, **kwargs):\n"
        "    raise RuntimeError('a bug in the measuring code')\n"
        "studio.meshes.compute_stats = broken\n"
    )
    run = cli.run("inspect", generated_dir / "box-binary.stl", expect=1, prelude=prelude)
    log_file = kiln_dirs.logs / "kiln-studio.log"
    assert assert_one_plain_line(run.stderr) == (
        f"Something went wrong inside Kiln Studio; details are in {log_file}."
    )
    logged = log_file.read_text(encoding="utf-8")
    assert "Traceback" in logged
    assert "RuntimeError: a bug in the measuring code" in logged


def test_render_without_a_renderer(cli: Cli, generated_dir: Path, tmp_path: Path) -> None:
    prelude = (
        "import importlib.metadata\n"
        "importlib.metadata.entry_points = lambda **kw: importlib.metadata.EntryPoints(())\n"
    )
    model = cli.import_(generated_dir / "box-binary.stl")["model"]["id"]
    out = tmp_path / "model.png"
    run = cli.library("render", str(model), out, expect=1, prelude=prelude)
    assert "No renderer is installed" in assert_one_plain_line(run.stderr)
    assert not out.exists()
    # Importing still works: the thumbnail is simply left out, with a warning.
    result = cli.library("import", generated_dir / "quads.off", "--json", prelude=prelude)
    assert result.json()["version"]["thumbnail_sha"] is None
    assert "No thumbnail was made for “quads.off”" in result.stderr


# -- usage errors: exit 2 ----------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["frobnicate"],
        ["inspect"],
        ["inspect", "a.stl", "--bogus"],
        ["convert", "a.stl"],
        ["library"],
        ["library", "versions", "abc"],
        ["library", "versions", "0"],
        ["library", "activate", "1"],
        ["library", "export", "1", "out.stl", "--version", "x"],
        ["library", "render", "1", "out.png", "--size", "0", "100"],
        ["library", "render", "1", "out.png", "--size", "100"],
        ["library", "render", "1", "out.png", "--size", "0x100"],
        ["library", "render", "1", "out.png", "--size", "9000x100"],
        ["library", "render", "1", "out.png", "--size", "huge"],
        ["library", "render", "1", "out.png", "--turntable", "0"],
        ["library", "render", "1", "out.png", "--overlays", "--no-overlays"],
    ],
)
def test_usage_errors(cli: Cli, args: list[str]) -> None:
    run = cli.run(*args, expect=2)
    assert run.stderr.startswith("usage: python -m studio"), run.stderr
    assert "error:" in run.stderr


def test_deleting_a_model_needs_yes(cli: Cli, generated_dir: Path) -> None:
    model = cli.import_(generated_dir / "box-binary.stl")["model"]["id"]
    run = cli.library("delete", str(model), expect=2)
    assert "--yes" in run.stderr
    assert len(cli.library("list", "--json").json()["models"]) == 1

    out = cli.library("delete", str(model), "--yes").stdout
    assert out == f"Deleted “box-binary” and its 1 version. Undo with: library restore {model}\n"
    assert cli.library("list", "--json").json() == {"models": []}
    out = cli.library("restore", str(model)).stdout
    assert out == "Restored “box-binary” with its 1 version.\n"
    assert len(cli.library("list", "--json").json()["models"]) == 1


def test_help(cli: Cli) -> None:
    out = cli.run("--help").stdout
    for command in ("inspect", "convert", "library"):
        assert command in out
    out = cli.run("library", "--help").stdout
    for command in (
        "import",
        "list",
        "versions",
        "activate",
        "delete-version",
        "delete",
        "export",
        "render",
        "check",
    ):
        assert command in out


# -- library -----------------------------------------------------------------------------


def test_import_json_and_messages(cli: Cli, generated_dir: Path) -> None:
    box = generated_dir / "box-binary.stl"
    first = cli.import_(box)

    assert set(first) >= {"model", "version", "created", "notes"}
    assert first["created"] is True
    model, version = first["model"], first["version"]
    assert set(model) >= MODEL_KEYS
    assert set(version) >= VERSION_KEYS
    assert model["name"] == "box-binary"
    assert model["active_version_number"] == 1
    assert model["version_count"] == 1
    assert version["number"] == 1
    assert version["is_active"] is True
    assert version["format"] == "stl-binary"
    assert version["stats"]["faces"] == 12
    assert version["source"]["kind"] == "import"
    for stamp in (model["created_at"], model["updated_at"], version["created_at"]):
        assert_iso(stamp)

    again = cli.library("import", box, "--no-thumbnail").stdout
    assert again == f"box-binary.stl is already version 1 of “box-binary” (model {model['id']}).\n"

    added = cli.library(
        "import", generated_dir / "quads.off", "--model", str(model["id"]), "--no-thumbnail"
    ).stdout
    assert added == (
        f"Added quads.off as version 2 of “box-binary” (model {model['id']}).\nNote: {UNIT_NOTE}\n"
    )

    other = cli.import_(generated_dir / "tetra-ascii.ply", "--name", "Pyramid")
    assert other["model"]["name"] == "Pyramid"
    assert other["model"]["id"] != model["id"]


def test_import_passes_on_notes(cli: Cli, generated_dir: Path) -> None:
    out = cli.library("import", generated_dir / "tetra-obj-text.stl", "--no-thumbnail").stdout
    assert out.splitlines() == [
        "Added tetra-obj-text.stl as version 1 of “tetra-obj-text” (model 1).",
        "Note: The file is named .stl but holds OBJ text; it was opened as OBJ.",
        f"Note: {UNIT_NOTE}",
    ]


def test_list_and_versions(cli: Cli, generated_dir: Path) -> None:
    assert cli.library("list").stdout == "The library is empty.\n"
    vase = cli.import_(generated_dir / "box-binary.stl", "--name", "Vase")["model"]["id"]
    cli.import_(generated_dir / "quads.off", "--model", str(vase))
    cup = cli.import_(generated_dir / "tetra-ascii.ply", "--name", "Cup")["model"]["id"]

    models = cli.library("list", "--json").json()["models"]
    assert [m["id"] for m in models] == [cup, vase]  # most recently changed first
    assert set(models[0]) >= MODEL_KEYS
    assert [(m["name"], m["active_version_number"], m["version_count"]) for m in models] == [
        ("Cup", 1, 1),
        ("Vase", 2, 2),
    ]
    for m in models:
        assert_iso(m["updated_at"])

    lines = cli.library("list").stdout.splitlines()
    assert lines[0].split() == ["ID", "Name", "Active", "Versions", "Tags", "Updated"]
    assert lines[1].split()[:4] == [str(cup), "Cup", "v1", "1"]
    assert lines[2].split()[:4] == [str(vase), "Vase", "v2", "2"]

    data = cli.library("versions", str(vase), "--json").json()
    assert data["model"]["id"] == vase
    versions = data["versions"]
    assert [(v["number"], v["is_active"], v["format"]) for v in versions] == [
        (2, True, "off"),
        (1, False, "stl-binary"),
    ]
    assert set(versions[0]) >= VERSION_KEYS

    lines = cli.library("versions", str(vase)).stdout.splitlines()
    assert lines[0] == f"“Vase” (model {vase})"
    assert lines[1].split() == [
        "Version",
        "Active",
        "Source",
        "Created",
        "Format",
        "Triangles",
        "Size",
        "Unit",
        "Up",
    ]
    assert lines[2].split()[:5] == ["v2", "active", "import", "of", "quads.off"]
    assert lines[2].split()[-6:] == ["OFF", "12", str(versions[0]["file_size"]), "bytes", "mm", "Z"]
    assert lines[3].split()[:4] == ["v1", "import", "of", "box-binary.stl"]


def test_activate_and_delete_version(cli: Cli, generated_dir: Path) -> None:
    model = cli.import_(generated_dir / "box-binary.stl")["model"]["id"]
    cli.import_(generated_dir / "quads.off", "--model", str(model))
    cli.import_(generated_dir / "tetra-ascii.ply", "--model", str(model))

    out = cli.library("activate", str(model), "1").stdout
    assert out == "Version 1 of “box-binary” is now active.\n"
    assert _active(cli, model) == 1

    out = cli.library("delete-version", str(model), "1").stdout
    assert out == (
        "Deleted version 1 of “box-binary”; version 3 is active. "
        f"Undo with: library restore {model} 1\n"
    )
    assert _active(cli, model) == 3
    numbers = [
        v["number"] for v in cli.library("versions", str(model), "--json").json()["versions"]
    ]
    assert numbers == [3, 2]


def test_restore_brings_a_deleted_version_back_with_its_number(
    cli: Cli, generated_dir: Path
) -> None:
    model = cli.import_(generated_dir / "box-binary.stl")["model"]["id"]
    cli.import_(generated_dir / "quads.off", "--model", str(model))
    cli.library("delete-version", str(model), "2")
    assert _active(cli, model) == 1
    out = cli.library("restore", str(model), "2").stdout
    assert out == "Restored version 2 (active) of “box-binary”.\n"
    assert _active(cli, model) == 2
    run = cli.library("restore", str(model), "7", expect=1)
    assert assert_one_plain_line(run.stderr) == "“box-binary” has no version 7."
    assert "good order" in cli.library("check").stdout


def test_set_units_changes_the_versions_table_and_the_export(
    cli: Cli, generated_dir: Path, tmp_path: Path
) -> None:
    model = cli.import_(generated_dir / "box-binary.stl")["model"]["id"]
    out = cli.library("set-units", str(model), "1", "--unit", "cm", "--up", "y").stdout
    assert out == "Version 1 of “box-binary” is in cm (set), Y up.\n"
    row = cli.library("versions", str(model)).stdout.splitlines()[2].split()
    assert row[-4:] == ["cm", "(set)", "Y", "(set)"]
    version = cli.library("versions", str(model), "--json").json()["versions"][0]
    assert (version["unit"], version["up_axis"]) == ("cm", "Y")
    assert not version["unit_is_default"]
    # Dimensions stay in the file's numbers; the record says they are centimetres.
    assert version["stats"]["dimensions"] == [10.0, 20.0, 30.0]
    out_stl = tmp_path / "mm.stl"
    cli.library("export", str(model), out_stl)
    # 10 × 20 × 30 cm, made Y up, is 100 × 300 × 200 mm Z up.
    assert cli.run("inspect", out_stl, "--json").json()["dimensions"] == pytest.approx(
        [100.0, 300.0, 200.0]
    )
    back = cli.library("set-units", str(model), "1", "--unit", "default", "--up", "default")
    assert back.stdout == "Version 1 of “box-binary” is in mm, Z up.\n"
    run = cli.library("set-units", str(model), "1", expect=2)
    assert "--unit" in run.stderr


def _active(cli: Cli, model: int) -> int:
    versions = cli.library("versions", str(model), "--json").json()["versions"]
    return next(v["number"] for v in versions if v["is_active"])


def test_export(cli: Cli, generated_dir: Path, tmp_path: Path) -> None:
    box = generated_dir / "box-binary.stl"
    model = cli.import_(box)["model"]["id"]
    cli.import_(generated_dir / "two-objects.obj", "--model", str(model))

    same = tmp_path / "copy.stl"
    assert cli.library("export", str(model), same, "--version", "1").stdout == f"{same}\n"
    assert same.read_bytes() == box.read_bytes()  # same family: the stored bytes as they are

    glb = tmp_path / "active.glb"
    assert cli.library("export", str(model), glb).stdout == f"{glb}\n"
    data = cli.run("inspect", glb, "--json").json()
    assert (data["format"], data["faces"], data["parts"]) == ("glb", 8, 2)

    obj = tmp_path / "box.obj"
    written = cli.library("export", str(model), obj, "--version", "1").stdout.splitlines()
    assert written[-1] == str(obj)
    assert cli.run("inspect", obj, "--json").json()["faces"] == 12


def test_check(cli: Cli, generated_dir: Path) -> None:
    assert cli.library("check").stdout == f"The library in {cli.data_dir} is in good order.\n"
    version = cli.import_(generated_dir / "box-binary.stl")["version"]
    assert cli.library("check", "--json").json() == {
        "data_dir": str(cli.data_dir),
        "ok": True,
        "problems": [],
    }

    with Library.open(cli.data_dir) as library:
        library.blob_path(version["sha256"]).unlink()

    run = cli.library("check", expect=1)
    assert run.stdout.splitlines() == [
        f"The store is missing the file of version 1 of model 1 ({version['sha256'][:12]}…)."
    ]
    assert assert_one_plain_line(run.stderr) == "The library has 1 problem."
    data = cli.library("check", "--json", expect=1).json()
    assert data["ok"] is False
    assert len(data["problems"]) == 1


def test_data_dir_goes_before_or_after_the_command(
    cli: Cli, generated_dir: Path, kiln_dirs: Any
) -> None:
    box = generated_dir / "box-binary.stl"
    cli.run("--data-dir", cli.data_dir, "library", "import", box, "--no-thumbnail")
    assert len(cli.library("list", "--json").json()["models"]) == 1
    # Without --data-dir: the per-user folder, which KILN_DATA_DIR overrides.
    assert cli.run("library", "list", "--json").json() == {"models": []}
    cli.run("library", "import", box, "--no-thumbnail")
    assert (kiln_dirs.data / "library.sqlite3").is_file()


def test_a_damaged_library_is_a_plain_failure(cli: Cli) -> None:
    cli.data_dir.mkdir()
    (cli.data_dir / "library.sqlite3").write_bytes(b"this is not a database" * 100)
    run = cli.library("list", expect=1)
    assert_one_plain_line(run.stderr)


# -- rendering (needs a display) -----------------------------------------------------------
#: Renders from the command line draw through EGL when there is no X server.
NO_DISPLAY = ("DISPLAY", "WAYLAND_DISPLAY")


def _model_pixels(png: bytes) -> int:
    """Pixels that differ from the background's row colour (the background is a vertical
    gradient, so the leftmost pixel of each row is background)."""
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    background = image[:, :1, :]
    return int(np.count_nonzero(np.abs(image - background).max(axis=2) > 24))


@pytest.mark.gl
def test_render_writes_a_png_with_the_model(cli: Cli, generated_dir: Path, tmp_path: Path) -> None:
    model = cli.import_(generated_dir / "box-binary.stl")["model"]["id"]
    cli.import_(generated_dir / "instanced.glb", "--model", str(model))

    out = tmp_path / "render.png"
    assert (
        cli.library("render", str(model), out, "--size", "320x240", "--version", "1").stdout
        == f"{out}\n"
    )
    image = Image.open(out)
    assert image.format == "PNG"
    assert image.size == (320, 240)
    assert _model_pixels(out.read_bytes()) > 0.05 * 320 * 240

    run = cli.library("render", str(model), tmp_path / "render.jpg", expect=1)
    assert "PNG" in assert_one_plain_line(run.stderr)


@pytest.mark.gl
def test_render_transparent_background(cli: Cli, generated_dir: Path, tmp_path: Path) -> None:
    model = cli.import_(generated_dir / "box-binary.stl")["model"]["id"]
    clear = tmp_path / "clear.png"
    cli.library("render", str(model), clear, "--transparent", "--size", "200x200", unset=NO_DISPLAY)
    image = Image.open(clear)
    assert image.mode == "RGBA"
    alpha = np.asarray(image)[:, :, 3]
    assert alpha[0, 0] == 0
    assert 0.02 * 200 * 200 < np.count_nonzero(alpha) < 0.9 * 200 * 200


def _overlay_pixels(path: Path) -> int:
    """Pixels in the bounding box's orange (the model is grey, the background blue-grey)."""
    from viewer.actors import OUTLINE_COLOR

    rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
    orange = np.array(OUTLINE_COLOR) * 255
    return int(np.count_nonzero(np.abs(rgb - orange).max(axis=2) < 40))


@pytest.mark.gl
def test_render_sizes_and_overlays_without_a_display(
    cli: Cli, generated_dir: Path, tmp_path: Path
) -> None:
    model = cli.import_(generated_dir / "box-binary.stl")["model"]["id"]
    full_hd = tmp_path / "hd.png"
    run = cli.library("render", str(model), full_hd, "--size", "1080p", unset=NO_DISPLAY)
    assert run.stderr == ""
    assert Image.open(full_hd).size == (1920, 1080)
    # Overlays are off unless asked for: no grid, box, labels or axes in the picture.
    assert _overlay_pixels(full_hd) == 0
    assert _model_pixels(full_hd.read_bytes()) > 0.03 * 1920 * 1080
    custom = tmp_path / "custom.png"
    cli.library(
        "render", str(model), custom, "--size", "640x360", "--no-overlays", unset=NO_DISPLAY
    )
    assert Image.open(custom).size == (640, 360)
    assert _overlay_pixels(custom) == 0
    with_overlays = tmp_path / "overlays.png"
    cli.library(
        "render", str(model), with_overlays, "--size", "640x360", "--overlays", unset=NO_DISPLAY
    )
    assert _overlay_pixels(with_overlays) > 50  # thin orange lines of the bounding box


@pytest.mark.gl
def test_render_a_turntable(cli: Cli, generated_dir: Path, tmp_path: Path) -> None:
    model = cli.import_(generated_dir / "box-binary.stl")["model"]["id"]
    webp = tmp_path / "turn.webp"
    cli.library(
        "render",
        str(model),
        webp,
        "--turntable",
        "6",
        "--size",
        "160x120",
        "--transparent",
        unset=NO_DISPLAY,
    )
    with Image.open(webp) as animation:
        assert animation.n_frames == 6
        assert animation.size == (160, 120)
        frames = []
        for k in range(6):
            animation.seek(k)
            frames.append(np.asarray(animation.convert("RGBA")).astype(int))
    assert frames[0][0, 0, 3] == 0  # transparent around the model
    assert np.abs(frames[0] - frames[2]).sum() > 0  # the camera turned
    gif = tmp_path / "turn.gif"
    cli.library(
        "render", str(model), gif, "--turntable", "4", "--size", "160x120", unset=NO_DISPLAY
    )
    with Image.open(gif) as animation:
        assert animation.n_frames == 4
    folder = tmp_path / "frames"
    out = cli.library(
        "render", str(model), folder, "--turntable", "5", "--size", "160x120", unset=NO_DISPLAY
    ).stdout
    assert out == f"{folder}\n"
    written = sorted(folder.glob("*.png"))
    assert [p.name for p in written] == [f"frame-00{k}.png" for k in range(1, 6)]
    assert all(Image.open(p).size == (160, 120) for p in written)
    run = cli.library("render", str(model), tmp_path / "turn.mp4", "--turntable", "4", expect=1)
    assert ".webp" in assert_one_plain_line(run.stderr)


@pytest.mark.gl
def test_import_renders_a_thumbnail(cli: Cli, generated_dir: Path) -> None:
    result = cli.library("import", generated_dir / "box-binary.stl", "--json").json()
    version = result["version"]
    assert version["thumbnail_sha"] is not None
    assert result["model"]["thumbnail_sha"] == version["thumbnail_sha"]
    with Library.open(cli.data_dir) as library:
        path = library.thumbnail_path(version["id"])
        assert path is not None
        png = path.read_bytes()
    assert Image.open(io.BytesIO(png)).size == (256, 256)
    assert _model_pixels(png) > 0.05 * 256 * 256


@pytest.mark.gl
def test_import_without_a_display_renders_its_thumbnail_quietly(
    cli: Cli, generated_dir: Path
) -> None:
    run = cli.library(
        "import", generated_dir / "box-binary.stl", "--json", unset=("DISPLAY", "WAYLAND_DISPLAY")
    )
    assert run.stderr == ""
    assert run.json()["version"]["thumbnail_sha"] is not None


def test_a_reader_that_stops_early_ends_the_output_quietly(
    cli: Cli, generated_dir: Path, kiln_dirs: KilnDirs
) -> None:
    model = cli.import_(generated_dir / "box-binary.stl")["model"]["id"]
    read_end, write_end = os.pipe()
    os.close(read_end)  # like ``| head`` that has already read its lines and gone
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "studio",
                "library",
                "versions",
                str(model),
                "--json",
                "--data-dir",
                str(cli.data_dir),
            ],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == 141
    log = (kiln_dirs.logs / "kiln-studio.log").read_text(encoding="utf-8")
    assert "BrokenPipeError" not in log


# -- issue 8 and issue 7 (finding 16): unusual files say exactly what happened ----------


def _nan_gltf(path: Path) -> Path:
    v, faces = cube()
    v = v.copy()
    v[5] = [np.inf, np.inf, np.inf]
    f = GltfFile()
    f.scene(f.node(f.mesh(f.primitive(v, faces)), rotation=[0, 0, 0.7071068, 0.7071068]))
    return f.write(path)


def test_nan_gltf_prints_one_plain_line_and_no_numpy_warning(cli: Cli, tmp_path: Path) -> None:
    path = _nan_gltf(tmp_path / "nan.gltf")
    for run in (cli.run("inspect", path, expect=1), cli.library("import", path, expect=1)):
        line = assert_one_plain_line(run.stderr)
        assert line == "“nan.gltf” is damaged: some coordinates are not numbers (NaN or infinity)."
        assert "Warning" not in run.stderr


def test_gltf_1_is_named_with_a_hint(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "Duck.gltf"
    path.write_text('{"asset": {"version": "1.0"}, "meshes": {"duck": {"primitives": []}}}')
    line = assert_one_plain_line(cli.run("inspect", path, expect=1).stderr)
    assert "is a glTF 1.0 file" in line
    assert "glTF 2.0" in line


def _textured_gltf(path: Path, image: bytes | np.ndarray) -> Path:
    f = GltfFile()
    texture = f.image(image, name="paint")
    material = f.material(pbrMetallicRoughness={"baseColorTexture": {"index": texture}})
    v = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0]], dtype=np.float32)
    uv = np.array([[0, 1], [1, 1], [1, 0]], dtype=np.float32)
    faces = np.array([[0, 1, 2]], dtype=np.uint32)
    f.scene(f.node(f.mesh(f.primitive(v, faces, uv=uv, material=material))))
    return f.write(path)


def test_the_texture_limit_setting_reaches_inspect_notes(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _textured_gltf(tmp_path / "tile.glb", np.full((200, 200, 3), 90, dtype=np.uint8))
    assert not any("paint" in n for n in cli.run("inspect", path, "--json").json()["notes"])
    monkeypatch.setenv("KILN_MAX_TEXTURE_PIXELS", "10000")
    run = cli.run("inspect", path, "--json")
    assert run.stderr == ""
    (note,) = [n for n in run.json()["notes"] if "paint" in n]
    assert "200 × 200" in note
    assert "scaled down to 100 × 100" in note


def test_a_decompression_bomb_texture_is_refused_quietly(cli: Cli, tmp_path: Path) -> None:
    path = _textured_gltf(tmp_path / "bomb.glb", png_header_only(12_000, 12_000))
    run = cli.run("inspect", path, "--json")
    assert run.stderr == ""  # Pillow's DecompressionBombWarning stays out of the terminal
    assert any("“paint”" in n for n in run.json()["notes"])


def test_inconsistent_winding_gives_the_oriented_volume_and_says_so(
    cli: Cli, tmp_path: Path
) -> None:
    v, f = box_arrays()
    f = f.copy()
    f[[1, 6]] = f[[1, 6]][:, ::-1]
    path = tmp_path / "flipped.stl"
    path.write_bytes(binary_stl(v[f]))
    data = cli.run("inspect", path, "--json").json()
    assert data["winding_consistent"] is False
    assert data["volume"] == pytest.approx(6000.0)
    assert any("orienting" in n for n in data["notes"])
    rows = dict(_split_row(line) for line in cli.run("inspect", path).stdout.splitlines())
    assert rows["Volume"].strip() == "6,000 mm³ (after orienting the faces)"
