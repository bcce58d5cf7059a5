"""Runs the command line on many model files in one process, for the fuzz test.

``python -m tests.fuzz.runner MANIFEST.json`` runs, for each file from ``start`` on,
``python -m studio inspect FILE``, ``... library import FILE --no-thumbnail`` and ``...
library check`` through :func:`studio.cli.main` exactly as ``python -m studio`` would, with
file descriptors 1 and 2 captured per command (so C libraries' output is caught too), and a
snapshot of the library around the import. One process saves the two seconds of imports a
fresh ``python -m studio`` costs per command; the parent judges each file on its own.

Protocol, one line each on the original stdout: ``READY``, then per command
``START <index> <command>``, then per file ``DONE <json>``. The parent enforces the time cap
between START and the next line and restarts the runner after a file that hung or killed it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
import traceback
import warnings
from pathlib import Path
from typing import Any

#: How much of a command's output is sent back (the verdict needs the first lines).
_KEEP = 4000


def snapshot(data_dir: Path) -> dict[str, Any]:
    """Everything a refused import must leave as it was: every table's rows and the files
    of the library folder (the database files and the log aside)."""
    tables: dict[str, Any] = {}
    database = data_dir / "library.sqlite3"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        names = [
            row[0]
            for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not row[0].startswith("sqlite_")
        ]
        for name in sorted(names):
            rows = db.execute(f'SELECT * FROM "{name}"').fetchall()
            tables[name] = sorted(map(repr, rows))
    files = sorted(
        (str(path.relative_to(data_dir)), path.stat().st_size)
        for path in data_dir.rglob("*")
        if path.is_file() and not path.name.startswith("library.sqlite3")
    )
    return {"tables": tables, "files": files}


def run_captured(argv: list[str]) -> dict[str, Any]:
    """``studio.cli.main(argv)`` with fds 1 and 2 going to temp files; its exit code and output."""
    from studio.cli import main

    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            code: Any = main(argv)
        except SystemExit as exit_:
            code = exit_.code
        except BaseException:
            # main() must never raise: a traceback here is a finding in itself.
            code = "raised"
            sys.stderr.write(traceback.format_exc())
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    return {"code": code, "stdout": stdout[:_KEEP], "stderr": stderr[:_KEEP]}


def main() -> int:
    manifest = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    data_dir = Path(manifest["library"])
    # Protocol lines go to the stdout we were started with; fd 1 is captured per command.
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    # Every warning every time (not once per place), so none can slip past the check.
    warnings.simplefilter("always")
    from studio.library import Library
    from studio.meshes.loading import warm_up

    warm_up()
    Library.open(data_dir).close()
    protocol.write("READY\n")
    for index in range(manifest["start"], len(manifest["files"])):
        path = manifest["files"][index]
        outcome: dict[str, Any] = {"index": index}
        protocol.write(f"START {index} inspect\n")
        outcome["inspect"] = run_captured(["inspect", path])
        before = snapshot(data_dir)
        protocol.write(f"START {index} import\n")
        outcome["import"] = run_captured(
            ["library", "import", path, "--no-thumbnail", "--data-dir", str(data_dir)]
        )
        outcome["library_changed"] = snapshot(data_dir) != before
        protocol.write(f"START {index} check\n")
        outcome["check"] = run_captured(["library", "check", "--data-dir", str(data_dir)])
        protocol.write("DONE " + json.dumps(outcome) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
