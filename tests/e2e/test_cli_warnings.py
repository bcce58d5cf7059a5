"""Library warnings (numpy's, say) go to the log file, never to the terminal (issue 7, #15).

The files here make numpy warn while they are read (coordinates too large for float32
overflow in a cast), then are refused: the terminal must show only the plain sentence.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import KilnDirs
from tests.e2e.conftest import Cli

CORNERS = "0 0 0\n1e300 0 0\n0 1e300 0\n0 0 1e300\n"
HUGE_OFF = "OFF\n4 4 0\n" + CORNERS + "3 0 2 1\n3 0 1 3\n3 0 3 2\n3 1 2 3\n"
HUGE_OBJ = (
    "".join(f"v {row}\n" for row in CORNERS.splitlines()) + "f 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n"
)
NOT_NUMBERS = "is damaged: some coordinates are not numbers (NaN or infinity)."


def test_a_numpy_warning_while_inspecting_goes_to_the_log_not_the_terminal(
    cli: Cli, tmp_path: Path, kiln_dirs: KilnDirs
) -> None:
    path = tmp_path / "huge.off"
    path.write_text(HUGE_OFF, encoding="utf-8")
    result = cli.run("inspect", path, expect=1)
    assert result.stderr == f"“huge.off” {NOT_NUMBERS}\n"
    assert result.stdout == ""
    log = (kiln_dirs.logs / "kiln-studio.log").read_text(encoding="utf-8")
    assert "RuntimeWarning: overflow encountered in cast" in log


def test_a_numpy_warning_while_importing_goes_to_the_log_not_the_terminal(
    cli: Cli, tmp_path: Path, kiln_dirs: KilnDirs
) -> None:
    path = tmp_path / "huge.obj"
    path.write_text(HUGE_OBJ, encoding="utf-8")
    result = cli.library("import", path, "--no-thumbnail", expect=1)
    assert result.stderr == f"“huge.obj” {NOT_NUMBERS}\n"
    log = (kiln_dirs.logs / "kiln-studio.log").read_text(encoding="utf-8")
    assert "RuntimeWarning: overflow encountered in cast" in log


def test_verbose_still_shows_warnings_on_the_terminal(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "huge.off"
    path.write_text(HUGE_OFF, encoding="utf-8")
    result = cli.run("inspect", path, "--verbose", expect=1)
    assert "overflow encountered in cast" in result.stderr
