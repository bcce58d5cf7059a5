"""Fixed-window attempt counters kept in the database (shared by every instance)."""

from __future__ import annotations

import hashlib
import math
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from account_api.database import Database
from account_api.errors import ApiError
from account_api.settings import RateLimit
from account_api.tables import RateLimitRow


def rate_key(scope: str, identity: str) -> str:
    """A short key; emails and addresses are hashed, not stored."""
    return f"{scope}:{hashlib.sha256(identity.encode()).hexdigest()[:40]}"


def count_attempt(db: Database, limits: list[tuple[str, RateLimit]], now: datetime) -> None:
    """Count one attempt against every key; a 429 with Retry-After when any is over.

    The attempt is counted (and committed) even when it is refused.
    """
    retry_after = 0
    with db.write() as session:
        for key, limit in limits:
            window = int(limit.window.total_seconds())
            start = int(now.timestamp()) // window * window
            insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
            statement = (
                insert(RateLimitRow)
                .values(key=key, window_start=start, count=1)
                .on_conflict_do_update(
                    index_elements=["key", "window_start"],
                    set_={"count": RateLimitRow.count + 1},
                )
                .returning(RateLimitRow.count)
            )
            count = session.execute(statement).scalar_one()
            session.execute(
                delete(RateLimitRow).where(
                    RateLimitRow.key == key, RateLimitRow.window_start < start
                )
            )
            if count > limit.limit:
                wait = math.ceil(start + window - now.timestamp())
                retry_after = max(retry_after, wait, 1)
    if retry_after:
        minutes = math.ceil(retry_after / 60)
        raise ApiError(
            429,
            f"Too many attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            {"Retry-After": str(retry_after)},
        )
