"""What the library tells the sync about itself: local models and versions by uid, and
what the account service is known to hold (see :mod:`studio.account.sync`).

A local change waiting to be pushed is never stored as a separate "pending" row: it is the
difference between the library and what the server is known to hold, so no write path of
the library has to remember to record it, and a crash can never lose one.

* a local version whose uid the server is not known to hold: a version to push;
* a local active version other than the one last agreed with the server: an active change
  to push, based on that model's ``active_revision``;
* a version or model the server is known to hold that is gone locally: a deletion to push.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from studio.library.records import VersionRecord

#: The ``sync_state`` key of the last applied feed's cursor.
CURSOR_KEY = "cursor"


@dataclass(frozen=True)
class LocalModel:
    """A local model, as the sync sees it."""

    id: int
    uid: str
    name: str
    created_at: datetime
    active_version_uid: str
    last_version_number: int
    #: Its versions, lowest number first.
    versions: tuple[VersionRecord, ...]


@dataclass(frozen=True)
class ServerModelState:
    """A model the server holds, with its active version as last agreed with it."""

    uid: str
    active_version_uid: str | None
    active_revision: int


@dataclass(frozen=True)
class SyncSnapshot:
    """The library and its sync state, read in one transaction."""

    cursor: int
    #: Local models by uid.
    models: dict[str, LocalModel] = field(default_factory=dict)
    #: Models the server is known to hold, by uid.
    server_models: dict[str, ServerModelState] = field(default_factory=dict)
    #: Versions the server is known to hold: version uid -> model uid.
    server_versions: dict[str, str] = field(default_factory=dict)

    def local_version_uids(self) -> dict[str, str]:
        """Every local version: version uid -> model uid."""
        return {v.uid: m.uid for m in self.models.values() for v in m.versions}
