"""Sign up in the dialog, see 100 credits, generate, see 90: the real account service on
127.0.0.1, the Meshy emulator on a fake clock, and the real window."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import keyring
import pytest
from PySide6 import QtCore, QtWidgets
from pytestqt.qtbot import QtBot

from studio.account import AccountClient, TokenStore
from studio.account.sync import sync_account
from studio.jobs import Jobs
from studio.library import Library
from studio.providers.base import Provider
from studio.providers.registry import make_provider
from studio.settings import Settings
from tests.conftest import KilnDirs
from tests.emulators import Clock, MeshyEmulator
from tests.emulators.fixtures import drive
from tests.studio.test_account_client import start_service
from tests.studio.test_secrets import MemoryKeyring
from ui.account import AccountController, CreditsDialog, SignInDialog
from ui.generations import GenerationController
from ui.main_window import MainWindow

pytestmark = pytest.mark.gl

MESHY_KEY = "msy_account_ui_key_00000000000001"
WAIT_MS = 30_000


@dataclass
class Studio:
    window: MainWindow
    library: Library
    meshy: MeshyEmulator
    clock: Clock


@pytest.fixture
def studio(
    qtbot: QtBot, kiln_dirs: KilnDirs, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Studio]:
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    service = start_service(tmp_path_factory.mktemp("account"))
    clock = Clock(start=1_800_000_000.0)
    with MeshyEmulator(clock) as meshy, httpx.Client(timeout=30) as http:
        meshy.add_key(MESHY_KEY, balance=1000)
        library = Library.open(kiln_dirs.data)

        def provider_for(name: str) -> Provider:
            return make_provider(
                name,
                MESHY_KEY,
                client=http,
                base_url=meshy.base_url,
                sleep=lambda s: time.sleep(0.005),
                now=clock.now,
            )

        jobs = Jobs(library, provider_for, sleep=lambda s: time.sleep(0.005), now=clock.now)
        account = AccountController(
            lambda: AccountClient(service.url, client=http, tokens=TokenStore()),
            jobs,
            sync_run=lambda client: sync_account(library, client),
        )
        window = MainWindow(
            library,
            Settings(first_launch_done=True),
            config_dir=kiln_dirs.config,
            generations=GenerationController(jobs),
            account=account,
        )
        window.errors.interactive = False
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        account.start()
        try:
            yield Studio(window, library, meshy, clock)
        finally:
            window.close()
            library.close()
            service.stop()
            keyring.set_keyring(previous)


def test_sign_up_generate_and_pay(qtbot: QtBot, studio: Studio) -> None:
    window = studio.window
    assert window.account_bar.account_button.text() == "Sign in"
    assert window.account_bar.balance_label.text() == ""
    dialog = SignInDialog(window.account, window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.email, "potter@example.com")
    qtbot.keyClicks(dialog.password, "glaze-and-fire-2026")
    qtbot.mouseClick(dialog.sign_up_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: window.account_bar.balance_label.text() == "100 credits", timeout=WAIT_MS
    )
    assert not dialog.isVisible()
    assert dialog.password.text() == ""
    assert window.account_bar.account_button.text() == "potter@example.com"

    panel = window.prompt_panel
    window.show_generate_panel()
    qtbot.keyClicks(panel.prompt, "a ceramic teapot shaped like a snail")
    qtbot.waitUntil(
        lambda: panel.generate_button.text() == "Generate · 10 credits", timeout=WAIT_MS
    )
    qtbot.mouseClick(panel.generate_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: studio.meshy.create_count(MESHY_KEY) == 1, timeout=WAIT_MS)
    drive(studio.clock, lambda: bool(studio.library.list_models()), qtbot.wait)
    qtbot.waitUntil(
        lambda: window.account_bar.balance_label.text() == "90 credits", timeout=WAIT_MS
    )
    generation = studio.library.generations()[0]
    assert generation.credits_charged == 10

    # Sync now sends the new model to the account; the toolbar says when.
    assert window.account_bar.sync_action.isVisible()
    window.account_bar.sync_action.trigger()
    qtbot.waitUntil(
        lambda: window.account_bar.sync_label.text().startswith("Synced "), timeout=WAIT_MS
    )
    assert window.status_label.text().startswith("Synced: sent ")

    credits = CreditsDialog(window.account, window)
    qtbot.addWidget(credits)
    credits.show()
    qtbot.waitUntil(lambda: credits.ledger.rowCount() >= 2, timeout=WAIT_MS)
    assert credits.summary.text().startswith("90 credits")
    changes = [credits.ledger.item(row, 1).text() for row in range(credits.ledger.rowCount())]
    assert "+100" in changes


def test_a_wrong_password_stays_in_the_dialog(qtbot: QtBot, studio: Studio) -> None:
    dialog = SignInDialog(studio.window.account, studio.window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.email, "nobody@example.com")
    qtbot.keyClicks(dialog.password, "not-the-password")
    qtbot.mouseClick(dialog.sign_in_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "password" in dialog.message.text().lower(), timeout=WAIT_MS)
    assert dialog.isVisible()
    assert studio.window.account_bar.balance_label.text() == ""
    assert studio.window.errors.last_message == ""  # shown once, in the dialog


class _Browser(QtCore.QObject):
    """Receives the URLs QDesktopServices would open in the browser (Qt's own hook)."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @QtCore.Slot(QtCore.QUrl)
    def open(self, url: QtCore.QUrl) -> None:
        self.opened.append(url.toString())


def test_change_plan_opens_the_payment_page_and_grants_nothing(
    qtbot: QtBot, kiln_dirs: KilnDirs, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Issue 7, finding 2: "Change plan" used to switch to Pro and refill 1,000 credits."""
    from PySide6 import QtGui

    from account_api.cli import set_plan

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    service = start_service(tmp_path_factory.mktemp("account"))
    browser = _Browser()
    QtGui.QDesktopServices.setUrlHandler("https", browser, "open")
    try:
        with httpx.Client(timeout=30) as http:
            client = AccountClient(service.url, client=http, tokens=TokenStore())
            account = client.signup("planner@example.com", "glaze-and-fire-2026")
            host = QtWidgets.QWidget()  # owns the controller and the dialog until teardown
            qtbot.addWidget(host)
            controller = AccountController(lambda: client, parent=host)
            dialog = CreditsDialog(controller, host)
            dialog.show()
            qtbot.waitUntil(lambda: dialog.plan.findData("pro") >= 0, timeout=WAIT_MS)
            qtbot.waitUntil(
                lambda: dialog.summary.text().startswith("100 credits"), timeout=WAIT_MS
            )
            dialog.plan.setCurrentIndex(dialog.plan.findData("pro"))
            qtbot.mouseClick(dialog.change_plan, QtCore.Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: bool(browser.opened), timeout=WAIT_MS)
            assert browser.opened == [
                f"https://pay.example.com/checkout?plan=pro&account={account.id}"
            ]
            qtbot.waitUntil(lambda: "payment page" in dialog.plan_note.text(), timeout=WAIT_MS)
            balance = client.balance()
            assert (balance.plan, balance.available) == ("free", 100)

            # Once paid (the provider's notification, here the operator's command), moving
            # to Free waits for the end of the period and refills nothing.
            set_plan(service.db, service.clock, "planner@example.com", "starter")
            controller.refresh_balance()
            qtbot.waitUntil(lambda: "starter plan" in dialog.summary.text(), timeout=WAIT_MS)
            dialog.plan.setCurrentIndex(dialog.plan.findData("free"))
            qtbot.mouseClick(dialog.change_plan, QtCore.Qt.MouseButton.LeftButton)
            qtbot.waitUntil(
                lambda: "when this period ends" in dialog.plan_note.text(), timeout=WAIT_MS
            )
            assert client.account().next_plan == "free"
            assert client.balance().available == 300
            controller.shutdown()
            dialog.close()
    finally:
        QtGui.QDesktopServices.unsetUrlHandler("https")
        service.stop()
        keyring.set_keyring(previous)
