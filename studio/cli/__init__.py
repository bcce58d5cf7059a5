"""The headless command line: ``python -m studio`` (or ``kiln-studio-cli``).

Exit codes: 0 success; 2 a usage error; 1 a failure, printed as one plain sentence on
stderr; 141 (as for a process ended by SIGPIPE) when the reader of stdout went away
(``... | head``), silently. An expected failure (a :class:`~studio.errors.KilnError`)
prints its own message; anything else is a bug: its traceback goes to the log file and
stderr says where. Warnings of Python and its libraries (numpy's "overflow encountered in
cast" on a damaged file, say) go to the log file too, unless ``--verbose``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import cast

from studio.errors import KilnError

log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """The command line parses but asks for something it must not (exit code 2)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    from studio.cli.output import error
    from studio.cli.parser import PROG, build_parser
    from studio.logs import configure_logging

    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exit_:  # argparse: --help (0) or a usage error (2)
        return exit_.code if isinstance(exit_.code, int) else 2
    verbose = getattr(args, "verbose", False)
    try:
        log_file = configure_logging(verbose=verbose)
    except OSError as exc:
        error(f"The log folder can't be written ({exc.strerror or exc}); nothing was done.")
        return 1
    # Library warnings become log records ("py.warnings"), so they reach the log file.
    logging.captureWarnings(True)
    if not verbose:
        _keep_tracebacks_off_the_terminal()
    command = " ".join(filter(None, [args.command, getattr(args, "library_command", None)]))
    log.debug("command line: %s", command)
    try:
        code = _handler(args.handler)(args)
        sys.stdout.flush()  # inside the try: a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        _detach_stdout()
        return BROKEN_PIPE
    except UsageError as exc:
        error(f"{PROG} {command}: error: {exc}")
        return 2
    except KilnError as exc:
        log.info("%s failed: %s", command, exc.message)
        error(exc.message)
        return 1
    except KeyboardInterrupt:
        error("Cancelled.")
        return 130
    except Exception:
        log.exception("%s failed unexpectedly", command)
        error(f"Something went wrong inside Kiln Studio; details are in {log_file}.")
        return 1


#: What a shell reports for a writer ended by SIGPIPE (128 + 13).
BROKEN_PIPE = 141


def _detach_stdout() -> None:
    """Point stdout at the null device once its reader has gone.

    Python flushes stdout again at exit; without this, that flush fails a second time
    and prints "Exception ignored ... BrokenPipeError" on stderr.
    """
    log.debug("stdout was closed by its reader; the rest of the output is dropped")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _without_traceback(record: logging.LogRecord) -> bool:
    return record.exc_info is None and record.name != _WARNINGS_LOGGER


#: Where :func:`logging.captureWarnings` sends :mod:`warnings`.
_WARNINGS_LOGGER = "py.warnings"


def _keep_tracebacks_off_the_terminal() -> None:
    """On the command line stderr carries plain sentences; tracebacks and library warnings
    (with the source line they print) go to the log file."""
    for handler in logging.getLogger().handlers:
        is_terminal = isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        )
        if is_terminal and _without_traceback not in handler.filters:
            handler.addFilter(_without_traceback)


def _handler(name: str) -> Handler:
    """``"module:function"`` → the function (imported only for the command being run)."""
    module, function = name.split(":")
    return cast(Handler, getattr(importlib.import_module(module), function))
