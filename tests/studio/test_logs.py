"""Logs: a hard crash still leaves something to send us."""

from __future__ import annotations

from pathlib import Path


def test_a_hard_crash_leaves_its_stack_in_the_log_folder(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import ctypes, sys\n"
        "from pathlib import Path\n"
        "from studio.logs import configure_logging\n"
        "configure_logging(Path(sys.argv[1]))\n"
        "ctypes.string_at(0)\n"  # a segfault inside a native call
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    crash = (tmp_path / "crash.log").read_text()
    assert "Segmentation fault" in crash
    assert "<string>" in crash  # the Python stack of the crashing thread
