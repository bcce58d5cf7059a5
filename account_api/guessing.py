"""Slowing down password guessing without letting a stranger lock the owner out.

A wrong password counts against two keys, kept in the database (shared by every instance):

* the *pair* (account, client address): after ``pair_free`` failures each further try waits
  1 s, 2 s, 4 s … (at most ``pair_max_wait``) after the last failure. Only the guesser's own
  address is slowed; the owner elsewhere is not;
* the *account*, from every address: past ``account_free`` failures, tries from addresses the
  account has not signed in from lately get one try per ``account_spacing`` between them.
  Addresses the account has signed in from (``trusted_clients``) skip this slow-down: a
  stranger's guesses never stop the right password from the owner's usual computer.

A counter forgets after ``quiet`` without a failure; the right password clears its pair and
marks the address as trusted. Nothing here ever refuses a right password for long: the longest
wait is the pair's own backoff, which only that address's failures can grow.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from account_api.database import Database
from account_api.errors import ApiError
from account_api.settings import GuessPolicy
from account_api.tables import GuessRow, TrustedClientRow

_MAX_COUNT = 1_000_000


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Attempt:
    """One password check: for which account (its normalised email) from which address."""

    email: str
    client: str

    @property
    def pair_key(self) -> str:
        return f"pair:{_digest(self.email, self.client)}"

    @property
    def account_key(self) -> str:
        return f"account:{_digest(self.email)}"

    @property
    def client_key(self) -> str:
        return _digest(self.client)


def _too_soon(retry_at: datetime, now: datetime) -> ApiError:
    seconds = max(1, math.ceil((retry_at - now).total_seconds()))
    if seconds < 120:
        wait = f"{seconds} second{'s' if seconds != 1 else ''}"
    else:
        minutes = math.ceil(seconds / 60)
        wait = f"{minutes} minutes"
    return ApiError(
        429,
        f"Too many wrong passwords. Try again in {wait}.",
        {"Retry-After": str(seconds)},
    )


def _live(row: GuessRow | None, policy: GuessPolicy, now: datetime) -> GuessRow | None:
    if row is None or now - row.last_failure_at >= policy.quiet:
        return None
    return row


def pair_wait(failures: int, policy: GuessPolicy) -> timedelta:
    """How long after the last failure the pair may try again."""
    over = failures - policy.pair_free
    if over < 0:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(over, 30)), policy.pair_max_wait)


def check(
    db: Database, policy: GuessPolicy, attempt: Attempt, user_id: int | None, now: datetime
) -> None:
    """A 429 with Retry-After if this attempt must wait; nothing is counted here."""
    with db.read() as session:
        pair = _live(session.get(GuessRow, attempt.pair_key), policy, now)
        account = _live(session.get(GuessRow, attempt.account_key), policy, now)
        if pair is not None and pair.failures >= policy.pair_free:
            retry_at = pair.last_failure_at + pair_wait(pair.failures, policy)
            if now < retry_at:
                raise _too_soon(retry_at, now)
        if account is not None and account.failures >= policy.account_free:
            if _trusted(session, policy, user_id, attempt, now):
                return
            retry_at = account.last_failure_at + policy.account_spacing
            if now < retry_at:
                raise _too_soon(retry_at, now)


def _trusted(
    session: Session, policy: GuessPolicy, user_id: int | None, attempt: Attempt, now: datetime
) -> bool:
    if user_id is None:
        return False
    row = session.get(TrustedClientRow, (user_id, attempt.client_key))
    return row is not None and now - row.last_seen_at < policy.trusted_for


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def failed(db: Database, policy: GuessPolicy, attempt: Attempt, now: datetime) -> None:
    """Count a wrong password against the pair and the account."""
    with db.write() as session:
        insert = _insert(session)
        for key in (attempt.pair_key, attempt.account_key):
            # An upsert: two instances counting the same key at once both count.
            session.execute(
                insert(GuessRow)
                .values(key=key, failures=1, last_failure_at=now)
                .on_conflict_do_update(
                    index_elements=["key"],
                    set_={
                        "failures": case(
                            (GuessRow.last_failure_at < now - policy.quiet, 1),
                            (GuessRow.failures >= _MAX_COUNT, GuessRow.failures),
                            else_=GuessRow.failures + 1,
                        ),
                        "last_failure_at": now,
                    },
                )
            )


def succeeded(session: Session, attempt: Attempt, user_id: int, now: datetime) -> None:
    """The right password: clear the pair and trust this address (inside a write)."""
    session.execute(delete(GuessRow).where(GuessRow.key == attempt.pair_key))
    session.execute(
        _insert(session)(TrustedClientRow)
        .values(user_id=user_id, client_key=attempt.client_key, last_seen_at=now)
        .on_conflict_do_update(index_elements=["user_id", "client_key"], set_={"last_seen_at": now})
    )


def forget_stale(db: Database, policy: GuessPolicy, now: datetime) -> int:
    """Delete counters quiet for longer than ``quiet`` (the sweep); how many."""
    with db.write() as session:
        result = session.execute(
            delete(GuessRow).where(GuessRow.last_failure_at < now - policy.quiet)
        )
        session.execute(
            delete(TrustedClientRow).where(TrustedClientRow.last_seen_at < now - policy.trusted_for)
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
