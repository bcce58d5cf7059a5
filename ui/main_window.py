"""The main window: a shell around the viewport, the side bars and the status bar.

The window owns the :class:`~studio.workspace.Workspace` (settings, selection, account state)
and wires the views to it; the work lives in its own modules: opening files and versions
(:mod:`ui.opening`), the status bar (:mod:`ui.status_area`), the actions and menus
(:mod:`ui.window_actions`), the account corner (:mod:`ui.account_toolbar`), the side bars
(:mod:`ui.side_bar`) and the banner over the viewport (:mod:`ui.version_banner`).

Files dropped anywhere become new models; files dropped on the versions list become the
next version of the selected model; pictures dropped go to Generate.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from studio import meshes
from studio.library import GenerationRecord, ImportResult, Library, VersionRecord
from studio.meshes import Limits
from studio.settings import Settings, save_settings
from studio.workspace import Workspace
from ui.account import AccountController
from ui.account_toolbar import AccountBridge, AccountToolbar
from ui.errors import ErrorReporter
from ui.failures import FailureDialog
from ui.generations import GenerationController
from ui.inspector import Inspector
from ui.library_events import LibraryEvents
from ui.library_panel import LibraryPanel
from ui.opening import Failure, Intake, Shown
from ui.placement_box import PlacementBox, scrolling_page
from ui.prompt_panel import PromptPanel, is_image
from ui.qt_events import process_events
from ui.settings_dialog import SettingsDialog
from ui.side_bar import SideBar, Workbench
from ui.status_area import StatusArea
from ui.theme import apply_theme
from ui.version_banner import VersionBanner
from ui.version_browser import Confirm, VersionBrowser
from ui.version_work import VersionWork
from ui.window_actions import ShortcutsDialog, WindowActions
from ui.worker import Job, JobRunner
from viewer.viewport import ViewMode, Viewport

log = logging.getLogger(__name__)

SAMPLE_MODEL = Path(__file__).resolve().parent.parent / "resources" / "sample" / "kiln-vase.glb"
FILE_FILTER = "3D models (*.stl *.obj *.glb *.gltf *.ply *.off *.3mf);;All files (*)"
#: The viewport keeps at least this share of the window's width while panels are open.
VIEWPORT_SHARE = 0.6


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
        self.workspace = Workspace(library, settings)
        self._config_dir = config_dir
        self._busy = False
        self.errors = ErrorReporter(self, log_path)
        self.runner = JobRunner(self)
        self.events = LibraryEvents(library, self)
        self.events.changed.connect(self.workspace.on_library_changed)

        self.viewport = Viewport(self, view=settings.view)
        self.banner = VersionBanner(self.workspace.selection, self)
        self.library_panel = LibraryPanel(library, self.events, self)
        self.version_browser = VersionBrowser(library, self.events, self, confirm=confirm)
        self.inspector = Inspector(self)
        self.generations = generations or _default_generations(library, settings, self)
        self.generations.setParent(self)  # destroyed with the window, before the QApplication
        self.prompt_panel = PromptPanel(self.generations, library, self.events, self)
        self.prompt_panel.set_provider(settings.generation_provider)
        self.prompt_panel.set_quality(settings.generation_quality)
        self.account = account or AccountController(None, self.generations.jobs, self)
        self.account.setParent(self)
        AccountBridge(self.account, self.workspace.account)
        self._build_layout()

        self.status = StatusArea(self.statusBar())
        self.status.cancel_requested.connect(self.cancel_current)
        self.intake = Intake(
            self.workspace, self.viewport, self._start_job, self.runner.start, lambda: self.limits
        )
        self.work = VersionWork(
            self,
            library=library,
            settings=settings,
            intake=self.intake,
            viewport=self.viewport,
            browser=self.version_browser,
            status=self.status,
            errors=self.errors,
            inspector=self.inspector,
            placement=self.placement_box,
            show=self.workspace.show_version,
        )
        self.window_actions = WindowActions(self)
        self.window_actions.build_menus()
        self.addToolBar(self.window_actions.build_toolbar())
        self.account_bar = AccountToolbar(self.account, self.workspace.account, self)
        self.addToolBar(self.account_bar)
        self._connect()
        self._apply_theme()
        self.window_actions.sync_checks(settings.view, settings.theme)
        self.inspector.set_unit(settings.view.unit)
        self._restore_layout()
        if settings.load_problem:
            self.status.show_message(settings.load_problem, "settings")

    # ------------------------------------------------------------------ layout
    def _build_layout(self) -> None:
        center = QtWidgets.QWidget()
        center_layout = QtWidgets.QVBoxLayout(center)
        center_layout.setContentsMargins(0, 0, 0, 0)
        center_layout.setSpacing(0)
        center_layout.addWidget(self.banner)
        center_layout.addWidget(self.viewport, 1)
        self.left_bar = SideBar("leftBar", side=QtCore.Qt.Edge.LeftEdge)
        models = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        models.setObjectName("librarySplitter")
        models.addWidget(self.library_panel)
        models.addWidget(self.version_browser)
        models.setSizes([500, 300])
        self.left_bar.add_page("library", "Library", "library", models)
        self.right_bar = SideBar("rightBar", side=QtCore.Qt.Edge.RightEdge)
        self.placement_box = PlacementBox()
        scroll = scrolling_page(self.placement_box, self.inspector)
        self.right_bar.add_page("inspector", "Inspector", "inspector", scroll)
        self.right_bar.add_page("generate", "Generate", "generate", self.prompt_panel)
        self.splitter = Workbench(self.left_bar, center, self.right_bar, share=VIEWPORT_SHARE)
        self.setCentralWidget(self.splitter)
        self.left_bar.page_changed.connect(self._on_left_page)
        self.right_bar.page_changed.connect(self._on_right_page)

    def _on_left_page(self, page: str) -> None:
        self.settings.left_panel = page

    def _on_right_page(self, page: str) -> None:
        self.settings.right_panel = page

    def _connect(self) -> None:
        self.library_panel.model_selected.connect(self._on_model_selected)
        self.version_browser.view_requested.connect(self.intake.view_version)
        self.version_browser.export_requested.connect(self.work.export)
        self.version_browser.files_dropped.connect(self._on_files_dropped_as_version)
        self.version_browser.failed.connect(self.errors.report)
        self.version_browser.message.connect(self.status.show_message)
        self.version_browser.deleted.connect(self.work.offer_undo)
        self.library_panel.failed.connect(self.errors.report)
        self.library_panel.export_requested.connect(self.work.export_model)
        self.library_panel.delete_requested.connect(self._delete_model)
        self.banner.set_active_requested.connect(self._set_active)
        self.banner.show_active_requested.connect(self.intake.view_version)
        self.inspector.repair_requested.connect(self.work.repair_shown)
        self.prompt_panel.view_requested.connect(self._on_generation_view)
        self.prompt_panel.failed.connect(self.errors.report)
        self.prompt_panel.choices_changed.connect(self._on_generation_choices)
        self.prompt_panel.set_price_source(self.account.price)
        self.generations.finished.connect(self._on_generation_finished)
        self.generations.crashed.connect(self.errors.report)
        self.account.state_changed.connect(self._on_account_state)
        self.account.failed.connect(self._on_account_failed)
        self.account.synced.connect(self._on_synced)
        self.errors.reported.connect(self.status.show_message)
        self.intake.message.connect(self.status.show_message)
        self.intake.imported.connect(self._on_imported)
        self.intake.failed.connect(self.errors.report)
        self.intake.batch_finished.connect(self._on_batch_finished)
        self.intake.scene_shown.connect(self.scene_shown)
        self.intake.settled.connect(self._on_settled)
        self.workspace.selection.events.shown.connect(self._on_shown_version)
        self.settings.view.events.connect(self._on_view_changed)
        self.settings.events.theme.connect(self._apply_theme)
        hints = QtGui.QGuiApplication.styleHints()
        if hints is not None:
            hints.colorSchemeChanged.connect(self._apply_theme)

    # ------------------------------------------------------------------ views of state
    @property
    def shown(self) -> Shown | None:
        return self.intake.shown

    @property
    def failures(self) -> list[str]:
        return self.intake.failures

    @property
    def status_label(self) -> QtWidgets.QLabel:
        return self.status.label

    @property
    def limits(self) -> Limits:
        s = self.settings
        return Limits(s.max_file_size, s.max_triangles, max_texture_pixels=s.max_texture_pixels)

    @property
    def busy(self) -> bool:
        return self._busy

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)

    def _on_view_changed(self, *_: Any) -> None:
        self.window_actions.sync_checks(self.settings.view, self.settings.theme)
        self.inspector.set_unit(self.settings.view.unit)

    def _apply_theme(self, *_: Any) -> None:
        app = QtWidgets.QApplication.instance()
        if isinstance(app, QtWidgets.QApplication):
            apply_theme(app, self.settings.theme)

    # ------------------------------------------------------------------ settings
    def _restore_layout(self) -> None:
        if self.settings.window_geometry:
            self.restoreGeometry(
                QtCore.QByteArray.fromBase64(self.settings.window_geometry.encode())
            )
        if self.settings.window_state:
            self.restoreState(QtCore.QByteArray.fromBase64(self.settings.window_state.encode()))
        self.left_bar.show_page(self.settings.left_panel)
        self.right_bar.show_page(self.settings.right_panel)

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
            self.save_settings()

    def set_view_mode(self, mode: ViewMode) -> None:
        self.viewport.set_mode(mode)

    def set_unit(self, unit: str) -> None:
        self.viewport.set_unit(unit)

    def set_theme(self, theme: str) -> None:
        self.settings.theme = theme  # type: ignore[assignment]

    def show_shortcuts(self) -> None:
        ShortcutsDialog(self.window_actions.cheat_sheet(), self).exec()

    # ------------------------------------------------------------------ work
    def _start_job(self, job: Job, cancellable: bool) -> Job:
        """Start ``job`` with the status bar wired to it."""
        self._set_busy(True)
        self.status.track(job, cancellable=cancellable)
        return self.runner.start(job)

    @QtCore.Slot()
    def cancel_current(self) -> None:
        if self.status.job is not None:
            self.status.job.cancel()

    def _on_settled(self) -> None:
        self.status.end()
        self._set_busy(False)

    def _on_batch_finished(self, failures: list[Failure]) -> None:
        if len(failures) == 1:
            self.errors.report(failures[0].error, failures[0].context)
        elif failures:
            self.status.show_message(f"{len(failures)} files could not be added.", "open")
            if self.errors.interactive:
                FailureDialog(failures, self).exec()

    def warm_up(self) -> Job:
        """Import the file readers on a worker while the designer looks at the window."""
        job = Job(meshes.warm_up, title="Getting ready", takes_progress=False)
        job.finished.connect(self._on_warmed_up)
        job.failed.connect(self._on_warmed_up)  # a failed warm-up only costs speed
        return self.runner.start(job)

    @QtCore.Slot(object)
    def _on_warmed_up(self, _result: object) -> None:
        self.warmed_up.emit()

    # ------------------------------------------------------------------ opening
    def open_dialog(self) -> None:
        paths, _ = QtWidgets.QFileDialog.getOpenFileNames(
            self, "Open 3D models", self.settings.last_directory, FILE_FILTER
        )
        if paths:
            self.settings.last_directory = str(Path(paths[0]).parent)
            self.open_files([Path(p) for p in paths])

    def open_files(self, paths: Sequence[Path], model_id: int | None = None) -> None:
        """Import each file as a new model (or as new versions of ``model_id``) and show it."""
        self._set_busy(True)
        self.intake.open_files([Path(p) for p in paths], model_id)

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

    def _on_imported(self, result: ImportResult) -> None:
        self.library_panel.select_model(result.model.id, emit=False)
        self.version_browser.set_model(result.model.id)
        self.version_browser.select_number(result.version.number)

    def _on_shown_version(self, version: VersionRecord | None) -> None:
        self.work.show_placement(version)
        if version is None:
            return
        model = self.library.get_model(version.model_id)
        self.inspector.show_stats(
            f"{model.name} — v{version.number}", version.stats, can_repair=True
        )
        self.prompt_panel.set_target_model(model.id, model.name)

    @QtCore.Slot(int)
    def _on_model_selected(self, model_id: int) -> None:
        self.version_browser.set_model(model_id)
        self.workspace.select_model(model_id)
        self.intake.view_version(self.library.active_version(model_id))

    def _set_active(self, version: VersionRecord) -> None:
        try:
            active = self.library.set_active_version(version.model_id, version.number)
        except Exception as exc:  # a LibraryError has its sentence; anything else is a bug
            self.errors.report(exc)
            return
        self.status.show_message(f"Version {active.number} is now the active one.", "versions")

    # ------------------------------------------------------------------ account
    @QtCore.Slot(bool, str)
    def _on_account_state(self, _signed_in: bool, _email: str) -> None:
        self.prompt_panel.set_price_source(self.account.price)

    @QtCore.Slot(object)
    def _on_account_failed(self, exc: BaseException) -> None:
        if not self.account.dialogs_showing_errors:  # an open sign-in dialog shows its own
            self.errors.report(exc)

    @QtCore.Slot(object)
    def _on_synced(self, report: object) -> None:
        summary = str(getattr(report, "summary", "") or "Synced.")
        self.status.show_message(summary, "account")
        self.account_bar.sync_label.setToolTip(
            "\n".join([summary, *getattr(report, "messages", [])])
        )
        self.library_panel.refresh()

    # ------------------------------------------------------------------ generations
    @QtCore.Slot(str, str)
    def _on_generation_choices(self, provider: str, quality: str) -> None:
        self.settings.generation_provider = provider  # type: ignore[assignment]
        self.settings.generation_quality = quality  # type: ignore[assignment]

    def show_generate_panel(self) -> None:
        self.right_bar.show_page("generate")

    @QtCore.Slot(object)
    def _on_generation_finished(self, record: GenerationRecord) -> None:
        self.account.refresh_balance()  # charged on success, released otherwise
        if record.status == "succeeded" and record.result_version_id is not None:
            # The new model appears in the library and the viewport without a click.
            self._show_version_of(self.library.get_version_by_id(record.result_version_id))

    @QtCore.Slot(object)
    def _on_generation_view(self, record: GenerationRecord) -> None:
        if record.result_version_id is not None:
            self._show_version_of(self.library.get_version_by_id(record.result_version_id))

    def _show_version_of(self, version: VersionRecord) -> None:
        self.library_panel.refresh()
        self.library_panel.select_model(version.model_id, emit=False)
        self.version_browser.set_model(version.model_id)
        self.version_browser.select_number(version.number)
        self.intake.view_version(version)

    # ------------------------------------------------------------------ versions
    @QtCore.Slot(list, int)
    def _on_files_dropped_as_version(self, paths: list[Path], model_id: int) -> None:
        self.open_files(paths, model_id=model_id)

    def _delete_model(self, model_id: int) -> None:
        self.version_browser.set_model(model_id)
        self.version_browser.select_number(self.library.active_version(model_id).number)
        self.version_browser.delete_model()

    def export_version(self, version: VersionRecord, out: Path) -> Job:
        return self.work.export_version(version, out)

    def grab_window(self, path: Path) -> Path:
        """Save the whole window, viewport included, as it is on screen."""
        self.viewport.render_now()
        process_events()
        image = self.screen().grabWindow(self.winId())
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
        for receiver in (self, self.intake, *self.generations.children(), *self.account.children()):
            QtCore.QCoreApplication.removePostedEvents(receiver)
        self.events.detach()
        self.banner.detach()
        self.work.detach()
        self.account_bar.detach()
        self.settings.view.events.disconnect(self._on_view_changed)
        self.settings.events.theme.disconnect(self._apply_theme)
        hints = QtGui.QGuiApplication.styleHints()
        if hints is not None:
            hints.colorSchemeChanged.disconnect(self._apply_theme)
        self.viewport.close_viewport()
        super().closeEvent(event)


def _default_generations(
    library: Library, settings: Settings, parent: QtCore.QObject
) -> GenerationController:
    from studio.jobs import Jobs
    from studio.jobs.connections import Connections

    return GenerationController(Jobs(library, Connections(settings)), parent)
