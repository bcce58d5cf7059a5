"""Passwords: the rules a designer is told about, argon2id hashing, email normalisation."""

from __future__ import annotations

import re

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from account_api.errors import ApiError
from account_api.settings import Argon2Cost

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(raw: str) -> str:
    """Trimmed and lower-cased; raises a 422 for something that is not an email address."""
    email = raw.strip().lower()
    if not _EMAIL.match(email) or len(email) > 320:
        raise ApiError(422, "Enter a valid email address, like name@example.com.")
    return email


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


class Passwords:
    """argon2id hashing with the configured cost."""

    def __init__(self, cost: Argon2Cost) -> None:
        self._hasher = PasswordHasher(
            time_cost=cost.time_cost,
            memory_cost=cost.memory_kib,
            parallelism=cost.parallelism,
            type=Type.ID,
        )
        # Verified against when the email is unknown, so both cases take the same time.
        self._dummy = self._hasher.hash("kiln-dummy-password")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash or self._dummy, password) and (
                stored_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)
