from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_leaked_render_windows(render_window_leak_check: object) -> None:
    """Every viewer test must close what it opens (pyvistaqt's own rule)."""
