"""The root of the expected failures.

An expected failure is something in the designer's world (a damaged file, a full disk,
a wrong key) rather than a bug. It carries one plain sentence that says what happened
and what to do; the UI shows that sentence once and nothing else. Anything that is not
a :class:`KilnError` is a bug and is reported as one.
"""

from __future__ import annotations


class KilnError(Exception):
    """An expected failure with a message written for the designer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class Cancelled(KilnError):
    """Long work stopped because the designer asked it to."""

    def __init__(self, message: str = "Cancelled.") -> None:
        super().__init__(message)
