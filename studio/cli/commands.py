"""``inspect`` and ``convert``: model files on disk, no library involved."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from studio import meshes
from studio.cli.output import bullets, fields, number, print_json
from studio.meshes import Limits, MeshFormat, MeshStats
from studio.meshes.limits import human_size
from studio.settings import load_settings

#: Millimetres per unit a file may declare (3MF's units); files without one are read as mm.
MM_PER_UNIT = {
    "micron": 0.001,
    "millimeter": 1.0,
    "centimeter": 10.0,
    "inch": 25.4,
    "foot": 304.8,
    "meter": 1000.0,
}


def limits_from_settings() -> Limits:
    """The size limits the designer chose in Settings (or through ``KILN_MAX_*``)."""
    settings = load_settings()
    return Limits(
        max_file_size=settings.max_file_size,
        max_triangles=settings.max_triangles,
        max_texture_pixels=settings.max_texture_pixels,
    )


def inspect(args: argparse.Namespace) -> int:
    path: Path = args.file
    scene = meshes.load(path, limits=limits_from_settings())
    stats = meshes.compute_stats(scene)
    if args.json:
        data: dict[str, Any] = {"path": str(path), **stats.to_dict()}
        data["warnings"] = stats.warnings()
        print_json(data)  # "notes": the load's and the measurement's, as the inspector shows
    else:
        print(describe(path, stats, stats.notes))
    return 0


def convert(args: argparse.Namespace) -> int:
    source: Path = args.input
    target: Path = args.output
    fmt = meshes.format_for_extension(target.suffix)  # refuse before the slow load
    scene = meshes.load(source, limits=limits_from_settings())
    for written in meshes.export(scene, target, format=fmt):
        print(written)
    return 0


def format_label(value: str) -> str:
    """``"stl-binary"`` → ``"STL (binary)"``."""
    fmt = MeshFormat(value)
    for variant in ("binary", "ascii"):
        if value.endswith(f"-{variant}"):
            return f"{fmt.family} ({'ASCII' if variant == 'ascii' else variant})"
    return fmt.family


def describe(path: Path, stats: MeshStats, notes: list[str]) -> str:
    """The readable summary ``inspect`` prints: a table, then warnings and notes."""
    scale = MM_PER_UNIT.get(stats.unit or "millimeter", 1.0)
    dims = " × ".join(number(d * scale) for d in stats.dimensions)
    unit = (
        f"{stats.unit} (declared by the file)"
        if stats.unit
        else "none declared; read as millimetres"
    )
    if stats.volume is None:
        volume = "not closed" if not stats.watertight else "none (one-sided surface)"
    else:
        volume = f"{number(stats.volume * scale**3)} mm³"
        if not stats.winding_consistent:
            volume += " (after orienting the faces)"
    rows = [
        ("Format", format_label(stats.format)),
        ("Triangles", f"{stats.faces:,}"),
        ("Vertices", f"{stats.vertices:,}"),
        ("Parts", f"{stats.parts:,}"),
        ("Bodies", f"{stats.bodies:,}"),
        ("Dimensions", f"{dims} mm"),
        ("Unit", unit),
        ("Surface area", f"{number(stats.area * scale**2)} mm²"),
        ("Volume", volume),
        ("Watertight", "yes" if stats.watertight else "no"),
        ("Winding", "consistent" if stats.winding_consistent else "inconsistent"),
        ("Degenerate faces", f"{stats.degenerate_faces:,}"),
        ("Duplicate faces", f"{stats.duplicate_faces:,}"),
        ("File size", human_size(stats.file_size)),
    ]
    blocks = [path.name, fields(rows)]
    warnings = stats.warnings()
    if warnings:
        blocks.append(bullets("Warnings", warnings))
    if notes:
        blocks.append(bullets("Notes", notes))
    return "\n\n".join(blocks)
