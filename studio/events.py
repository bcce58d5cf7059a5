"""A minimal observer: the core announces changes, views subscribe.

The core never calls a widget; widgets connect a bound method here. Callbacks run
in the thread that emitted, so the UI relays them onto the GUI thread itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, ParamSpec

P = ParamSpec("P")


class Signal(Generic[P]):
    """A list of callbacks with ``connect``/``disconnect``/``emit``."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[P, object]] = []
        self._lock = threading.Lock()

    def connect(self, callback: Callable[P, object]) -> None:
        with self._lock:
            if callback not in self._callbacks:
                self._callbacks.append(callback)

    def disconnect(self, callback: Callable[P, object]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def emit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback(*args, **kwargs)
