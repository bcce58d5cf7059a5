"""Passwords: the rules a designer is told about, argon2id hashing, email normalisation."""

from __future__ import annotations

import itertools
import re
import threading
import unicodedata
from datetime import timedelta

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from account_api.errors import ApiError
from account_api.settings import Argon2Cost

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: The bases of the passwords people pick first (a few digits or symbols added to one of
#: these is still the first guess of every guessing list).
_COMMON = frozenset(
    [
        "password",
        "passw0rd",
        "p@ssword",
        "p@ssw0rd",
        "qwerty",
        "qwertyuiop",
        "qwertz",
        "azerty",
        "asdfgh",
        "asdfghjkl",
        "zxcvbnm",
        "letmein",
        "welcome",
        "admin",
        "administrator",
        "iloveyou",
        "monkey",
        "dragon",
        "sunshine",
        "princess",
        "football",
        "baseball",
        "soccer",
        "hockey",
        "master",
        "shadow",
        "superman",
        "batman",
        "trustno1",
        "whatever",
        "freedom",
        "starwars",
        "pokemon",
        "computer",
        "internet",
        "secret",
        "changeme",
        "default",
        "login",
        "access",
        "abc123",
        "hello",
        "charlie",
        "michael",
        "jennifer",
        "jordan",
        "hunter",
        "ranger",
        "buster",
        "thomas",
        "robert",
        "daniel",
    ]
)
#: Keyboard and counting runs: any stretch of these is a first guess.
_RUNS = ("01234567890", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_BUSY = "The service is busy checking passwords. Try again in a moment."


def normalise_email(raw: str) -> str:
    """Trimmed, NFC and lower-cased; a 422 for something that is not an email address."""
    email = unicodedata.normalize("NFC", raw.strip()).lower()
    if not _EMAIL.match(email) or len(email) > 320 or _CONTROL.search(email):
        raise ApiError(422, "Enter a valid email address, like name@example.com.")
    return email


def _guessable(password: str) -> bool:
    """A repeated pattern, a run (``abcdefghij``, ``1234567890``) or a common word with a
    few digits or symbols around it."""
    lowered = password.lower()
    if len(set(lowered)) < 4:
        return True
    for size in range(1, 5):
        if len(lowered) % size == 0 and lowered[:size] * (len(lowered) // size) == lowered:
            return True
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(lowered)}
    if steps in ({1}, {-1}):
        return True
    if any(lowered in run or lowered in run[::-1] for run in _RUNS):
        return True
    core = lowered.strip("0123456789!@#$%^&*()_+-=.,?~ ")
    return core in _COMMON or lowered in _COMMON


def check_password_rules(password: str, email: str) -> None:
    """Raise a 422 with the rule a new password breaks."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ApiError(422, f"Use a password of at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ApiError(422, f"Use a password of at most {MAX_PASSWORD_LENGTH} characters.")
    if not password.strip():
        raise ApiError(422, "A password cannot be only spaces.")
    if password.strip().lower() == email:
        raise ApiError(422, "Use a password that is not your email address.")
    if _guessable(password):
        raise ApiError(
            422,
            "This password is among the first ones anyone would guess: use a few unrelated "
            "words or a password manager.",
        )


class Passwords:
    """argon2id hashing with the configured cost, at most ``max_concurrent`` at once.

    Each hash takes ``memory_kib`` of memory for its duration, so the bound is what keeps a
    burst of sign-ins from taking the server's memory. A request waits up to ``wait`` for
    a turn; then it is answered 503 with Retry-After.
    """

    def __init__(
        self, cost: Argon2Cost, *, max_concurrent: int = 4, wait: timedelta | None = None
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=cost.time_cost,
            memory_cost=cost.memory_kib,
            parallelism=cost.parallelism,
            type=Type.ID,
        )
        self.slots = threading.BoundedSemaphore(max_concurrent)
        self._wait = (wait or timedelta(seconds=2)).total_seconds()
        # Verified against when the email is unknown, so both cases take the same time.
        self._dummy = self._hasher.hash("kiln-dummy-password")

    def _turn(self) -> None:
        if not self.slots.acquire(timeout=self._wait):
            raise ApiError(503, _BUSY, {"Retry-After": "2"})

    def hash(self, password: str) -> str:
        self._turn()
        try:
            return self._hasher.hash(password)
        finally:
            self.slots.release()

    def verify(self, stored_hash: str | None, password: str) -> bool:
        self._turn()
        try:
            return self._hasher.verify(stored_hash or self._dummy, password) and (
                stored_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False
        finally:
            self.slots.release()

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)
