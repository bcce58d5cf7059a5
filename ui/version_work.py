"""Work on the version in hand: export it, repair it, save an image of it.

Each step runs in the intake's line (:meth:`ui.opening.Intake.run_step`), so the status bar
shows it and its failure reaches the designer as one plain sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtWidgets

from studio.library import Deletion, Library, LibraryError, VersionRecord
from studio.library.repairs import RepairOutcome, repair_to_library
from studio.meshes import Scene
from studio.meshes.edges import find_edges
from studio.meshes.units import mm_per_unit
from studio.settings import Settings
from ui.errors import ErrorReporter
from ui.inspector import Inspector
from ui.opening import Intake
from ui.placement_box import PlacementBox
from ui.status_area import StatusArea
from ui.version_browser import VersionBrowser
from ui.worker import Job
from viewer.overlays.edges import ProblemEdgesOverlay
from viewer.viewport import Placement, Viewport

EXPORT_FILTERS = {
    ".glb": "GLB (*.glb)",
    ".obj": "OBJ (*.obj)",
    ".stl": "STL (*.stl)",
    ".ply": "PLY (*.ply)",
    ".off": "OFF (*.off)",
    ".3mf": "3MF (*.3mf)",
}


class VersionWork(QtCore.QObject):
    """Export, repair and images of the shown version, for the window's actions."""

    def __init__(
        self,
        parent: QtWidgets.QWidget,
        *,
        library: Library,
        settings: Settings,
        intake: Intake,
        viewport: Viewport,
        browser: VersionBrowser,
        status: StatusArea,
        errors: ErrorReporter,
        inspector: Inspector,
        placement: PlacementBox,
        show: Callable[[VersionRecord], None],
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self._library = library
        self._settings = settings
        self._intake = intake
        self._viewport = viewport
        self._browser = browser
        self._status = status
        self._errors = errors
        self._inspector = inspector
        self._placement = placement
        self._show = show
        placement.changed.connect(self.change_placement)
        self.edges = ProblemEdgesOverlay()
        viewport.add_overlay(self.edges)
        self._edges_job: Job | None = None
        self._view = settings.view
        inspector.highlight.setChecked(self._view.show_problem_edges)
        inspector.highlight.toggled.connect(self._on_highlight_toggled)
        self._view.events.show_problem_edges.connect(self._refresh_edges)
        intake.scene_shown.connect(self._refresh_edges)

    def export_shown(self) -> None:
        shown = self._intake.shown
        if shown is None or shown.version is None:
            self._errors.report_plain("Open a model from the library first, then export it.")
            return
        self.export(shown.version)

    def export_model(self, model_id: int) -> None:
        self.export(self._library.active_version(model_id))

    def export(self, version: VersionRecord) -> None:
        model = self._library.get_model(version.model_id)
        suggested = (
            Path(self._settings.last_directory or Path.home())
            / f"{model.name}-v{version.number}.glb"
        )
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self._parent, "Export version", str(suggested), ";;".join(EXPORT_FILTERS.values())
        )
        if path:
            self.export_version(version, Path(path))

    def export_version(self, version: VersionRecord, out: Path) -> Job:
        job = Job(
            self._library.export_version,
            version.model_id,
            out,
            number=version.number,
            title=f"Exporting {out.name}",
            takes_progress=False,
        )
        return self._intake.run_step(job, self._on_exported, "Export failed:", cancellable=False)

    def _on_exported(self, written: object) -> None:
        names = ", ".join(p.name for p in written) if isinstance(written, list) else ""
        self._status.show_message(f"Exported {names}.", "export")

    @QtCore.Slot()
    def repair_shown(self) -> None:
        shown = self._intake.shown
        if shown is None or shown.version is None or shown.model_id is None:
            return
        job = Job(
            repair_to_library,
            self._library,
            shown.scene,
            shown.model_id,
            shown.version,
            title="Repairing",
        )
        self._intake.run_step(job, self._on_repaired, "Repair failed:")

    def _on_repaired(self, result: object) -> None:
        assert isinstance(result, RepairOutcome)
        if result.result is not None:
            imported = result.result
            self._intake.make_thumbnail(imported.version, result.scene)
            self._browser.set_model(imported.model.id)
            self._intake.view_version(
                self._library.get_version(imported.model.id, imported.version.number)
            )
        self._status.show_message(result.message, "repair")
        self._inspector.show_repair_report(result.message)

    # ------------------------------------------------------------------ images
    def export_image(self) -> None:
        """File › Export image…: size, transparency, overlays, turntable."""
        from ui.export_image_dialog import export_image

        export_image(self._parent, self._viewport)

    def screenshot_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self._parent,
            "Save screenshot",
            str(Path(self._settings.last_directory or Path.home()) / "view.png"),
            "PNG image (*.png)",
        )
        if path:
            self._viewport.screenshot(Path(path))
            self._status.show_message(f"Saved {Path(path).name}.", "export")

    # ------------------------------------------------------------------ placement
    def show_placement(self, version: VersionRecord | None) -> None:
        """Dimensions, the grid and the camera follow the version's unit and up axis."""
        self._placement.show_version(version)
        if version is None:
            self._inspector.set_model_mm(None)
            return
        model_mm = mm_per_unit(version.placement.unit_name)
        self._inspector.set_model_mm(model_mm)
        self._viewport.set_placement(Placement(model_mm=model_mm, y_up=version.up_axis == "Y"))

    def change_placement(self, version: VersionRecord, unit: str, up_axis: str) -> None:
        try:
            updated = self._library.set_version_placement(version.id, unit=unit, up_axis=up_axis)
        except LibraryError as exc:
            self._errors.report(exc)
            self._placement.show_version(version)
            return
        self._show(updated)
        self._status.show_message(
            f"Version {updated.number} is in {unit} with {up_axis} up; "
            "dimensions and exports follow.",
            "placement",
        )

    # ------------------------------------------------------------------ undo
    def offer_undo(self, deletion: Deletion) -> None:
        self._status.offer(deletion.message, "Undo", lambda: self.undo(deletion))

    def undo(self, deletion: Deletion) -> None:
        try:
            self._library.undo_delete(deletion)
        except LibraryError as exc:
            self._errors.report(exc)
            return
        what = f"version {deletion.number} of " if deletion.number is not None else ""
        self._status.show_message(f"Restored {what}“{deletion.name}”.", "undo")

    # ------------------------------------------------------------------ problem edges
    def _on_highlight_toggled(self, checked: bool) -> None:
        self._view.show_problem_edges = checked

    def _refresh_edges(self, *_: object) -> None:
        shown = self._intake.shown
        self._inspector.highlight.setChecked(self._view.show_problem_edges)
        self.show_problem_edges(shown.scene if shown else None, self._view.show_problem_edges)

    def detach(self) -> None:
        self._view.events.show_problem_edges.disconnect(self._refresh_edges)

    def show_problem_edges(self, scene: Scene | None, wanted: bool) -> None:
        """Find the shown scene's open and non-manifold edges off the GUI thread, and draw them."""
        if self._edges_job is not None:
            self._edges_job.cancel()
            self._edges_job = None
        self.edges.clear()
        if scene is None or not wanted:
            return
        job = Job(problem_edge_points, scene, title="Finding open edges", takes_progress=False)
        job.finished.connect(self._on_edges)
        self._edges_job = job
        self._intake.run_quietly(job)

    @QtCore.Slot(object)
    def _on_edges(self, points: object) -> None:
        if self.sender() is not self._edges_job:
            return  # another model is on screen by now
        self._edges_job = None
        assert isinstance(points, tuple)
        self.edges.set_edges(points[0], points[1])


def problem_edge_points(scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    """Segment end points (``(2k, 3)``) of the open and of the non-manifold edges."""
    found = find_edges(scene)
    open_points = [
        p.vertices[e.open].reshape(-1, 3) for p, e in zip(scene.parts, found.parts, strict=True)
    ]
    bad_points = [
        p.vertices[e.nonmanifold].reshape(-1, 3)
        for p, e in zip(scene.parts, found.parts, strict=True)
    ]
    empty = np.zeros((0, 3), dtype=np.float32)
    return (
        np.concatenate(open_points) if open_points else empty,
        np.concatenate(bad_points) if bad_points else empty,
    )
