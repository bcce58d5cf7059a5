"""``library ...``: the local library from the command line."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from studio import meshes
from studio.cli import UsageError
from studio.cli.commands import limits_from_settings
from studio.cli.output import error, local_time, print_json, record, table
from studio.cli.renderer import load_renderer
from studio.errors import KilnError
from studio.library import ImportResult, Library, VersionRecord
from studio.meshes import Scene
from studio.meshes.limits import human_size
from studio.paths import data_dir

log = logging.getLogger(__name__)

THUMBNAIL_SIZE = (256, 256)


def open_library(args: argparse.Namespace) -> Library:
    folder: Path | None = getattr(args, "data_dir", None)
    return Library.open(folder or data_dir())


def import_(args: argparse.Namespace) -> int:
    path: Path = args.file
    with open_library(args) as library:
        if args.model is not None:
            library.get_model(args.model)  # an unknown id fails before the slow load
        # Loaded here rather than inside import_file so the thumbnail reuses the scene.
        scene = meshes.load(path, limits=limits_from_settings())
        stats = meshes.compute_stats(scene)
        result = library.import_file(
            path, model_id=args.model, name=args.name, scene=scene, stats=stats
        )
        if args.thumbnail and result.version.thumbnail_sha is None:
            result = _with_thumbnail(library, result, scene)
    if args.json:
        print_json(
            {
                "model": record(result.model),
                "version": record(result.version),
                "created": result.created,
                "notes": result.notes,
            }
        )
        return 0
    model, version = result.model, result.version
    where = f"version {version.number} of “{model.name}” (model {model.id})"
    if result.created:
        print(f"Added {path.name} as {where}.")
        for note in result.notes:
            print(f"Note: {note}")
    else:
        print(f"{path.name} is already {where}.")
    return 0


def _with_thumbnail(library: Library, result: ImportResult, scene: Scene) -> ImportResult:
    """The result with a thumbnail rendered and stored; unchanged if that fails."""
    try:
        png = load_renderer()(scene, None, size=THUMBNAIL_SIZE)
        version = library.set_thumbnail(result.version.id, png)
        model = library.get_model(result.model.id)
    except Exception as exc:
        # A missing thumbnail never undoes an import: the app draws one when it shows it.
        log.info("thumbnail for version %d failed", result.version.id, exc_info=True)
        log.warning("No thumbnail was made for “%s”: %s", result.version.filename, exc)
        return result
    return ImportResult(model=model, version=version, created=result.created, notes=result.notes)


def list_(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        models = library.list_models()
    if args.json:
        print_json({"models": [record(m) for m in models]})
        return 0
    if not models:
        print("The library is empty.")
        return 0
    rows = [
        [
            str(m.id),
            m.name,
            f"v{m.active_version_number}",
            str(m.version_count),
            ", ".join(m.tags),
            local_time(m.updated_at),
        ]
        for m in models
    ]
    print(table(["ID", "Name", "Active", "Versions", "Tags", "Updated"], rows, right=(0, 3)))
    return 0


def versions(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        model = library.get_model(args.model)
        found = library.versions(args.model)
    if args.json:
        print_json({"model": record(model), "versions": [record(v) for v in found]})
        return 0
    rows = [
        [
            f"v{v.number}",
            "active" if v.is_active else "",
            describe_source(v),
            local_time(v.created_at),
            v.format.family,
            _triangles(v),
            human_size(v.file_size),
            describe_unit(v),
            v.up_axis + ("" if v.up_axis_is_default else " (set)"),
        ]
        for v in found
    ]
    print(f"“{model.name}” (model {model.id})")
    headers = ["Version", "Active", "Source", "Created", "Format", "Triangles", "Size"]
    headers += ["Unit", "Up"]
    print(table(headers, rows, right=(5, 6)))
    return 0


def describe_unit(version: VersionRecord) -> str:
    """The unit as a table shows it: "cm (set)" when chosen, "mm?" when nobody said."""
    if version.unit_is_assumed:
        return f"{version.unit}?"
    return version.unit + ("" if version.unit_is_default else " (set)")


def set_units(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        version = library.get_version(args.model, args.number)
        changes: dict[str, Any] = {}
        if args.unit is not None:
            changes["unit"] = None if args.unit == "default" else args.unit
        if args.up is not None:
            changes["up_axis"] = None if args.up == "DEFAULT" else args.up
        if not changes:
            raise UsageError("say what to change: --unit and/or --up")
        version = library.set_version_placement(version.id, **changes)
        model = library.get_model(args.model)
    if args.json:
        print_json({"model": record(model), "version": record(version)})
        return 0
    print(
        f"Version {version.number} of “{model.name}” is in {describe_unit(version)}, "
        f"{version.up_axis} up."
    )
    return 0


def describe_source(version: VersionRecord) -> str:
    """Where a version came from, in a few words."""
    source: dict[str, Any] = version.source
    kind = source.get("kind")
    if kind == "import":
        return f"import of {source.get('filename') or version.filename}"
    if kind == "repair" and "from_version" in source:
        return f"repair of v{source['from_version']}"
    if kind in ("generation", "regeneration") and source.get("provider"):
        return f"{kind} ({source['provider']})"
    return str(kind or "unknown")


def _triangles(version: VersionRecord) -> str:
    faces = version.stats.get("faces")
    return f"{faces:,}" if isinstance(faces, int) else "?"


def activate(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        version = library.set_active_version(args.model, args.number)
        model = library.get_model(args.model)
    print(f"Version {version.number} of “{model.name}” is now active.")
    return 0


def delete_version(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        deletion = library.delete_version(args.model, args.number)
    model = deletion.model
    assert model is not None
    print(
        f"Deleted version {args.number} of “{model.name}”; "
        f"version {model.active_version_number} is active. "
        f"Undo with: library restore {args.model} {args.number}"
    )
    return 0


def restore(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        if args.number is None:
            model = library.restore_model(args.model)
            print(f"Restored “{model.name}” with its {_versions(model.version_count)}.")
            return 0
        version = library.restore_version(args.model, args.number)
        model = library.get_model(args.model)
    active = " (active)" if version.is_active else ""
    print(f"Restored version {version.number}{active} of “{model.name}”.")
    return 0


def _versions(count: int) -> str:
    return f"{count} version{'s' if count != 1 else ''}"


def delete(args: argparse.Namespace) -> int:
    if not args.yes:
        raise UsageError("deleting a whole model removes all its versions; add --yes to confirm")
    with open_library(args) as library:
        model = library.get_model(args.model)
        library.delete_model(args.model)
    print(
        f"Deleted “{model.name}” and its {_versions(model.version_count)}. "
        f"Undo with: library restore {args.model}"
    )
    return 0


def export(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        written = library.export_version(args.model, args.output, number=args.version)
    for path in written:
        print(path)
    return 0


#: What a turntable can be written as; a name without an extension is a folder of PNGs.
TURNTABLE_SUFFIXES = {".webp", ".gif", ".png", ""}


def render(args: argparse.Namespace) -> int:
    out: Path = args.output
    suffix = out.suffix.lower()
    if args.turntable and suffix not in TURNTABLE_SUFFIXES and not out.is_dir():
        raise KilnError(
            f"A turntable is written as .webp, .gif or PNG frames (a folder): "
            f"name the output “{out.stem}.webp”, “{out.stem}.gif” or “{out.stem}”."
        )
    if not args.turntable and suffix != ".png":
        raise KilnError(f"Renders are PNG images: name the output “{out.stem}.png”.")
    with open_library(args) as library:
        version = (
            library.get_version(args.model, args.version)
            if args.version is not None
            else library.active_version(args.model)
        )
        renderer = load_renderer()  # before loading what may be a big model
        scene = meshes.load(library.materialize(version), limits=limits_from_settings())
    width, height = args.size
    renderer(
        scene,
        out,
        size=(width, height),
        transparent=args.transparent,
        shot=True,
        overlays=args.overlays,
        turntable=args.turntable,
    )
    print(out)
    return 0


def check(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        problems = library.check(verify_hashes=args.verify)
        folder = library.data_dir
    if args.json:
        print_json({"data_dir": folder, "ok": not problems, "problems": problems})
    elif problems:
        for problem in problems:
            print(problem)
    else:
        print(f"The library in {folder} is in good order.")
    if problems:
        n = len(problems)
        error(f"The library has {n} problem{'s' if n != 1 else ''}.")
        return 1
    return 0
