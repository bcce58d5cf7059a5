"""The prompt panel, driven like a designer: type, Generate, watch, see the model arrive.

The emulator's task follows a fake clock that the test moves forward; the job waits on
that clock (sleeping for real only in tiny slices), so each step of progress is the
test's doing, not a race.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import keyring
import pytest
from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from studio.account import AccountClient, TokenStore
from studio.account.gate import AccountGate
from studio.jobs import Jobs
from studio.jobs.cancelling import StopResult, cancel_consequence, cancel_outcome
from studio.library import Library
from studio.providers.base import GenerationKind, GenerationRequest, Provider, Quality
from studio.providers.registry import make_provider
from studio.settings import Settings
from tests.conftest import KilnDirs
from tests.emulators import Clock, MeshyEmulator, TripoEmulator
from tests.emulators.fixtures import drive
from tests.studio.test_account_client import start_service
from tests.studio.test_secrets import MemoryKeyring
from ui.generations import GenerationController
from ui.library_events import LibraryEvents
from ui.main_window import MainWindow
from ui.prompt_panel import PromptPanel

pytestmark = pytest.mark.gl

KEY = "msy_panel_test_key_0000000000001"
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def server() -> Iterator[MeshyEmulator]:
    with MeshyEmulator(Clock()) as emulator:
        yield emulator


@dataclass
class Studio:
    window: MainWindow
    library: Library
    meshy: MeshyEmulator
    clock: Clock
    errors: list[str]


def make_studio(
    qtbot: QtBot, dirs: KilnDirs, server: MeshyEmulator, http: httpx.Client, key: str
) -> Studio:
    clock = Clock(start=1_800_000_000.0)
    server.reset(clock=clock)
    server.add_key(KEY, balance=500)
    library = Library.open(dirs.data)

    def provider_for(name: str) -> Provider:
        return make_provider(
            name,
            key,
            client=http,
            base_url=server.base_url,
            sleep=lambda s: time.sleep(0.005),
            now=clock.now,
        )

    jobs = Jobs(library, provider_for, sleep=lambda s: time.sleep(0.005), now=clock.now)
    controller = GenerationController(jobs)
    window = MainWindow(
        library, Settings(first_launch_done=True), config_dir=dirs.config, generations=controller
    )
    window.errors.interactive = False
    errors: list[str] = []
    window.errors.reported.connect(errors.append)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.show_generate_panel()
    return Studio(window, library, server, clock, errors)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


@pytest.fixture
def studio(
    qtbot: QtBot, kiln_dirs: KilnDirs, server: MeshyEmulator, http: httpx.Client
) -> Iterator[Studio]:
    s = make_studio(qtbot, kiln_dirs, server, http, KEY)
    yield s
    s.window.close()
    s.library.close()


def test_type_generate_watch_progress_and_get_the_model(qtbot: QtBot, studio: Studio) -> None:
    panel = studio.window.prompt_panel
    qtbot.keyClicks(panel.prompt, "a ceramic teapot shaped like a snail")
    assert "20 Meshy credits" in panel.cost.text()
    qtbot.mouseClick(panel.generate_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: studio.meshy.create_count(KEY) == 1, timeout=WAIT_MS)
    assert panel.bar.isVisible()
    assert panel.cancel_button.isVisible()
    seen = [panel.bar.value()]
    # Move the provider along: queued, then running with rising progress.
    for _ in range(12):
        studio.clock.advance(4)
        qtbot.waitUntil(lambda: panel.bar.value() >= seen[-1], timeout=WAIT_MS)
        qtbot.wait(30)
        seen.append(panel.bar.value())
        if seen[-1] >= 100 or not panel.bar.isVisible():
            break
    assert seen == sorted(seen)  # never backwards on screen
    assert len(set(seen)) > 2  # it really moved
    qtbot.waitUntil(lambda: bool(studio.library.list_models()), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: studio.window.viewport.prepared is not None, timeout=WAIT_MS)
    model = studio.library.list_models()[0]
    assert model.name.startswith("a ceramic teapot")
    # In the library panel and the viewport without a click; the history says Done.
    assert studio.window.library_panel.current_model_id() == model.id
    qtbot.waitUntil(
        lambda: "Done" in panel.history.item(panel.history.count() - 1).text(), timeout=WAIT_MS
    )
    assert studio.errors == []
    # Regenerate: the same panel, now adding to the selected model.
    assert panel.as_version.isEnabled()
    panel.as_version.setChecked(True)
    panel.prompt.setPlainText("the same teapot, taller")
    qtbot.mouseClick(panel.generate_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: studio.meshy.create_count(KEY) == 2, timeout=WAIT_MS)
    drive(studio.clock, lambda: studio.library.get_model(model.id).version_count == 2, qtbot.wait)
    assert len(studio.library.list_models()) == 1


def test_a_bad_key_shows_one_plain_message_and_nothing_else_changes(
    qtbot: QtBot, kiln_dirs: KilnDirs, server: MeshyEmulator, http: httpx.Client
) -> None:
    wrong = "msy_this_key_is_wrong_00000000001"
    s = make_studio(qtbot, kiln_dirs, server, http, wrong)
    try:
        panel = s.window.prompt_panel
        qtbot.keyClicks(panel.prompt, "a chair")
        qtbot.mouseClick(panel.generate_button, QtCore.Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: bool(panel.message.text()), timeout=WAIT_MS)
        message = panel.message.text()
        assert "key" in message.lower()
        assert wrong not in message
        assert "Traceback" not in message
        assert s.library.list_models() == []
        assert s.meshy.create_count() == 0
        assert s.errors == []  # shown once, in the panel; no dialog on top
        assert not panel.bar.isVisible()
    finally:
        s.window.close()
        s.library.close()


def test_pictures_dropped_on_the_window_fill_the_slots(
    qtbot: QtBot, studio: Studio, tmp_path: Path
) -> None:
    from PIL import Image

    from tests.ui.test_main_window import drop

    paths = []
    for name in ("front", "left", "back"):
        path = tmp_path / f"{name}.png"
        Image.new("RGB", (32, 32), (200, 100, 50)).save(path)
        paths.append(path)
    drop(studio.window, paths[:1])
    panel = studio.window.prompt_panel
    assert panel.mode.currentIndex() == 1
    assert panel.single.path == paths[0]
    drop(studio.window, paths)
    assert panel.mode.currentIndex() == 2
    assert [panel.views[n].path for n in ("front", "left", "back", "right")] == [*paths, None]
    assert "30 Meshy credits" in panel.cost.text()
    assert studio.library.list_models() == []  # pictures are not imported as models


# --------------------------------------------------------------------------- money
# The panel on its own (no main window): the Meshy and Tripo emulators on a fake clock,
# the real library, the real controller and its workers.

TRIPO_KEY = "tsk_panel_test_key_0000000000001"
PANEL_KEYS = {"meshy": KEY, "tripo": TRIPO_KEY}


@dataclass
class Rig:
    panel: PromptPanel
    controller: GenerationController
    jobs: Jobs
    library: Library
    emulator: MeshyEmulator | TripoEmulator
    clock: Clock
    key: str
    failures: list[BaseException]


@pytest.fixture(params=["meshy", "tripo"])
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def rig(
    qtbot: QtBot,
    kiln_dirs: KilnDirs,
    meshy_server: MeshyEmulator,
    tripo_server: TripoEmulator,
    http: httpx.Client,
    provider: str,
) -> Iterator[Rig]:
    emulator: MeshyEmulator | TripoEmulator = meshy_server if provider == "meshy" else tripo_server
    clock = Clock(start=1_800_000_000.0)
    emulator.reset(clock=clock)
    key = PANEL_KEYS[provider]
    emulator.add_key(key, balance=500)
    library = Library.open(kiln_dirs.data)

    def provider_for(name: str) -> Provider:
        return make_provider(
            name,
            key,
            client=http,
            base_url=emulator.base_url,
            sleep=lambda s: time.sleep(0.005),
            now=clock.now,
        )

    jobs = Jobs(library, provider_for, sleep=lambda s: time.sleep(0.005), now=clock.now)
    controller = GenerationController(jobs)
    events = LibraryEvents(library)
    panel = PromptPanel(controller, library, events)
    panel.set_provider(provider)
    failures: list[BaseException] = []
    panel.failed.connect(failures.append)
    controller.crashed.connect(failures.append)
    panel.resize(360, 760)
    panel.show()
    qtbot.waitExposed(panel)
    yield Rig(panel, controller, jobs, library, emulator, clock, key, failures)
    controller.shutdown()
    qtbot.wait(50)  # deliver the workers' last reports while the library is still open
    panel.close()
    panel.deleteLater()
    controller.deleteLater()
    qtbot.wait(10)
    events.detach()
    library.close()


def click(qtbot: QtBot, button: QtWidgets.QAbstractButton) -> None:
    qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)


def answer_question(qtbot: QtBot, button_name: str | None, seen: list[str]) -> None:
    """Answer the next modal question: click ``button_name``, or press Enter (its default)."""

    def handle() -> None:
        box = QtWidgets.QApplication.activeModalWidget()
        if not isinstance(box, QtWidgets.QMessageBox):
            QtCore.QTimer.singleShot(10, handle)  # not up yet
            return
        default = box.defaultButton()
        seen.append(default.objectName() if default is not None else "")
        seen.append(box.text())
        if button_name is None:
            QTest.keyClick(box, QtCore.Qt.Key.Key_Return)
        else:
            found = box.findChild(QtWidgets.QPushButton, button_name)
            assert found is not None
            found.click()

    QtCore.QTimer.singleShot(0, handle)


def test_two_quick_generate_clicks_create_one_provider_task(qtbot: QtBot, rig: Rig) -> None:
    panel = rig.panel
    qtbot.keyClicks(panel.prompt, "a ceramic teapot shaped like a snail")
    rig.emulator.stall_next_create(seconds=1.5)  # the provider is slow to answer
    click(qtbot, panel.generate_button)
    click(qtbot, panel.generate_button)
    assert not panel.generate_button.isEnabled()
    qtbot.waitUntil(lambda: rig.emulator.create_count(rig.key) == 1, timeout=WAIT_MS)
    # The create arrived; its answer has not: still sending, a third click does nothing.
    assert rig.controller.sending
    assert panel.generate_button.text().startswith("Sending to ")
    click(qtbot, panel.generate_button)
    qtbot.waitUntil(lambda: panel.generate_button.isEnabled(), timeout=WAIT_MS)
    assert not rig.controller.sending
    assert rig.emulator.create_count(rig.key) == 1
    assert len(rig.library.generations()) == 1
    assert rig.failures == []


def test_an_identical_request_within_a_minute_asks_and_dont_send_is_the_default(
    qtbot: QtBot, rig: Rig
) -> None:
    panel = rig.panel
    qtbot.keyClicks(panel.prompt, "a ceramic teapot shaped like a snail")
    click(qtbot, panel.generate_button)
    qtbot.waitUntil(lambda: rig.emulator.create_count(rig.key) == 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: panel.generate_button.isEnabled(), timeout=WAIT_MS)
    # Enter takes the default: not sent.
    seen: list[str] = []
    answer_question(qtbot, None, seen)
    click(qtbot, panel.generate_button)
    assert seen[0] == "twinDontSend"
    assert "less than a minute ago" in seen[1]
    assert panel.message.text().startswith("Not sent")
    assert panel.generate_button.isEnabled()
    qtbot.wait(100)
    assert rig.emulator.create_count(rig.key) == 1
    assert len(rig.library.generations()) == 1
    # "Generate again" sends the second, paid task.
    seen.clear()
    answer_question(qtbot, "twinGenerateAgain", seen)
    click(qtbot, panel.generate_button)
    assert seen[0] == "twinDontSend"
    qtbot.waitUntil(lambda: rig.emulator.create_count(rig.key) == 2, timeout=WAIT_MS)
    assert len(rig.library.generations()) == 2
    # Something else entirely is not asked about.
    panel.prompt.setPlainText("a stoneware mug")
    qtbot.waitUntil(lambda: panel.generate_button.isEnabled(), timeout=WAIT_MS)
    click(qtbot, panel.generate_button)
    qtbot.waitUntil(lambda: rig.emulator.create_count(rig.key) == 3, timeout=WAIT_MS)
    assert rig.failures == []


def test_the_cancel_text_matches_the_provider_and_stage_before_and_after(
    qtbot: QtBot, rig: Rig, provider: str
) -> None:
    panel = rig.panel
    qtbot.keyClicks(panel.prompt, "a ceramic teapot shaped like a snail")
    click(qtbot, panel.generate_button)
    queued = "Cancel: " + cancel_consequence(provider, "queued")
    qtbot.waitUntil(lambda: panel.cancel_note.text() == queued, timeout=WAIT_MS)
    assert panel.cancel_note.isVisible()
    assert panel.cancel_button.toolTip() == cancel_consequence(provider, "queued")
    # The provider starts: the sentence follows it, before any click.
    running = "Cancel: " + cancel_consequence(provider, "running")
    # In small steps: one big jump could land before the job starts its wait.
    drive(rig.clock, lambda: panel.cancel_note.text() == running, qtbot.wait, step=1.0)
    if provider == "tripo":
        assert "Tripo can't stop a task" in panel.cancel_note.text()  # said BEFORE the click
    else:
        assert "Meshy keeps the credits" in panel.cancel_note.text()
    click(qtbot, panel.cancel_button)
    qtbot.waitUntil(lambda: not panel.cancel_button.isVisible(), timeout=WAIT_MS)
    (record,) = rig.library.generations()
    assert record.status == "cancelled"
    assert panel.message.text() == record.error
    assert panel.message.text() == cancel_outcome(
        provider,
        "running",
        StopResult.STOPPED if provider == "meshy" else StopResult.CANNOT_STOP,
    )
    assert rig.emulator.balance(rig.key) == 480  # a started task keeps its credits
    assert not panel.cancel_note.isVisible()
    assert rig.failures == []


@pytest.mark.parametrize("provider", ["meshy"])
def test_cancelling_while_meshy_queues_it_says_the_credits_came_back(
    qtbot: QtBot, rig: Rig
) -> None:
    panel = rig.panel
    qtbot.keyClicks(panel.prompt, "a ceramic teapot shaped like a snail")
    click(qtbot, panel.generate_button)
    qtbot.waitUntil(lambda: "gives its credits back" in panel.cancel_note.text(), timeout=WAIT_MS)
    assert rig.emulator.balance(rig.key) == 480
    click(qtbot, panel.cancel_button)
    qtbot.waitUntil(lambda: panel.message.text().startswith("Cancelled."), timeout=WAIT_MS)
    assert panel.message.text() == (
        "Cancelled. Meshy deleted the task from its queue and gives its credits back."
    )
    assert rig.emulator.balance(rig.key) == 500


def test_the_model_name_follows_the_description_until_edited(qtbot: QtBot, rig: Rig) -> None:
    panel = rig.panel
    prompt = "a ceramic teapot shaped like a snail, glazed in a deep cobalt blue"
    qtbot.keyClicks(panel.prompt, prompt)
    assert panel.name.text() == "a ceramic teapot shaped like a snail"
    assert len(panel.name.text()) <= 40
    panel.name.selectAll()
    qtbot.keyClicks(panel.name, "Snail teapot")
    qtbot.keyClicks(panel.prompt, " with gold rims")
    assert panel.name.text() == "Snail teapot"  # the designer's name stays
    click(qtbot, panel.generate_button)
    qtbot.waitUntil(lambda: rig.emulator.create_count(rig.key) == 1, timeout=WAIT_MS)
    drive(rig.clock, lambda: bool(rig.library.list_models()), qtbot.wait)
    assert [m.name for m in rig.library.list_models()] == ["Snail teapot"]
    # The next description names the next model again; emptying the field does too.
    panel.prompt.setPlainText("a stoneware mug with a thumb rest")
    assert panel.name.text() == "a stoneware mug with a thumb rest"
    panel.name.selectAll()
    qtbot.keyClicks(panel.name, "Mug")
    panel.name.selectAll()
    qtbot.keyClick(panel.name, QtCore.Qt.Key.Key_Backspace)
    assert panel.name.text() == "a stoneware mug with a thumb rest"
    assert rig.failures == []


@pytest.mark.parametrize("provider", ["meshy"])
def test_progress_text_is_elided_never_clipped(qtbot: QtBot, rig: Rig) -> None:
    panel = rig.panel
    long = "Preparing the view of a very detailed model with many textured parts and maps"
    panel.stage.setVisible(True)
    panel.stage.setText(long)
    for width in (180, 260, 900):
        panel.resize(width, 700)
        qtbot.waitUntil(lambda w=width: panel.width() == w or panel.width() > w, timeout=5000)
        qtbot.wait(20)
        label = panel.stage
        shown = label.shown_text()
        room = label.contentsRect().width()
        assert label.fontMetrics().horizontalAdvance(shown) <= room
        assert label.text() == long  # the whole text is kept, and in the tooltip
        assert label.toolTip() == long
        if label.fontMetrics().horizontalAdvance(long) > room:
            assert shown.endswith("…")
            assert long.startswith(shown[:-1])
        else:
            assert shown == long
    assert panel.stage.minimumSizeHint().width() < 100  # it never pushes the panel wider


@pytest.mark.parametrize("provider", ["meshy"])
def test_signed_in_the_panel_shows_both_costs_and_cancel_gives_the_hold_back(
    qtbot: QtBot,
    rig: Rig,
    http: httpx.Client,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    service = start_service(tmp_path_factory.mktemp("account"))
    try:
        client = AccountClient(service.url, client=http, tokens=TokenStore())
        client.signup("potter@example.com", "glaze-and-fire-2026")
        gate = AccountGate(client)
        rig.jobs.gate = gate
        panel = rig.panel

        def kiln_price(kind: str, quality: str) -> int | None:
            request = GenerationRequest(GenerationKind(kind), "x", (), Quality(quality))
            return gate.price(request, "meshy")

        panel.set_price_source(kiln_price)
        qtbot.keyClicks(panel.prompt, "a ceramic teapot shaped like a snail")
        cost = panel.cost.text()
        assert "Holds 10 of your Kiln credits" in cost
        assert "about 20 Meshy credits on your own Meshy key" in cost
        assert panel.generate_button.text() == "Generate · 10 credits"
        click(qtbot, panel.generate_button)
        qtbot.waitUntil(
            lambda: "Your 10 Kiln credits on hold are given back." in panel.cancel_note.text(),
            timeout=WAIT_MS,
        )
        assert client.balance().on_hold == 10
        click(qtbot, panel.cancel_button)
        qtbot.waitUntil(lambda: panel.message.text().startswith("Cancelled."), timeout=WAIT_MS)
        assert panel.message.text().endswith(
            "Your 10 Kiln credits on hold were released, not charged."
        )
        balance = client.balance()
        assert (balance.available, balance.on_hold) == (100, 0)
        assert rig.failures == []
    finally:
        service.stop()
        keyring.set_keyring(previous)
