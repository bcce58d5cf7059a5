"""Opening models: files into the library, versions onto the screen.

Two small state machines, each with an explicit phase:

- the **intake** (:class:`Intake`) reads dropped or opened files one at a time, shows each as
  soon as it is read, then stores it as a new model or version; files that fail are collected
  and reported together when the batch ends (one dialog for three broken files, not three);
- the **view** (:class:`Intake.view_phase`) loads a library version for the viewport; a newer
  request replaces an older one still loading.

Every read and store runs on the window's :class:`~ui.worker.JobRunner`; the viewport and the
thumbnails are touched only here, on the GUI thread.
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6 import QtCore

from studio import meshes
from studio.library import ImportResult, Library, VersionRecord
from studio.meshes import Limits, Scene
from studio.work import NEVER_CANCELLED, CancelToken, Progress, no_progress
from studio.workspace import Workspace
from ui.worker import Job
from viewer.geometry import PROXY_THRESHOLD, PreparedScene, make_proxy, prepare_scene
from viewer.viewport import Viewport

log = logging.getLogger(__name__)


def load_for_view(
    path: Path,
    limits: Limits,
    *,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> tuple[Scene, PreparedScene]:
    """Worker side of opening a file: read it and build the display data."""
    scene = meshes.load(path, limits=limits, progress=progress, cancel=cancel)
    progress(1.0, "Preparing the view")
    return scene, prepare_scene(scene)


def load_version_for_view(
    library: Library,
    version: VersionRecord,
    limits: Limits,
    *,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> tuple[Scene, PreparedScene]:
    """Worker side of showing a version: put its files in place (links or copies), read them."""
    progress(0.0, f"Opening version {version.number}")
    path = library.materialize(version)
    return load_for_view(path, limits, progress=progress, cancel=cancel)


@dataclass
class Shown:
    """What the viewport shows: a library version, or a file not (yet) in the library."""

    scene: Scene
    model_id: int | None = None
    version: VersionRecord | None = None
    path: Path | None = None


@dataclass
class PendingImport:
    path: Path
    model_id: int | None  # None: a new model


@dataclass
class Failure:
    """One file or step that failed, for the batch report."""

    name: str
    context: str
    error: BaseException

    @property
    def reason(self) -> str:
        """The error's own plain sentence."""
        return getattr(self.error, "message", None) or str(self.error)

    @property
    def sentence(self) -> str:
        return f"{self.context} {self.reason}".strip()


class IntakePhase(enum.Enum):
    IDLE = "idle"
    READING = "reading"  # a file is being read to show it
    STORING = "storing"  # the file on screen is being added to the library
    WORKING = "working"  # a repair or an export runs


class ViewPhase(enum.Enum):
    IDLE = "idle"
    LOADING = "loading"  # a version is being read
    DRAWING = "drawing"  # the scene is handed to the viewport, waiting for its first frame


#: ``start(job, cancellable)`` — the window's way to run a job with the status bar wired in.
StartJob = Callable[[Job, bool], Job]


@dataclass
class _Batch:
    failures: list[Failure] = field(default_factory=list)


