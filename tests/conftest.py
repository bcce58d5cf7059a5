"""Fixtures for every tier: no test touches the developer's real data or settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

# The provider emulators' servers, fake clock and helpers, for any test that needs them.
pytest_plugins = ["tests.emulators.fixtures"]


@dataclass
class KilnDirs:
    data: Path
    config: Path
    logs: Path


@pytest.fixture(autouse=True)
def kiln_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KilnDirs:
    """Point the data, config and log dirs at a fresh temp folder."""
    dirs = KilnDirs(tmp_path / "data", tmp_path / "config", tmp_path / "logs")
    monkeypatch.setenv("KILN_DATA_DIR", str(dirs.data))
    monkeypatch.setenv("KILN_CONFIG_DIR", str(dirs.config))
    monkeypatch.setenv("KILN_LOG_DIR", str(dirs.logs))
    for var in (
        "KILN_MAX_FILE_SIZE",
        "KILN_MAX_TRIANGLES",
        "KILN_MAX_TEXTURE_PIXELS",
        "KILN_CRASH_AT",
    ):
        monkeypatch.delenv(var, raising=False)
    return dirs


@pytest.fixture
def render_window_leak_check() -> object:
    """Fail a test that leaves a pyvista plotter (and its VTK render window) open."""
    from pyvista.plotting.plotter import _ALL_PLOTTERS

    before = set(_ALL_PLOTTERS)
    yield None
    leaked = set(_ALL_PLOTTERS) - before
    for name in leaked:
        _ALL_PLOTTERS[name].close()
    assert not leaked, f"render windows left open: {sorted(leaked)}"
