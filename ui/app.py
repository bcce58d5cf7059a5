"""Start-up: logging, the QApplication, the library, the window; and ``--screenshot`` runs."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore, QtWidgets

from studio import paths
from studio.errors import KilnError
from studio.logs import configure_logging
from studio.settings import Settings, load_settings

if TYPE_CHECKING:
    from studio.library import Library

log = logging.getLogger(__name__)

#: A ``--screenshot`` run gives up after this long.
SCREENSHOT_TIMEOUT_MS = 15 * 60 * 1000


def run(
    files: list[Path],
    *,
    data_dir: Path | None = None,
    screenshot: Path | None = None,
    verbose: bool = False,
) -> int:
    log_path = configure_logging(verbose=verbose)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("Kiln Studio")
    app.setOrganizationName("Kiln")
    from ui.theme import apply_theme

    apply_theme(app)  # type: ignore[arg-type]
    from studio.library import Library

    try:
        library = Library.open(data_dir or paths.data_dir())
    except KilnError as exc:
        QtWidgets.QMessageBox.critical(None, "Kiln Studio", exc.message)
        print(exc.message, file=sys.stderr)
        return 1
    try:
        return _run_window(app, library, files, screenshot, log_path)  # type: ignore[arg-type]
    finally:
        library.close()


def _run_window(
    app: QtWidgets.QApplication,
    library: object,
    files: list[Path],
    screenshot: Path | None,
    log_path: Path,
) -> int:
    from ui.main_window import MainWindow

    settings = load_settings()
    generations, account = _services(library, settings)  # type: ignore[arg-type]
    window = MainWindow(
        library,  # type: ignore[arg-type]
        settings,
        log_path=log_path,
        generations=generations,
        account=account,
    )
    window.errors.install_excepthook()
    if screenshot is not None:
        window.errors.interactive = False
    window.show()
    window.warm_up()
    window.account.start()  # a remembered sign-in puts the Kiln gate in place first
    window.generations.resume_unfinished()
    window.prompt_panel.refresh_balance()
    if files:
        window.open_files(files)
    elif not window.settings.first_launch_done:
        window.show_first_launch_sample()
    else:
        window.show_latest_model()
    if screenshot is None:
        return int(app.exec())
    return _screenshot_when_settled(app, window, screenshot)


def _services(library: Library, settings: Settings) -> tuple[Any, Any]:
    """The generation jobs and the account, wired from the settings."""
    import httpx

    from studio.jobs import Jobs
    from studio.jobs.connections import Connections
    from ui.account import AccountController
    from ui.generations import GenerationController

    jobs = Jobs(library, Connections(settings))
    generations = GenerationController(jobs)
    factory = None
    if settings.account_url:
        from studio.account import AccountClient, TokenStore

        url = settings.account_url

        def factory() -> AccountClient:
            return AccountClient(url, client=httpx.Client(timeout=30.0), tokens=TokenStore())

    def run_sync(account: object) -> object:
        from studio.account.sync import sync_account

        return sync_account(library, account)  # type: ignore[arg-type]

    return generations, AccountController(factory, jobs, sync_run=run_sync)


def _screenshot_when_settled(app: QtWidgets.QApplication, window: object, out: Path) -> int:
    from ui.main_window import MainWindow

    assert isinstance(window, MainWindow)
    result = {"code": 1}

    def finish() -> None:
        if window.busy:
            return
        try:
            window.grab_window(out)
        except OSError as exc:
            print(f"Couldn't save the screenshot: {exc}", file=sys.stderr)
            result["code"] = 1
        else:
            result["code"] = 1 if window.failures else 0
        for failure in window.failures:
            print(failure, file=sys.stderr)
        window.close()
        app.quit()

    def timed_out() -> None:
        print("Gave up waiting for the files to load.", file=sys.stderr)
        window.close()
        app.quit()

    window.busy_changed.connect(lambda busy: None if busy else QtCore.QTimer.singleShot(0, finish))
    QtCore.QTimer.singleShot(0, finish)  # nothing to load: shoot at once
    QtCore.QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, timed_out)
    app.exec()
    return result["code"]
