"""Logging: a rotating file in the log dir, warnings on stderr.

Log lines never contain secrets: API keys and tokens are redacted by a filter on every
handler, as a second line of defence behind code that never logs them.
"""

from __future__ import annotations

import faulthandler
import logging
import logging.handlers
import re
from pathlib import Path
from typing import TextIO

from studio import paths

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Bearer tokens, provider keys (msy_…, tsk_…) and JWT-looking strings.
_SECRET = re.compile(
    r"(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}|\b(msy|tsk)[_-][A-Za-z0-9_-]{8,}|"
    r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
)


def redact(text: str) -> str:
    return _SECRET.sub(lambda m: (m.group(1) or "") + "[redacted]", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


def configure_logging(log_dir: Path | None = None, *, verbose: bool = False) -> Path:
    """Set up the root logger; returns the log file's path."""
    directory = log_dir or paths.log_dir()
    directory.mkdir(parents=True, exist_ok=True)
    log_file = directory / "kiln-studio.log"
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for handler in list(root.handlers):
        if getattr(handler, "_kiln", False):
            root.removeHandler(handler)
    file_handler = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
    )
    file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
    stderr_handler = logging.StreamHandler()
    stderr_handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    stderr_handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    # httpx logs every request's full URL at INFO, and result links carry signatures.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for handler in (file_handler, stderr_handler):
        handler.addFilter(RedactingFilter())
        setattr(handler, "_kiln", True)  # noqa: B010 (marks our handlers for reconfiguration)
        root.addHandler(handler)
    _dump_crashes_into(directory / "crash.log")
    return log_file


#: The file faulthandler writes to; kept open for the life of the process.
_crash_file: TextIO | None = None


def _dump_crashes_into(path: Path) -> None:
    """A hard crash (a segfault in a native library) leaves every thread's stack in ``path``.

    The rotating log can't take these: faulthandler writes from the signal handler, straight
    to a file descriptor. The file is beside the log, so "send us the logs folder" covers it.
    """
    global _crash_file
    try:
        handle = path.open("a", encoding="utf-8")
    except OSError as exc:
        logging.getLogger(__name__).warning("no crash log at %s: %s", path, exc)
        return
    if _crash_file is not None:
        _crash_file.close()
    _crash_file = handle
    faulthandler.enable(file=handle, all_threads=True)
