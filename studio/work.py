"""Plumbing for long work: a cancel token and the progress callback's shape.

Core functions that take a while accept ``progress`` and ``cancel`` keyword
arguments; the UI runs them in a worker and the CLI runs them directly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from studio.errors import Cancelled

#: ``progress(fraction, stage)``: fraction in 0..1, stage a short phrase ("Reading file").
Progress = Callable[[float, str], None]


def no_progress(fraction: float, stage: str) -> None:
    """A progress callback that ignores every report."""


class CancelToken:
    """Set from any thread; checked by the work at safe points."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


NEVER_CANCELLED = CancelToken()
