from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6 import QtWidgets
from pytestqt.qtbot import QtBot

from viewer.viewport import Viewport


@pytest.fixture(autouse=True)
def _no_leaked_render_windows(render_window_leak_check: object) -> None:
    """Every viewer test must close what it opens (pyvistaqt's own rule)."""


@pytest.fixture
def viewport_size() -> tuple[int, int]:
    """The window size the ``viewport`` fixture opens (a module may override it)."""
    return (640, 480)


@pytest.fixture
def viewport(qtbot: QtBot, viewport_size: tuple[int, int]) -> Iterator[Viewport]:
    """A real viewport in a shown window, closed again after the test."""
    window = QtWidgets.QMainWindow()
    qtbot.addWidget(window)
    view = Viewport(window)
    window.setCentralWidget(view)
    window.resize(*viewport_size)
    window.show()
    qtbot.waitExposed(window)
    yield view
    view.close_viewport()
    window.close()
