"""Repair as a new version: only when repair changed something, and saying what it did.

The window runs :func:`repair_to_library` in a worker and shows
:attr:`RepairOutcome.message`; the CLI could do the same.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from studio import meshes
from studio.library.library import Library
from studio.library.records import ImportResult, VersionRecord
from studio.meshes import Scene
from studio.meshes.repair import RepairReport, repair_scene
from studio.meshes.units import placed_for
from studio.work import NEVER_CANCELLED, CancelToken, Progress, no_progress


@dataclass(frozen=True, eq=False)
class RepairOutcome:
    """What :func:`repair_to_library` did."""

    report: RepairReport
    #: The repaired scene (the input itself when nothing changed), to show and thumbnail.
    scene: Scene
    #: The new version; None when repair changed nothing (no version was made).
    result: ImportResult | None

    @property
    def changed(self) -> bool:
        return self.result is not None

    @property
    def message(self) -> str:
        """What to tell the designer, in one paragraph."""
        if self.result is None:
            return self.report.summary + " No new version was made."
        return f"{self.report.summary} Saved as version {self.result.version.number}."


def repair_to_library(
    library: Library,
    scene: Scene,
    model_id: int,
    source_version: VersionRecord,
    *,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> RepairOutcome:
    """Repair ``scene`` (version ``source_version`` as loaded) and, if that changed
    anything, store the result as the model's next version (which becomes active).

    The repaired file is written as its format expects (STL millimetres and Z up, GLB
    metres and Y up), from the version's unit and up axis, so it needs no placement of
    its own.
    """
    progress(0.1, "Repairing")
    repaired, report = repair_scene(scene)
    cancel.raise_if_cancelled()
    if not report.changed:
        progress(1.0, "Nothing to repair")
        return RepairOutcome(report=report, scene=scene, result=None)
    textured = any(
        p.material is not None and p.material.base_color_texture is not None for p in repaired.parts
    )
    suffix = ".glb" if textured or scene.format.family in ("GLB", "glTF", "OBJ") else ".stl"
    if scene.format.family == "3MF":
        suffix = ".3mf"
    target = meshes.format_for_extension(suffix)
    stem = Path(source_version.filename).stem or "model"
    with tempfile.TemporaryDirectory(prefix="kiln-repair-") as tmp:
        out = Path(tmp) / f"{stem}-repaired{suffix}"
        written = meshes.export(placed_for(repaired, target, source_version.placement), out)
        progress(0.5, "Measuring the repaired model")
        stored = meshes.load(out, cancel=cancel)
        stats = meshes.compute_stats(stored, cancel=cancel)
        progress(0.8, "Adding the repaired version")
        result = library.add_version(
            model_id,
            {path.name: path for path in written},
            main=out.name,
            format=meshes.sniff(out).format,
            stats=stats.to_dict(),
            source={"kind": "repair", "from_version": source_version.number},
            note=report.summary,
            cancel=cancel,
        )
    progress(1.0, "Repaired")
    return RepairOutcome(report=report, scene=stored, result=result)
