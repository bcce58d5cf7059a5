"""Fixtures the core's tests share: a real library in a temp dir, and what it announces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from studio.library import Library, LibraryChange


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    with Library.open(tmp_path / "data") as lib:
        yield lib


@pytest.fixture
def changes(library: Library) -> list[LibraryChange]:
    seen: list[LibraryChange] = []
    library.changed.connect(seen.append)
    return seen