class Intake(QtCore.QObject):
    """Reads, shows and stores models; reports what happened through its signals."""

    #: A batch of opened files ended; the failures (possibly none) of that batch.
    batch_finished = QtCore.Signal(list)
    #: A plain sentence for the status bar.
    message = QtCore.Signal(str)
    #: A file became a version (or was found to be one already).
    imported = QtCore.Signal(object)  # ImportResult
    #: A step failed outside a batch (a version load, a repair, an export).
    failed = QtCore.Signal(object, str)  # exception, context
    #: The first frame of a newly shown scene is on screen.
    scene_shown = QtCore.Signal()
    #: Nothing is reading, storing or drawing.
    settled = QtCore.Signal()

    def __init__(
        self,
        workspace: Workspace,
        viewport: Viewport,
        start: StartJob,
        run_quietly: Callable[[Job], Job],
        limits: Callable[[], Limits],
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.viewport = viewport
        self._start = start
        self._run_quietly = run_quietly
        self._limits = limits
        self.phase = IntakePhase.IDLE
        self.view_phase = ViewPhase.IDLE
        self.shown: Shown | None = None
        self.failures: list[str] = []
        self._queue: deque[PendingImport] = deque()
        self._pending: PendingImport | None = None
        self._batch: _Batch | None = None
        self._loading_job: Job | None = None
        self._loading_version: VersionRecord | None = None
        #: A big scene on screen still waiting for its orbit proxy (built once idle).
        self._proxy_for: PreparedScene | None = None
        viewport.frame_rendered.connect(self._on_frame_rendered)

    def run_quietly(self, job: Job) -> Job:
        """Run side work (no status bar, no busy state): proxies, edge highlights."""
        return self._run_quietly(job)

    @property
    def library(self) -> Library:
        return self.workspace.library

    @property
    def busy(self) -> bool:
        return (
            self.phase is not IntakePhase.IDLE
            or self.view_phase is not ViewPhase.IDLE
            or bool(self._queue)
        )

    # ------------------------------------------------------------------ files
    def open_files(self, paths: list[Path], model_id: int | None = None) -> None:
        """Import each file as a new model (or as new versions of ``model_id``) and show it."""
        if self._batch is None:
            self._batch = _Batch()
        for path in paths:
            self._queue.append(PendingImport(Path(path), model_id))
        self._settle()

    def _start_next_import(self) -> None:
        pending = self._queue.popleft()
        self._pending = pending
        self.phase = IntakePhase.READING
        job = Job(load_for_view, pending.path, self._limits(), title=f"Opening {pending.path.name}")
        job.finished.connect(self._on_read)
        job.failed.connect(self._on_read_failed)
        self._start(job, True)

    @QtCore.Slot(object)
    def _on_read(self, result: tuple[Scene, PreparedScene]) -> None:
        scene, prepared = result
        pending = self._current()
        self._show(Shown(scene=scene, path=pending.path), prepared)
        self.workspace.show_file(str(pending.path))
        for note in scene.notes:
            self.message.emit(note)
        self.phase = IntakePhase.STORING
        job = Job(
            self.library.import_file,
            pending.path,
            model_id=pending.model_id,
            scene=scene,
            limits=self._limits(),
            title=f"Adding {pending.path.name} to the library",
        )
        job.finished.connect(self._on_stored)
        job.failed.connect(self._on_store_failed)
        self._start(job, True)

    @QtCore.Slot(object)
    def _on_read_failed(self, exc: BaseException) -> None:
        pending = self._current()
        self._batch_failure(pending.path.name, f"Couldn't open {pending.path.name}:", exc)

    @QtCore.Slot(object)
    def _on_store_failed(self, exc: BaseException) -> None:
        pending = self._current()
        self._batch_failure(
            pending.path.name, f"Couldn't add {pending.path.name} to the library:", exc
        )

    def _batch_failure(self, name: str, context: str, exc: BaseException) -> None:
        self.phase = IntakePhase.IDLE
        failure = Failure(name, context, exc)
        self.failures.append(failure.sentence)
        if self._batch is not None:
            self._batch.failures.append(failure)
        self._settle()

    @QtCore.Slot(object)
    def _on_stored(self, result: ImportResult) -> None:
        self.phase = IntakePhase.IDLE
        pending = self._current()
        self.workspace.settings.add_recent_file(str(pending.path))
        version = result.version
        if self.shown is not None and self.shown.path == pending.path:
            self.shown.model_id = result.model.id
            self.shown.version = version
            self.workspace.show_version(version)
            if version.thumbnail_sha is None:
                self.make_thumbnail(version, self.shown.scene)
        if result.created:
            self.message.emit(
                f"Added {pending.path.name} as version {version.number} of {result.model.name}."
            )
        else:
            self.message.emit(
                f"{pending.path.name} is already version {version.number} of {result.model.name}."
            )
        self.imported.emit(result)
        self._settle()

    def _current(self) -> PendingImport:
        assert self._pending is not None, "a result arrived with no file pending"
        return self._pending

    # ------------------------------------------------------------------ versions
    def view_version(self, version: VersionRecord) -> None:
        """Show ``version``; a newer request replaces one still loading."""
        shown = self.shown.version if self.shown is not None else None
        if shown is not None and shown.id == version.id:
            self.workspace.show_version(version)
            return
        if self._loading_job is not None:
            self._loading_job.cancel()
        job = Job(
            load_version_for_view,
            self.library,
            version,
            self._limits(),
            title=f"Opening version {version.number}",
        )
        job.finished.connect(self._on_version_loaded)
        job.failed.connect(self._on_version_load_failed)
        self._loading_job = job
        self._loading_version = version
        self.view_phase = ViewPhase.LOADING
        self._start(job, True)

    @QtCore.Slot(object)
    def _on_version_loaded(self, result: tuple[Scene, PreparedScene]) -> None:
        if self.sender() is not self._loading_job or self._loading_version is None:
            return  # a newer request replaced this one
        self._loading_job = None
        scene, prepared = result
        version = self._loading_version
        self.view_phase = ViewPhase.IDLE
        self._show(Shown(scene=scene, model_id=version.model_id, version=version), prepared)
        self.workspace.show_version(version)
        name = self.library.get_model(version.model_id).name
        self.message.emit(f"Showing version {version.number} of {name}.")
        if version.thumbnail_sha is None:
            self.make_thumbnail(version, scene)
        self._settle()

    @QtCore.Slot(object)
    def _on_version_load_failed(self, exc: BaseException) -> None:
        if self.sender() is not self._loading_job or self._loading_version is None:
            return
        self._loading_job = None
        self.view_phase = ViewPhase.IDLE
        self.failed.emit(exc, f"Couldn't open version {self._loading_version.number}:")
        self._settle()

    def make_thumbnail(self, version: VersionRecord, scene: Scene) -> None:
        """Render on the GUI thread (VTK) and store it; a failure here costs only the icon."""
        from viewer.offscreen import render_png

        try:
            self.library.set_thumbnail(version.id, render_png(scene))
        except Exception as exc:  # the version is stored; a missing icon is not fatal
            log.warning("thumbnail for version %s failed: %s", version.id, exc, exc_info=True)

    # ------------------------------------------------------------------ other work
    def run_step(
        self,
        job: Job,
        done: Callable[[object], None],
        context: str,
        *,
        cancellable: bool = True,
    ) -> Job:
        """Run a repair or an export in the intake's line, reporting failures plainly."""
        self.phase = IntakePhase.WORKING

        def finished(result: object) -> None:
            self.phase = IntakePhase.IDLE
            done(result)
            self._settle()

        def failed(exc: BaseException) -> None:
            self.phase = IntakePhase.IDLE
            self.failures.append(f"{context} {exc}".strip())
            self.failed.emit(exc, context)
            self._settle()

        relay = _Relay(finished, failed, self)
        job.finished.connect(relay.finished)
        job.failed.connect(relay.failed)
        return self._start(job, cancellable)

    # ------------------------------------------------------------------ showing
    def _show(self, shown: Shown, prepared: PreparedScene) -> None:
        self.shown = shown
        self.view_phase = ViewPhase.DRAWING
        self.viewport.show_scene(prepared)
        self._proxy_for = prepared if prepared.n_faces > PROXY_THRESHOLD else None

    @QtCore.Slot()
    def _on_frame_rendered(self) -> None:
        if self.view_phase is ViewPhase.DRAWING:
            self.view_phase = ViewPhase.IDLE
            self.scene_shown.emit()
            self._settle()

    def _settle(self) -> None:
        """Called whenever a step ends: start the next import, or report idle."""
        if self.phase is not IntakePhase.IDLE or self._loading_job is not None:
            return
        if self._queue:
            self._start_next_import()
            return
        if self._batch is not None:
            batch, self._batch = self._batch, None
            self.batch_finished.emit(batch.failures)
        if self.view_phase is ViewPhase.IDLE:
            self.settled.emit()
            self._build_proxy()

    def _build_proxy(self) -> None:
        """Build the orbit proxy of a big model, after storing and measuring are done."""
        prepared, self._proxy_for = self._proxy_for, None
        if prepared is None:
            return
        job = Job(make_proxy, prepared, title="Preparing smooth orbiting", takes_progress=False)
        job.finished.connect(self._on_proxy_built)
        job.failed.connect(self._on_proxy_failed)
        self._run_quietly(job)

    @QtCore.Slot(object)
    def _on_proxy_built(self, proxy: PreparedScene | None) -> None:
        self.viewport.set_proxy(proxy)  # ignored if another scene is shown by now

    @QtCore.Slot(object)
    def _on_proxy_failed(self, exc: BaseException) -> None:
        log.warning("no orbit proxy: %s", exc)  # orbiting just stays at full detail


class _Relay(QtCore.QObject):
    """Bound slots on the GUI thread for a job's one-off callbacks (never lambdas)."""

    def __init__(
        self,
        on_finished: Callable[[object], None],
        on_failed: Callable[[BaseException], None],
        parent: QtCore.QObject,
    ) -> None:
        super().__init__(parent)
        self._on_finished = on_finished
        self._on_failed = on_failed

    @QtCore.Slot(object)
    def finished(self, result: object) -> None:
        self._on_finished(result)
        self.deleteLater()

    @QtCore.Slot(object)
    def failed(self, exc: BaseException) -> None:
        self._on_failed(exc)
        self.deleteLater()
