"""A fake clock the emulators (and the client under test) share.

Task status on both emulators is a pure function of ``clock.now()``: nothing moves unless a
test advances the clock. ``sleep`` is how a client under test waits: it advances the clock
and returns at once, and every call is recorded in :attr:`Clock.sleeps` so tests can assert
the back-off the client chose.
"""

from __future__ import annotations

import threading


class Clock:
    """Thread-safe fake wall clock (Unix seconds, float)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        #: Every ``sleep(seconds)`` call, in order.
        self.sleeps: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def time(self) -> float:
        """Alias of :meth:`now`, so the clock can stand in for ``time.time``."""
        return self.now()

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (never backwards); returns the new time."""
        if seconds < 0:
            raise ValueError("the fake clock never goes backwards")
        with self._lock:
            self._now += float(seconds)
            return self._now

    def sleep(self, seconds: float) -> None:
        """Record the sleep, advance the clock by it and return immediately."""
        seconds = max(0.0, float(seconds))
        with self._lock:
            self.sleeps.append(seconds)
            self._now += seconds

    def __repr__(self) -> str:
        return f"Clock(now={self.now():.3f}, sleeps={len(self.sleeps)})"
