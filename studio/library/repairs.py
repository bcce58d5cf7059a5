"""Repair as a new version: the repaired scene is exported and stored beside the original."""

from __future__ import annotations

import tempfile
from pathlib import Path

from studio import meshes
from studio.library.library import Library
from studio.library.records import ImportResult, VersionRecord
from studio.meshes import Scene
from studio.work import NEVER_CANCELLED, CancelToken, Progress, no_progress


def repair_to_library(
    library: Library,
    scene: Scene,
    model_id: int,
    source_version: VersionRecord,
    *,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> tuple[ImportResult, Scene]:
    """Repair ``scene`` and store the result as the model's next version."""
    progress(0.1, "Repairing")
    repaired = meshes.repair(scene)
    cancel.raise_if_cancelled()
    textured = any(
        p.material is not None and p.material.base_color_texture is not None for p in repaired.parts
    )
    suffix = ".glb" if textured or scene.format.family in ("GLB", "glTF", "OBJ") else ".stl"
    if scene.format.family == "3MF":
        suffix = ".3mf"
    stem = Path(source_version.filename).stem or "model"
    with tempfile.TemporaryDirectory(prefix="kiln-repair-") as tmp:
        out = Path(tmp) / f"{stem}-repaired{suffix}"
        written = meshes.export(repaired, out)
        progress(0.5, "Measuring the repaired model")
        stats = meshes.compute_stats(repaired, cancel=cancel)
        progress(0.8, "Adding the repaired version")
        result = library.add_version(
            model_id,
            {path.name: path for path in written},
            main=out.name,
            format=meshes.sniff(out).format,
            stats=stats.to_dict(),
            source={"kind": "repair", "from_version": source_version.number},
            cancel=cancel,
        )
    return result, repaired
