"""The main window: viewport in the middle, library and versions on the left, inspector right.

Files dropped anywhere become new models; files dropped on the versions panel become the
next version of the selected model. Every load runs off the GUI thread: the file is read
and shown first (first frame), then measured and stored in the library.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from studio import meshes
from studio.library import GenerationRecord, ImportResult, Library, VersionRecord
from studio.library.repairs import repair_to_library
from studio.meshes import Limits, Scene
from studio.settings import Settings, save_settings
from studio.work import NEVER_CANCELLED, CancelToken, Progress, no_progress
from ui.account import AccountController, CreditsDialog, SignInDialog
from ui.errors import ErrorReporter
from ui.generations import GenerationController
from ui.inspector import Inspector
from ui.library_events import LibraryEvents
from ui.library_panel import LibraryPanel
from ui.prompt_panel import PromptPanel, is_image
from ui.settings_dialog import SettingsDialog
from ui.version_browser import Confirm, VersionBrowser
from ui.worker import Job, JobRunner
from viewer.geometry import PROXY_THRESHOLD, PreparedScene, make_proxy, prepare_scene
from viewer.viewport import StandardView, ViewMode, Viewport

log = logging.getLogger(__name__)

#: Work that takes longer than this shows the progress bar.
PROGRESS_DELAY_MS = 300
SAMPLE_MODEL = Path(__file__).resolve().parent.parent / "resources" / "sample" / "kiln-vase.glb"
FILE_FILTER = "3D models (*.stl *.obj *.glb *.gltf *.ply *.off *.3mf);;All files (*)"
EXPORT_FILTERS = {
    ".glb": "GLB (*.glb)",
    ".obj": "OBJ (*.obj)",
    ".stl": "STL (*.stl)",
    ".ply": "PLY (*.ply)",
    ".off": "OFF (*.off)",
    ".3mf": "3MF (*.3mf)",
}


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


class MainWindow(QtWidgets.QMainWindow):
    """Kiln Studio's window. Dependencies come in; nothing is fetched from globals."""

    #: True while files are loading or being stored; False when everything has settled.
    busy_changed = QtCore.Signal(bool)
    #: A model is on screen: the scene was shown and its first frame rendered.
    scene_shown = QtCore.Signal()
    #: The file readers are imported (see :meth:`warm_up`).
    warmed_up = QtCore.Signal()

    def __init__(
        self,
        library: Library,
        settings: Settings,
        *,
        config_dir: Path | None = None,
        log_path: Path | None = None,
        confirm: Confirm | None = None,
        generations: GenerationController | None = None,
        account: AccountController | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("Kiln Studio")
        self.setAcceptDrops(True)
        self.resize(1440, 900)
        self.library = library
        self.settings = settings
        self._config_dir = config_dir
        self.errors = ErrorReporter(self, log_path)
        self.runner = JobRunner(self)
        self.events = LibraryEvents(library, self)
        self.shown: Shown | None = None
        self.failures: list[str] = []
        self._queue: deque[PendingImport] = deque()
        self._importing = False
        self._busy = False
        self._loading_job: Job | None = None
        self._current_job: Job | None = None
        #: A big scene on screen still waiting for its orbit proxy (built once idle).
        self._proxy_for: PreparedScene | None = None

        self.viewport = Viewport(self, view=settings.view)
        self.setCentralWidget(self.viewport)
        self.library_panel = LibraryPanel(library, self.events, self)
        self.version_browser = VersionBrowser(library, self.events, self, confirm=confirm)
        self.inspector = Inspector(self)
        self.inspector.setMinimumWidth(340)
        self.generations = generations or _default_generations(library, settings, self)
        self.generations.setParent(self)  # destroyed with the window, before the QApplication
        self.prompt_panel = PromptPanel(self.generations, library, self.events, self)
        self.prompt_panel.set_provider(settings.generation_provider)
        self.prompt_panel.set_quality(settings.generation_quality)
        self.prompt_panel.choices_changed.connect(self._on_generation_choices)
        self.account = account or AccountController(None, self.generations.jobs, self)
        self.account.setParent(self)
        self.library_panel.setMinimumWidth(320)
        left = QtCore.Qt.DockWidgetArea.LeftDockWidgetArea
        right = QtCore.Qt.DockWidgetArea.RightDockWidgetArea
        self._add_dock("Library", "libraryDock", self.library_panel, left)
        self._add_dock("Versions", "versionsDock", self.version_browser, left)
        inspector_dock = self._add_dock("Inspector", "inspectorDock", self.inspector, right)
        self.generate_dock = self._add_dock("Generate", "generateDock", self.prompt_panel, right)
        self.tabifyDockWidget(inspector_dock, self.generate_dock)
        inspector_dock.raise_()
        self._build_status_bar()
        self._build_actions()
        self._build_menus_and_toolbar()

        self.library_panel.model_selected.connect(self._on_model_selected)
        self.version_browser.view_requested.connect(self._on_view_version)
        self.version_browser.export_requested.connect(self._on_export_version)
        self.version_browser.files_dropped.connect(self._on_files_dropped_as_version)
        self.version_browser.failed.connect(self.errors.report)
        self.inspector.repair_requested.connect(self._on_repair)
        self.prompt_panel.view_requested.connect(self._on_generation_view)
        self.prompt_panel.failed.connect(self.errors.report)
        self.generations.finished.connect(self._on_generation_finished)
        self.account.state_changed.connect(self._on_account_state)
        self.account.balance_changed.connect(self._on_balance)
        self.account.failed.connect(self._on_account_failed)
        self.account.synced.connect(self._on_synced)
        self.prompt_panel.set_price_source(self.account.price)
        self.generations.crashed.connect(self.errors.report)
        self.errors.reported.connect(self._show_status)
        self.viewport.frame_rendered.connect(self._on_frame_rendered)
        self._awaiting_frame = False
        self._apply_view_settings()
        self._restore_layout()

    # ------------------------------------------------------------------ layout
    def _add_dock(
        self, title: str, name: str, widget: QtWidgets.QWidget, area: QtCore.Qt.DockWidgetArea
    ) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.status_label = QtWidgets.QLabel("")
        self.status_label.setObjectName("statusLabel")
        self.progress_bar = QtWidgets.QProgressBar()
        self.progress_bar.setObjectName("progressBar")
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setMaximumWidth(260)
        self.progress_bar.setTextVisible(True)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.clicked.connect(self.cancel_current)
        bar.addWidget(self.status_label, 1)
        bar.addPermanentWidget(self.progress_bar)
        bar.addPermanentWidget(self.cancel_button)
        self.progress_bar.hide()
        self.cancel_button.hide()
        self._progress_timer = QtCore.QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(PROGRESS_DELAY_MS)
        self._progress_timer.timeout.connect(self._reveal_progress)

    def _action(
        self,
        text: str,
        slot: Any,
        shortcut: str | None = None,
        *,
        checkable: bool = False,
        name: str = "",
    ) -> QtGui.QAction:
        action = QtGui.QAction(text, self)
        if name:
            action.setObjectName(name)
        if shortcut:
            action.setShortcut(QtGui.QKeySequence(shortcut))
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action("&Open…", self.open_dialog, "Ctrl+O", name="openAction")
        self.export_action = self._action(
            "&Export Shown Version…", self.export_shown, "Ctrl+E", name="exportAction"
        )
        self.screenshot_action = self._action(
            "Save &Screenshot…", self.screenshot_dialog, "Ctrl+Shift+S", name="screenshotAction"
        )
        self.transparent_screenshot_action = self._action(
            "Save Screenshot with &Transparent Background…",
            lambda: self.screenshot_dialog(transparent=True),
            name="transparentScreenshotAction",
        )
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q", name="quitAction")
        self.preferences_action = self._action(
            "&Settings…", self.open_preferences, "Ctrl+,", name="preferencesAction"
        )
        self.mode_group = QtGui.QActionGroup(self)
        self.mode_actions: dict[ViewMode, QtGui.QAction] = {}
        for index, mode in enumerate(ViewMode, start=1):
            action = self._action(
                mode.label,
                self._mode_slot(mode),
                f"Ctrl+{index}",
                checkable=True,
                name=f"mode_{mode.value}",
            )
            self.mode_group.addAction(action)
            self.mode_actions[mode] = action
        view_keys = {
            StandardView.FRONT: "1",
            StandardView.BACK: "2",
            StandardView.LEFT: "3",
            StandardView.RIGHT: "4",
            StandardView.TOP: "5",
            StandardView.BOTTOM: "6",
            StandardView.ISO: "0",
        }
        self.view_actions = {
            view: self._action(
                f"{view.label} View", self._view_slot(view), key, name=f"view_{view.value}"
            )
            for view, key in view_keys.items()
        }
        self.fit_action = self._action("&Fit to Model", self.viewport.fit, "F", name="fitAction")
        self.ortho_action = self._action(
            "&Orthographic Projection",
            self._on_ortho_toggled,
            "O",
            checkable=True,
            name="orthoAction",
        )
        self.grid_action = self._action("Show &Grid", self._on_grid_toggled, "G", checkable=True)
        self.axes_action = self._action("Show &Axes", self._on_axes_toggled, "A", checkable=True)
        self.bounds_action = self._action(
            "Show &Bounding Box and Dimensions", self._on_bounds_toggled, "B", checkable=True
        )
        self.unit_group = QtGui.QActionGroup(self)
        self.unit_actions = {}
        for unit in ("mm", "cm", "m", "in"):
            action = self._action(unit, self._unit_slot(unit), checkable=True, name=f"unit_{unit}")
            self.unit_group.addAction(action)
            self.unit_actions[unit] = action

    def _mode_slot(self, mode: ViewMode) -> Any:
        return lambda: self.set_view_mode(mode)

    def _view_slot(self, view: StandardView) -> Any:
        return lambda: self.viewport.set_view(view)

    def _unit_slot(self, unit: str) -> Any:
        return lambda: self.set_unit(unit)

    def _build_menus_and_toolbar(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.setObjectName("recentMenu")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.screenshot_action)
        file_menu.addAction(self.transparent_screenshot_action)
        file_menu.addSeparator()
        file_menu.addAction(self.preferences_action)
        file_menu.addAction(self.quit_action)
        view_menu = menu.addMenu("&View")
        for action in self.mode_actions.values():
            view_menu.addAction(action)
        view_menu.addSeparator()
        for action in self.view_actions.values():
            view_menu.addAction(action)
        view_menu.addAction(self.fit_action)
        view_menu.addAction(self.ortho_action)
        view_menu.addSeparator()
        view_menu.addAction(self.grid_action)
        view_menu.addAction(self.axes_action)
        view_menu.addAction(self.bounds_action)
        units_menu = view_menu.addMenu("&Units")
        for action in self.unit_actions.values():
            units_menu.addAction(action)
        toolbar = self.addToolBar("View")
        toolbar.setObjectName("viewToolbar")
        toolbar.addAction(self.open_action)
        toolbar.addSeparator()
        for action in self.mode_actions.values():
            toolbar.addAction(action)
        toolbar.addSeparator()
        for view in (StandardView.FRONT, StandardView.RIGHT, StandardView.TOP, StandardView.ISO):
            toolbar.addAction(self.view_actions[view])
        toolbar.addAction(self.fit_action)
        toolbar.addAction(self.ortho_action)
        self._build_account_toolbar()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for entry in self.settings.recent_files:
            action = self.recent_menu.addAction(entry)
            action.triggered.connect(self._recent_slot(Path(entry)))
        if not self.settings.recent_files:
            self.recent_menu.addAction("No recent files").setEnabled(False)

    def _recent_slot(self, path: Path) -> Any:
        return lambda: self.open_files([path])

    # ------------------------------------------------------------------ settings
    def _apply_view_settings(self) -> None:
        view = self.settings.view
        self.mode_actions[ViewMode(view.mode)].setChecked(True)
        self.ortho_action.setChecked(view.projection == "orthographic")
        self.grid_action.setChecked(view.show_grid)
        self.axes_action.setChecked(view.show_axes)
        self.bounds_action.setChecked(view.show_bounds)
        self.unit_actions[view.unit].setChecked(True)
        self.inspector.set_unit(view.unit)

    def _restore_layout(self) -> None:
        if self.settings.window_geometry:
            self.restoreGeometry(
                QtCore.QByteArray.fromBase64(self.settings.window_geometry.encode())
            )
        if self.settings.window_state:
            self.restoreState(QtCore.QByteArray.fromBase64(self.settings.window_state.encode()))

    def save_settings(self) -> None:
        self.settings.window_geometry = bytes(self.saveGeometry().toBase64().data()).decode()
        self.settings.window_state = bytes(self.saveState().toBase64().data()).decode()
        try:
            save_settings(self.settings, self._config_dir)
        except OSError as exc:
            log.warning("could not save settings: %s", exc)

    def open_preferences(self, *, providers: bool = False) -> None:
        dialog = SettingsDialog(self.settings, self)
        dialog.test_key.connect(self.generations.fetch_balance)
        self.generations.balance.connect(dialog.show_balance)
        if providers:
            dialog.show_providers()
        accepted = dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted
        self.generations.balance.disconnect(dialog.show_balance)
        if accepted:
            dialog.apply()
            self.set_unit(dialog.units.currentText())
            self.save_settings()

    def set_view_mode(self, mode: ViewMode) -> None:
        self.mode_actions[mode].setChecked(True)
        self.viewport.set_mode(mode)

    def set_unit(self, unit: str) -> None:
        self.unit_actions[unit].setChecked(True)
        self.viewport.set_unit(unit)
        self.inspector.set_unit(unit)

    def _on_ortho_toggled(self, checked: bool) -> None:
        self.viewport.set_parallel_projection(checked)

    def _on_grid_toggled(self, checked: bool) -> None:
        self.viewport.set_grid_visible(checked)

    def _on_axes_toggled(self, checked: bool) -> None:
        self.viewport.set_axes_visible(checked)

    def _on_bounds_toggled(self, checked: bool) -> None:
        self.viewport.set_bounds_visible(checked)

    @property
    def limits(self) -> Limits:
        return Limits(
            max_file_size=self.settings.max_file_size, max_triangles=self.settings.max_triangles
        )

    # ------------------------------------------------------------------ progress
    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)

    @property
    def busy(self) -> bool:
        return self._busy

    def _run(self, job: Job, *, cancellable: bool = True) -> Job:
        """Start ``job`` with the status bar wired to it."""
        self._current_job = job
        self._set_busy(True)
        job.progress.connect(self._on_progress)
        self._show_status(job.title)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat(job.title)
        self.cancel_button.setEnabled(cancellable)
        self._progress_timer.start()
        return self.runner.start(job)

    @QtCore.Slot()
    def _reveal_progress(self) -> None:
        if self._current_job is not None and not self._current_job.done:
            self.progress_bar.show()
            self.cancel_button.show()

    @QtCore.Slot(float, str)
    def _on_progress(self, fraction: float, stage: str) -> None:
        self.progress_bar.setValue(int(fraction * 1000))
        self.progress_bar.setFormat(stage)

    def _end_progress(self) -> None:
        self._progress_timer.stop()
        self.progress_bar.hide()
        self.cancel_button.hide()
        self._current_job = None

    @QtCore.Slot()
    def cancel_current(self) -> None:
        if self._current_job is not None:
            self._current_job.cancel()

    @QtCore.Slot(str)
    def _show_status(self, text: str) -> None:
        self.status_label.setText(text)

    def _settle(self) -> None:
        """Called whenever a step ends: start the next import or report idle."""
        if self._importing or self._loading_job is not None:
            return
        if self._queue:
            self._start_next_import()
            return
        self._end_progress()
        if not self._awaiting_frame:
            self._set_busy(False)
            self._build_proxy()

    def _fail(self, exc: BaseException, context: str) -> None:
        self.failures.append(f"{context} {exc}".strip())
        self.errors.report(exc, context)

    def warm_up(self) -> Job:
        """Import the file readers on a worker while the designer looks at the window."""
        job = Job(meshes.warm_up, title="Getting ready", takes_progress=False)
        job.finished.connect(self._on_warmed_up)
        job.failed.connect(self._on_warmed_up)  # a failed warm-up only costs speed
        return self.runner.start(job)

    @QtCore.Slot(object)
    def _on_warmed_up(self, _result: object) -> None:
        self.warmed_up.emit()

    # ------------------------------------------------------------------ opening files
    def open_dialog(self) -> None:
        paths, _ = QtWidgets.QFileDialog.getOpenFileNames(
            self, "Open 3D models", self.settings.last_directory, FILE_FILTER
        )
        if paths:
            self.settings.last_directory = str(Path(paths[0]).parent)
            self.open_files([Path(p) for p in paths])

    def open_files(self, paths: list[Path], model_id: int | None = None) -> None:
        """Import each file as a new model (or as new versions of ``model_id``) and show it."""
        for path in paths:
            self._queue.append(PendingImport(Path(path), model_id))
        self._set_busy(True)
        self._settle()

    def show_first_launch_sample(self) -> None:
        """On the very first launch, put the bundled sample in the library and show it."""
        if self.settings.first_launch_done:
            return
        self.settings.first_launch_done = True
        if not self.library.list_models() and SAMPLE_MODEL.exists():
            self.open_files([SAMPLE_MODEL])

    def show_latest_model(self) -> None:
        models = self.library.list_models()
        if models:
            self.library_panel.select_model(models[0].id)

    def _start_next_import(self) -> None:
        pending = self._queue.popleft()
        self._importing = True
        job = Job(load_for_view, pending.path, self.limits, title=f"Opening {pending.path.name}")
        job.finished.connect(self._on_loaded_for_import)
        job.failed.connect(self._on_load_failed)
        self._pending = pending
        self._run(job)

    @QtCore.Slot(object)
    def _on_loaded_for_import(self, result: tuple[Scene, PreparedScene]) -> None:
        scene, prepared = result
        pending = self._pending
        self._show(Shown(scene=scene, path=pending.path), prepared)
        self.inspector.show_computing(pending.path.name)
        for note in scene.notes:
            self._show_status(note)
        job = Job(
            self.library.import_file,
            pending.path,
            model_id=pending.model_id,
            scene=scene,
            limits=self.limits,
            title=f"Adding {pending.path.name} to the library",
        )
        job.finished.connect(self._on_imported)
        job.failed.connect(self._on_import_failed)
        self._run(job)

    @QtCore.Slot(object)
    def _on_load_failed(self, exc: BaseException) -> None:
        self._importing = False
        self._fail(exc, f"Couldn't open {self._pending.path.name}:")
        self._settle()

    @QtCore.Slot(object)
    def _on_import_failed(self, exc: BaseException) -> None:
        self._importing = False
        self._fail(exc, f"Couldn't add {self._pending.path.name} to the library:")
        self._settle()

    @QtCore.Slot(object)
    def _on_imported(self, result: ImportResult) -> None:
        self._importing = False
        pending = self._pending
        self.settings.add_recent_file(str(pending.path))
        version = result.version
        if self.shown is not None and self.shown.path == pending.path:
            self.shown.model_id = result.model.id
            self.shown.version = version
            if version.thumbnail_sha is None:
                self._make_thumbnail(version, self.shown.scene)
        self.library_panel.select_model(result.model.id, emit=False)
        self.version_browser.set_model(result.model.id)
        self.version_browser.select_number(version.number)
        self._show_version_stats(version)
        if not result.created:
            self._show_status(
                f"{pending.path.name} is already version {version.number} of {result.model.name}."
            )
        else:
            self._show_status(
                f"Added {pending.path.name} as version {version.number} of {result.model.name}."
            )
        self._settle()

    def _make_thumbnail(self, version: VersionRecord, scene: Scene) -> None:
        """Render on the GUI thread (VTK) and store it; a failure here costs only the icon."""
        from viewer.offscreen import render_png

        try:
            self.library.set_thumbnail(version.id, render_png(scene))
        except Exception as exc:  # the version is stored; a missing icon is not fatal
            log.warning("thumbnail for version %s failed: %s", version.id, exc, exc_info=True)

    def _show_version_stats(self, version: VersionRecord) -> None:
        model = self.library.get_model(version.model_id)
        self.inspector.show_stats(
            f"{model.name} — v{version.number}", version.stats, can_repair=True
        )

    # ------------------------------------------------------------------ showing
    def _show(self, shown: Shown, prepared: PreparedScene) -> None:
        self.shown = shown
        self._awaiting_frame = True
        self.viewport.show_scene(prepared)
        self._proxy_for = prepared if prepared.n_faces > PROXY_THRESHOLD else None

    def _build_proxy(self) -> None:
        """Build the orbit proxy of a big model, after storing and measuring are done."""
        prepared, self._proxy_for = self._proxy_for, None
        if prepared is None:
            return
        job = Job(make_proxy, prepared, title="Preparing smooth orbiting", takes_progress=False)
        job.finished.connect(self._on_proxy_built)
        job.failed.connect(self._on_proxy_failed)
        self.runner.start(job)

    @QtCore.Slot(object)
    def _on_proxy_built(self, proxy: PreparedScene | None) -> None:
        self.viewport.set_proxy(proxy)  # ignored if another scene is shown by now

    @QtCore.Slot(object)
    def _on_proxy_failed(self, exc: BaseException) -> None:
        log.warning("no orbit proxy: %s", exc)  # orbiting just stays at full detail

    @QtCore.Slot()
    def _on_frame_rendered(self) -> None:
        if self._awaiting_frame:
            self._awaiting_frame = False
            self.scene_shown.emit()
            self._settle()

    @QtCore.Slot(int)
    def _on_model_selected(self, model_id: int) -> None:
        self.version_browser.set_model(model_id)
        self.prompt_panel.set_target_model(model_id, self.library.get_model(model_id).name)
        version = self.library.active_version(model_id)
        self._view_version(version)

    @QtCore.Slot(object)
    def _on_view_version(self, version: VersionRecord) -> None:
        self._view_version(version)

    def _view_version(self, version: VersionRecord) -> None:
        if (
            self.shown is not None
            and self.shown.version is not None
            and self.shown.version.id == version.id
        ):
            self._show_version_stats(version)
            return
        if self._loading_job is not None:
            self._loading_job.cancel()
        path = self.library.materialize(version)
        job = Job(load_for_view, path, self.limits, title=f"Opening version {version.number}")
        job.finished.connect(self._on_version_loaded)
        job.failed.connect(self._on_version_load_failed)
        self._loading_job = job
        self._loading_version = version
        self._run(job)

    @QtCore.Slot(object)
    def _on_version_loaded(self, result: tuple[Scene, PreparedScene]) -> None:
        if self.sender() is not self._loading_job:
            return  # a newer request replaced this one
        self._loading_job = None
        scene, prepared = result
        version = self._loading_version
        self._show(Shown(scene=scene, model_id=version.model_id, version=version), prepared)
        self._show_version_stats(version)
        name = self.library.get_model(version.model_id).name
        self._show_status(f"Showing version {version.number} of {name}.")
        if version.thumbnail_sha is None:
            self._make_thumbnail(version, scene)
        self._settle()

    @QtCore.Slot(object)
    def _on_version_load_failed(self, exc: BaseException) -> None:
        if self.sender() is not self._loading_job:
            return
        self._loading_job = None
        self._fail(exc, f"Couldn't open version {self._loading_version.number}:")
        self._settle()

    # ------------------------------------------------------------------ account
    def _build_account_toolbar(self) -> None:
        bar = self.addToolBar("Account")
        bar.setObjectName("accountToolbar")
        spacer = QtWidgets.QWidget()
        spacer.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Preferred
        )
        bar.addWidget(spacer)
        self.sync_label = QtWidgets.QLabel("")
        self.sync_label.setObjectName("syncLabel")
        self.sync_label.setStyleSheet("color: #8a8f98; padding: 0 6px;")
        bar.addWidget(self.sync_label)
        self.balance_label = QtWidgets.QLabel("")
        self.balance_label.setObjectName("balanceLabel")
        self.balance_label.setStyleSheet("padding: 0 8px; font-weight: 600;")
        bar.addWidget(self.balance_label)
        self.account_button = QtWidgets.QToolButton()
        self.account_button.setObjectName("accountButton")
        self.account_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        self.account_menu = QtWidgets.QMenu(self.account_button)
        self.sign_in_action = self.account_menu.addAction("Sign in or create an account…")
        self.sign_in_action.triggered.connect(self.open_sign_in)
        self.credits_action = self.account_menu.addAction("Credits…")
        self.credits_action.triggered.connect(self.open_credits)
        self.account.sync_started.connect(self._on_sync_started)
        self.sync_action = self.account_menu.addAction("Sync now")
        self.sync_action.setObjectName("syncNowAction")
        self.sync_action.triggered.connect(self.account.sync_now)
        self.sign_out_action = self.account_menu.addAction("Sign out")
        self.sign_out_action.triggered.connect(self.account.sign_out)
        self.account_button.setMenu(self.account_menu)
        bar.addWidget(self.account_button)
        bar.setVisible(self.account.available)
        self._on_account_state(False, "")

    def open_sign_in(self) -> None:
        SignInDialog(self.account, self).exec()

    def open_credits(self) -> None:
        CreditsDialog(self.account, self).exec()

    @QtCore.Slot(bool, str)
    def _on_account_state(self, signed_in: bool, email: str) -> None:
        self.account_button.setText(email if signed_in else "Sign in")
        self.sign_in_action.setVisible(not signed_in)
        for action in (self.credits_action, self.sign_out_action):
            action.setVisible(signed_in)
        self.sync_action.setVisible(signed_in and self.account.can_sync)
        if not signed_in:
            self.balance_label.setText("")
            self.sync_label.setText("")
        self.prompt_panel.set_price_source(self.account.price)

    @QtCore.Slot(object)
    def _on_balance(self, balance: object) -> None:
        if balance is None:
            self.balance_label.setText("")
            return
        available = getattr(balance, "available", 0)
        held = getattr(balance, "on_hold", 0)
        text = f"{available:,} credits" + (f" · {held:,} on hold" if held else "")
        self.balance_label.setText(text)

    @QtCore.Slot(object)
    def _on_account_failed(self, exc: BaseException) -> None:
        if self.sync_label.text() == "Syncing…":
            self.sync_label.setText("Not synced")
        if not self.account.dialogs_showing_errors:  # an open sign-in dialog shows its own
            self.errors.report(exc)

    @QtCore.Slot()
    def _on_sync_started(self) -> None:
        self.sync_label.setText("Syncing…")

    @QtCore.Slot(object)
    def _on_synced(self, report: object) -> None:
        summary = str(getattr(report, "summary", "") or "Synced.")
        self._show_status(summary)
        self.sync_label.setText(f"Synced {datetime.now().strftime('%H:%M')}")
        self.sync_label.setToolTip("\n".join([summary, *getattr(report, "messages", [])]))
        self.library_panel.refresh()

    # ------------------------------------------------------------------ generations
    @QtCore.Slot(str, str)
    def _on_generation_choices(self, provider: str, quality: str) -> None:
        self.settings.generation_provider = provider  # type: ignore[assignment]
        self.settings.generation_quality = quality  # type: ignore[assignment]

    def show_generate_panel(self) -> None:
        self.generate_dock.show()
        self.generate_dock.raise_()

    @QtCore.Slot(object)
    def _on_generation_finished(self, record: GenerationRecord) -> None:
        self.account.refresh_balance()  # charged on success, released otherwise
        if record.status != "succeeded" or record.result_version_id is None:
            return
        # The new model appears in the library and the viewport without a click.
        version = self.library.get_version_by_id(record.result_version_id)
        self.library_panel.refresh()
        self.library_panel.select_model(version.model_id, emit=False)
        self.version_browser.set_model(version.model_id)
        self.version_browser.select_number(version.number)
        self.prompt_panel.set_target_model(
            version.model_id, self.library.get_model(version.model_id).name
        )
        self._view_version(version)

    @QtCore.Slot(object)
    def _on_generation_view(self, record: GenerationRecord) -> None:
        if record.result_version_id is not None:
            version = self.library.get_version_by_id(record.result_version_id)
            self.library_panel.select_model(version.model_id, emit=False)
            self.version_browser.set_model(version.model_id)
            self._view_version(version)

    # ------------------------------------------------------------------ versions
    @QtCore.Slot(list, int)
    def _on_files_dropped_as_version(self, paths: list[Path], model_id: int) -> None:
        self.open_files(paths, model_id=model_id)

    @QtCore.Slot(object)
    def _on_export_version(self, version: VersionRecord) -> None:
        self._export(version)

    def export_shown(self) -> None:
        if self.shown is None or self.shown.version is None:
            self.errors.report_plain("Open a model from the library first, then export it.")
            return
        self._export(self.shown.version)

    def _export(self, version: VersionRecord) -> None:
        model = self.library.get_model(version.model_id)
        suggested = (
            Path(self.settings.last_directory or Path.home())
            / f"{model.name}-v{version.number}.glb"
        )
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export version", str(suggested), ";;".join(EXPORT_FILTERS.values())
        )
        if path:
            self.export_version(version, Path(path))

    def export_version(self, version: VersionRecord, out: Path) -> Job:
        job = Job(
            self.library.export_version,
            version.model_id,
            out,
            number=version.number,
            title=f"Exporting {out.name}",
            takes_progress=False,
        )
        job.finished.connect(self._on_exported)
        job.failed.connect(self._on_export_failed)
        return self._run(job, cancellable=False)

    @QtCore.Slot(object)
    def _on_exported(self, written: list[Path]) -> None:
        self._show_status(f"Exported {', '.join(p.name for p in written)}.")
        self._settle()

    @QtCore.Slot(object)
    def _on_export_failed(self, exc: BaseException) -> None:
        self._fail(exc, "Export failed:")
        self._settle()

    @QtCore.Slot()
    def _on_repair(self) -> None:
        shown = self.shown
        if shown is None or shown.version is None or shown.model_id is None:
            return
        job = Job(
            repair_to_library,
            self.library,
            shown.scene,
            shown.model_id,
            shown.version,
            title="Repairing",
        )
        job.finished.connect(self._on_repaired)
        job.failed.connect(self._on_repair_failed)
        self._importing = True
        self._run(job)

    @QtCore.Slot(object)
    def _on_repaired(self, result: tuple[ImportResult, Scene]) -> None:
        self._importing = False
        imported, scene = result
        self._make_thumbnail(imported.version, scene)
        self.version_browser.set_model(imported.model.id)
        self._view_version(self.library.get_version(imported.model.id, imported.version.number))
        self._show_status(f"Repaired: version {imported.version.number} added.")
        self._settle()

    @QtCore.Slot(object)
    def _on_repair_failed(self, exc: BaseException) -> None:
        self._importing = False
        self._fail(exc, "Repair failed:")
        self._settle()

    # ------------------------------------------------------------------ screenshots
    def screenshot_dialog(self, transparent: bool = False) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self,
            "Save screenshot",
            str(Path(self.settings.last_directory or Path.home()) / "view.png"),
            "PNG image (*.png)",
        )
        if path:
            self.viewport.screenshot(Path(path), transparent=transparent)
            self._show_status(f"Saved {Path(path).name}.")

    def grab_window(self, path: Path) -> Path:
        """Save the whole window, viewport included, as it is on screen."""
        self.viewport.render_now()
        QtWidgets.QApplication.processEvents()
        screen = self.screen()
        image = screen.grabWindow(self.winId())
        path.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(path), "PNG"):
            raise OSError(f"could not write {path}")
        return path

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QtGui.QDragMoveEvent) -> None:
        self.dragEnterEvent(event)  # type: ignore[arg-type]

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        pictures = [p for p in paths if is_image(p)]
        if pictures:  # photos are inputs for generation, not models
            self.show_generate_panel()
            self.prompt_panel.add_images(pictures)
        models = [p for p in paths if not is_image(p)]
        if models:
            self.open_files(models)

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.save_settings()
        self.generations.shutdown()  # stop following; they resume on the next start
        self.account.shutdown()
        self.runner.shutdown(10_000)
        # Results posted before the shutdown would arrive after the library has closed.
        for receiver in (self, *self.generations.children(), *self.account.children()):
            QtCore.QCoreApplication.removePostedEvents(receiver)
        self.events.detach()
        self.viewport.close_viewport()
        super().closeEvent(event)


def _default_generations(
    library: Library, settings: Settings, parent: QtCore.QObject
) -> GenerationController:
    from studio.jobs import Jobs
    from studio.jobs.connections import Connections

    return GenerationController(Jobs(library, Connections(settings)), parent)
