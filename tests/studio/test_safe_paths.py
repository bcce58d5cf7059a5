"""Companion paths from files, the database or a server never leave their folder."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest

from studio.safe_paths import MAX_RELPATH_LENGTH, inside, is_safe_relpath, relpath_problem

GOOD = ["a.png", "textures/wood.png", "x/y/z.mtl", "crème.png", "Box 01.jpg"]
BAD = [
    "",
    "../x.png",
    "a/../../x.png",
    "/etc/passwd",
    "C:/Windows/x.png",
    "c:x.png",
    "a\\b.png",
    "..",
    ".",
    "a//b.png",
    "a/./b.png",
    "tex/",
    "nul\x00.png",
    "line\nbreak.png",
    "CON.png",
    "lpt1",
    "trailing./x.png",
    "space /x.png",
    unicodedata.normalize("NFD", "crème.png"),
    "a" * (MAX_RELPATH_LENGTH + 1),
]


@pytest.mark.parametrize("relpath", GOOD)
def test_ordinary_companion_paths_are_accepted(relpath: str, tmp_path: Path) -> None:
    assert relpath_problem(relpath) is None
    assert inside(tmp_path, relpath).is_relative_to(tmp_path.resolve())


@pytest.mark.parametrize("relpath", BAD)
def test_hostile_companion_paths_are_refused_with_a_reason(relpath: str, tmp_path: Path) -> None:
    assert not is_safe_relpath(relpath)
    with pytest.raises(ValueError, match="not a safe relative path"):
        inside(tmp_path, relpath)


def test_a_symbolic_link_out_of_the_folder_is_caught(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    os.symlink(outside, root / "tex")
    with pytest.raises(ValueError, match="leaves its folder"):
        inside(root, "tex/wood.png")
