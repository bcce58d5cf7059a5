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
import pytest
from PySide6 import QtCore
from pytestqt.qtbot import QtBot

from studio.jobs import Jobs
from studio.library import Library
from studio.providers.base import Provider
from studio.providers.registry import make_provider
from studio.settings import Settings
from tests.conftest import KilnDirs
from tests.emulators import Clock, MeshyEmulator
from tests.emulators.fixtures import drive
from ui.generations import GenerationController
from ui.main_window import MainWindow

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
