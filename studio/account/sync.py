"""Model sync: the local library and the account service, in both directions.

:func:`sync` pushes what this device made (blobs first, then models, versions, active
changes and deletions), then pulls everything after the library's cursor (models, versions,
active, tombstones, in that order). It talks to the service through a small
:class:`SyncTransport`; :class:`HttpSyncTransport` implements it on an ``httpx.Client``
that already carries ``Authorization: Bearer <access token>``.

Rules kept on every device (see DESIGN.md, "The library's rules"):

* a version is matched across devices by its ``uid``, and keeps its number, except a
  version the server has never seen whose number another device published first: it moves
  to the next free number (it was never published, so no published number is reused);
* the active version changed on two devices offline is resolved by revision: a stale
  ``base_revision`` gets a 409 and the server's current state wins; no version is lost;
* the server's tombstones delete local copies, never a local version the server has not
  seen (a deleted model's unseen versions stay, as a model the server will see as new);
* every step is idempotent and progress is persisted as it goes (what the server holds,
  the cursor after a feed is applied in full), so an interrupted sync completes on the
  next run.

Pending local changes are the difference between the library and what the server is known
to hold (:mod:`studio.library.sync_state`), so nothing made offline can be forgotten.

What the service sends is read item by item and checked before anything is downloaded
(:mod:`studio.library.incoming`): a version this device can't keep (a companion path that
would leave its folder, a format this version of Kiln Studio doesn't know, an item it can't
read) is skipped with a note in the report and the log, and the rest of the sync goes on.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from studio.account import schema
from studio.account.client import AccountClient
from studio.errors import KilnError
from studio.library import Library, VersionRecord
from studio.library.incoming import time_problem, uid_problem, version_problem
from studio.library.library import MAX_NAME_LENGTH
from studio.library.store import is_sha256
from studio.library.sync_state import LocalModel, SyncSnapshot
from studio.work import NEVER_CANCELLED, CancelToken, Progress, no_progress

#: Attempts at a free version number before giving up (each 409 moves one higher).
MAX_RENUMBER_ATTEMPTS = 1000
_CHUNK = 1024 * 1024
#: Revisions and cursors are 64-bit integers in the library's database.
_MAX_REVISION = 2**63 - 1

log = logging.getLogger(__name__)

Wire = TypeVar("Wire", bound=BaseModel)


class SyncError(KilnError):
    """The sync could not finish (service unreachable, refused, or an unexpected answer).

    What was done so far is kept: syncing again continues from there.
    """


class SyncConflict(SyncError):
    """A 409 from the service; ``detail`` is its body's ``detail`` (a sentence or a dict)."""

    def __init__(self, detail: Any) -> None:
        message = detail if isinstance(detail, str) else str(detail.get("message", detail))
        super().__init__(message)
        self.detail = detail


class SyncNotFound(SyncError):
    """A 404: the model, version or file is not (or no longer) on the service."""


@dataclass
class Feed:
    """``GET /v1/sync``, read item by item (see :class:`schema.SyncFeed`)."""

    cursor: int
    models: list[schema.Model] = field(default_factory=list)
    versions: list[schema.Version] = field(default_factory=list)
    active: list[schema.ActiveState] = field(default_factory=list)
    tombstones: list[schema.Tombstone] = field(default_factory=list)
    #: One plain sentence per item that could not be read (it was left out).
    unreadable: list[str] = field(default_factory=list)


@dataclass
class Detail:
    """``GET /v1/models/{uid}``, its versions read one by one (see :class:`schema.ModelDetail`)."""

    model: schema.Model
    versions: list[schema.Version] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


class SyncTransport(Protocol):
    """The calls the sync makes to the account service (``/v1/blobs``, ``/v1/models``,
    ``/v1/sync``). Raise :class:`SyncConflict` on 409, :class:`SyncNotFound` on 404 and
    :class:`SyncError` for anything else that fails."""

    def has_blob(self, sha256: str) -> bool: ...

    def upload_blob(self, sha256: str, path: Path) -> None: ...

    def download_blob(self, sha256: str, dest: Path) -> None: ...

    def create_model(self, body: schema.ModelCreate) -> schema.Model: ...

    def get_model(self, uid: str) -> Detail: ...

    def create_version(self, model_uid: str, body: schema.VersionCreate) -> schema.Version: ...

    def set_active(self, model_uid: str, body: schema.SetActiveRequest) -> schema.ActiveState: ...

    def delete_model(self, uid: str) -> None: ...

    def delete_version(self, model_uid: str, uid: str) -> schema.ActiveState: ...

    def changes(self, since: int) -> Feed: ...


class HttpSyncTransport:
    """:class:`SyncTransport` over an authorised ``httpx.Client`` (``base_url`` set)."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except httpx.HTTPError as exc:
            raise SyncError(
                f"Could not reach the account service ({type(exc).__name__}). "
                "Check the connection and sync again."
            ) from exc

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.is_success:
            return response
        try:
            detail: Any = response.json().get("detail")
        except (ValueError, AttributeError):
            detail = None
        if response.status_code == 409:
            raise SyncConflict(detail if detail is not None else "Conflict.")
        if response.status_code == 404:
            raise SyncNotFound(detail if isinstance(detail, str) else "Not found.")
        if response.status_code == 401:
            raise SyncError("The account session has ended. Sign in again to sync.")
        text = detail if isinstance(detail, str) else f"HTTP {response.status_code}"
        raise SyncError(f"The account service refused the sync: {text}")

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        with self._errors():
            return self._check(self.http.request(method, url, **kwargs))

    def has_blob(self, sha256: str) -> bool:
        with self._errors():
            response = self.http.head(f"/v1/blobs/{sha256}")
        if response.status_code == 404:
            return False
        self._check(response)
        return True

    def upload_blob(self, sha256: str, path: Path) -> None:
        with path.open("rb") as fh:
            self._call(
                "PUT",
                f"/v1/blobs/{sha256}",
                content=fh,
                headers={"Content-Length": str(path.stat().st_size)},
            )

    def download_blob(self, sha256: str, dest: Path) -> None:
        with self._errors(), self.http.stream("GET", f"/v1/blobs/{sha256}") as response:
            if not response.is_success:
                response.read()
                self._check(response)
            with dest.open("wb") as out:
                for chunk in response.iter_bytes(_CHUNK):
                    out.write(chunk)

    def create_model(self, body: schema.ModelCreate) -> schema.Model:
        response = self._call("POST", "/v1/models", json=body.model_dump(mode="json"))
        return _parse(schema.Model, _body(response))

    def get_model(self, uid: str) -> Detail:
        body = _body(self._call("GET", f"/v1/models/{uid}"))
        if not isinstance(body, dict):
            raise _unreadable_answer()
        detail = Detail(_parse(schema.Model, body.get("model")))
        detail.versions = _items(schema.Version, body, "versions", "version", detail.unreadable)
        return detail

    def create_version(self, model_uid: str, body: schema.VersionCreate) -> schema.Version:
        response = self._call(
            "POST", f"/v1/models/{model_uid}/versions", json=body.model_dump(mode="json")
        )
        return _parse(schema.Version, _body(response))

    def set_active(self, model_uid: str, body: schema.SetActiveRequest) -> schema.ActiveState:
        response = self._call("PUT", f"/v1/models/{model_uid}/active", json=body.model_dump())
        return _parse(schema.ActiveState, _body(response))

    def delete_model(self, uid: str) -> None:
        self._call("DELETE", f"/v1/models/{uid}")

    def delete_version(self, model_uid: str, uid: str) -> schema.ActiveState:
        response = self._call("DELETE", f"/v1/models/{model_uid}/versions/{uid}")
        return _parse(schema.ActiveState, _body(response))

    def changes(self, since: int) -> Feed:
        body = _body(self._call("GET", "/v1/sync", params={"since": since}))
        cursor = body.get("cursor") if isinstance(body, dict) else None
        if not isinstance(cursor, int) or isinstance(cursor, bool) or not _is_revision(cursor):
            raise _unreadable_answer()
        feed = Feed(cursor)
        feed.models = _items(schema.Model, body, "models", "model", feed.unreadable)
        feed.versions = _items(schema.Version, body, "versions", "version", feed.unreadable)
        feed.active = _items(
            schema.ActiveState, body, "active", "change of active version", feed.unreadable
        )
        feed.tombstones = _items(schema.Tombstone, body, "tombstones", "deletion", feed.unreadable)
        return feed


def _unreadable_answer() -> SyncError:
    return SyncError(
        "The account service sent an answer this version of Kiln Studio can't read. "
        "Update Kiln Studio, or try again later."
    )


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, RecursionError) as exc:
        raise _unreadable_answer() from exc


def _parse(model: type[Wire], data: Any) -> Wire:
    try:
        return _in_range(model.model_validate(data))
    except (ValidationError, ValueError) as exc:
        log.warning("the account service's answer does not fit %s: %s", model.__name__, exc)
        raise _unreadable_answer() from exc


def _items(model: type[Wire], body: Any, key: str, what: str, unreadable: list[str]) -> list[Wire]:
    """``body[key]``'s items that are ``model``s; a sentence in ``unreadable`` for each other."""
    raw = body.get(key) if isinstance(body, dict) else None
    if not isinstance(raw, list):
        raise _unreadable_answer()
    items: list[Wire] = []
    for index, item in enumerate(raw):
        try:
            items.append(_in_range(_validate_item(model, item)))
        except (ValidationError, ValueError) as exc:
            log.warning("item %d of %r from the account service is unreadable: %s", index, key, exc)
            unreadable.append(
                f"A {what} from the account was skipped: this version of Kiln Studio can't read it."
            )
    return items


def _validate_item(model: type[Wire], item: Any) -> Wire:
    """``item`` as a ``model``; companion paths are left to :mod:`studio.library.incoming`.

    The wire schema refuses an unsafe companion path outright; reading it loosely here lets
    the library's own check skip that one version with a sentence that names it.
    """
    companions = item.get("companions") if isinstance(item, dict) else None
    if "companions" not in model.model_fields or not isinstance(companions, list):
        return model.model_validate(item)
    parsed = model.model_validate({**item, "companions": []})
    loose = []
    for companion in companions:
        if not (
            isinstance(companion, dict)
            and isinstance(companion.get("relpath"), str)
            and isinstance(companion.get("sha256"), str)
            and set(companion) == {"relpath", "sha256"}
        ):
            raise ValueError("a companion file is not described as relpath and sha256")
        loose.append(schema.Companion.model_construct(**companion))
    return parsed.model_copy(update={"companions": loose})


def _is_revision(value: int) -> bool:
    return 0 <= value <= _MAX_REVISION


def _in_range(item: Wire) -> Wire:
    """``item``, once its revisions fit the library's 64-bit columns (else ValueError)."""
    for name in ("revision", "active_revision"):
        value = getattr(item, name, 0)
        if isinstance(value, int) and not _is_revision(value):
            raise ValueError(f"{name} {value} is out of range")
    return item


@dataclass
class SyncReport:
    """What one :func:`sync` did."""

    #: Models, versions, active changes and deletions sent to the service.
    pushed: int = 0
    #: Models, versions, active changes and deletions taken from the service.
    pulled: int = 0
    #: Conflicts resolved (a version renumbered, a stale active change, a kept version).
    conflicts: int = 0
    #: Plain sentences for the designer.
    messages: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """One line for a status bar."""
        if not (self.pushed or self.pulled or self.conflicts):
            return "Synced: everything was already up to date."
        parts = [f"sent {self.pushed}", f"received {self.pulled}"]
        if self.conflicts:
            parts.append(f"settled {self.conflicts} conflict{'s' if self.conflicts != 1 else ''}")
        return "Synced: " + ", ".join(parts) + "."


def sync(
    library: Library,
    transport: SyncTransport,
    *,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> SyncReport:
    """Push this library's changes to the account, then pull everyone else's.

    Raises
    ------
    SyncError
        The service could not be reached or refused; what was done so far is kept and the
        next sync continues from there.
    studio.errors.Cancelled
        ``cancel`` was set (at a safe point: nothing is half-done).
    """
    run = _Run(library, transport, SyncReport(), cancel)
    progress(0.0, "Sending changes")
    run.push()
    cancel.raise_if_cancelled()
    progress(0.5, "Receiving changes")
    if run.pull():
        # A model deleted elsewhere kept versions the account never saw: send them now.
        run.push()
    progress(1.0, "Synced")
    return run.report


class _Run:
    def __init__(
        self, library: Library, transport: SyncTransport, report: SyncReport, cancel: CancelToken
    ) -> None:
        self.library = library
        self.transport = transport
        self.report = report
        self.cancel = cancel

    # -- push -------------------------------------------------------------------------------

    def push(self) -> None:
        snap = self.library.sync_snapshot()
        for model in snap.models.values():
            self.cancel.raise_if_cancelled()
            self._push_model(snap, model)
        snap = self.library.sync_snapshot()
        for model in snap.models.values():
            self.cancel.raise_if_cancelled()
            self._push_active(snap, model)
        self._push_deletions(self.library.sync_snapshot())

    def _push_model(self, snap: SyncSnapshot, model: LocalModel) -> None:
        new = [v for v in model.versions if v.uid not in snap.server_versions]
        known = model.uid in snap.server_models
        if known and not new:
            return
        if not known:
            try:
                self.transport.create_model(schema.ModelCreate(uid=model.uid, name=model.name))
            except SyncConflict as exc:
                self.report.messages.append(f"“{model.name}” was not sent: {exc.message}")
                return
            self.report.pushed += 1
        last = model.last_version_number
        for version in new:
            self.cancel.raise_if_cancelled()
            last = max(last, self._push_version(model, version, last))
        if not known:
            try:
                detail = self.transport.get_model(model.uid)
            except SyncNotFound:
                return  # deleted meanwhile: its tombstone is in the feed
            self.library.sync_mark_model(
                model.uid, detail.model.active_version_uid, detail.model.active_revision
            )

    def _upload(self, shas: list[str]) -> None:
        for sha in dict.fromkeys(shas):
            if not self.library.sync_has_blob(sha):
                continue  # an input image the library lost: the version is sent without it
            if not self.transport.has_blob(sha):
                self.transport.upload_blob(sha, self.library.blob_path(sha))

    def _push_version(self, model: LocalModel, version: VersionRecord, last: int) -> int:
        shas = [version.sha256, *(c.sha256 for c in version.companions)]
        if version.thumbnail_sha:
            shas.append(version.thumbnail_sha)
        images = version.source.get("images")
        if isinstance(images, list):
            shas += [i for i in images if isinstance(i, str) and len(i) == 64]
        self._upload(shas)
        number = version.number
        for _ in range(MAX_RENUMBER_ATTEMPTS):
            body = schema.VersionCreate(
                uid=version.uid,
                number=number,
                sha256=version.sha256,
                filename=version.filename,
                format=version.format.value,
                companions=[
                    schema.Companion(relpath=c.relpath, sha256=c.sha256) for c in version.companions
                ],
                thumbnail_sha=version.thumbnail_sha,
                source=version.source,
                stats=version.stats,
                created_at=version.created_at,
            )
            try:
                sent = self.transport.create_version(model.uid, body)
            except SyncNotFound:
                return last  # the model was deleted elsewhere: the pull keeps this version
            except SyncConflict as exc:
                if isinstance(exc.detail, dict) and "missing" in exc.detail:
                    missing = schema.MissingBlobs.model_validate(exc.detail).missing
                    for sha in missing:
                        self.transport.upload_blob(sha, self.library.blob_path(sha))
                    continue
                if "(or had) a version" not in exc.message:
                    self.report.messages.append(
                        f"Version {number} of “{model.name}” was not sent: {exc.message}"
                    )
                    return last
                # Another device published this number first: ours was never published,
                # so it moves above every number either side has used.
                server_numbers = [v.number for v in self.transport.get_model(model.uid).versions]
                wanted = max([last, number, *server_numbers]) + 1
                number = self.library.sync_renumber_version(version.uid, wanted).number
                last = number
                self.report.conflicts += 1
                self.report.messages.append(
                    f"Version {version.number} of “{model.name}” was also made on another "
                    f"device: this one is now version {number}."
                )
                continue
            if sent.number != number:
                number = self.library.sync_renumber_version(version.uid, sent.number).number
            self.library.sync_mark_version(version.uid, model.uid)
            self.report.pushed += 1
            return max(last, number)
        raise SyncError(f"No free version number was found for “{model.name}”.")

    def _push_active(self, snap: SyncSnapshot, model: LocalModel) -> None:
        agreed = snap.server_models.get(model.uid)
        if agreed is None or model.active_version_uid == agreed.active_version_uid:
            return
        if model.active_version_uid not in snap.server_versions:
            return  # not sent (yet): it stays a local change
        request = schema.SetActiveRequest(
            version_uid=model.active_version_uid, base_revision=agreed.active_revision
        )
        try:
            state = self.transport.set_active(model.uid, request)
        except SyncNotFound:
            return  # deleted on the service: the feed says so
        except SyncConflict as exc:
            try:
                current = schema.ActiveConflict.model_validate(exc.detail)
            except ValidationError:
                self.report.messages.append(f"“{model.name}”: {exc.message}")
                return
            # Changed on another device since this one last synced: the service's wins.
            self.library.sync_apply_active(
                model.uid, current.active_version_uid, current.active_revision
            )
            self.report.conflicts += 1
            self.report.messages.append(
                f"The active version of “{model.name}” was changed on another device too; "
                "that change was kept. Both versions are still here."
            )
            return
        self.library.sync_mark_model(model.uid, state.active_version_uid, state.active_revision)
        self.report.pushed += 1

    def _push_deletions(self, snap: SyncSnapshot) -> None:
        local_versions = snap.local_version_uids()
        for uid, model_uid in snap.server_versions.items():
            if model_uid not in snap.models or uid in local_versions:
                continue
            self.cancel.raise_if_cancelled()
            try:
                state = self.transport.delete_version(model_uid, uid)
            except SyncNotFound:
                state = None
            except SyncConflict as exc:
                self.report.messages.append(f"A deleted version was kept: {exc.message}")
                continue
            self.library.sync_forget(version_uids=[uid])
            self.report.pushed += 1
            model = snap.models[model_uid]
            if state is not None and state.active_version_uid == model.active_version_uid:
                self.library.sync_mark_model(
                    model_uid, state.active_version_uid, state.active_revision
                )
        gone = (set(snap.server_models) | set(snap.server_versions.values())) - set(snap.models)
        for model_uid in sorted(gone):
            self.cancel.raise_if_cancelled()
            with contextlib.suppress(SyncNotFound):
                self.transport.delete_model(model_uid)
            self.library.sync_forget(model_uid=model_uid)
            self.report.pushed += 1

    # -- pull -------------------------------------------------------------------------------

    def _note(self, message: str) -> None:
        if message not in self.report.messages:
            log.warning("sync: %s", message)
            self.report.messages.append(message)

    def pull(self) -> bool:
        """Apply the feed after the cursor; True if unseen versions were kept under a new
        model (they need a push)."""
        snap = self.library.sync_snapshot()
        feed = self.transport.changes(snap.cursor)
        for message in feed.unreadable:
            self._note(message)
        models = []
        for model in feed.models:
            problem = uid_problem(model.uid) or time_problem(model.created_at)
            if problem is None:
                models.append(model)
            else:
                self._note(f"A model from the account was skipped: {problem}.")
        names = {m.uid: m.name for m in models}
        touched = list(dict.fromkeys([*names, *(v.model_uid for v in feed.versions)]))
        for uid in touched:
            self.cancel.raise_if_cancelled()
            if uid in snap.models:
                local = snap.models[uid]
                name = _model_name(names.get(uid, ""), local.name)
                if name != local.name:
                    self.library.rename_model(local.id, name)
                    self.report.pulled += 1
            elif uid not in snap.server_models and uid_problem(uid) is None:
                self._pull_new_model(uid)
        snap = self.library.sync_snapshot()
        local_versions = snap.local_version_uids()
        for version in feed.versions:
            self.cancel.raise_if_cancelled()
            if (
                version.model_uid in snap.models
                and version.uid not in local_versions
                and version.uid not in snap.server_versions
            ):
                self._insert(version, None, name=snap.models[version.model_uid].name)
        for state in feed.active:
            if self.library.sync_apply_active(
                state.model_uid, state.active_version_uid, state.active_revision
            ):
                self.report.pulled += 1
        rekeyed = False
        snap = self.library.sync_snapshot()
        for tomb in feed.tombstones:
            self.cancel.raise_if_cancelled()
            if tomb.kind == "version":
                self.report.pulled += self.library.sync_drop_versions(tomb.model_uid, [tomb.uid])
            elif tomb.uid in snap.models:
                name = snap.models[tomb.uid].name
                if self.library.sync_drop_model(tomb.uid) is None:
                    self.report.pulled += 1
                else:
                    rekeyed = True
                    self.report.conflicts += 1
                    self.report.messages.append(
                        f"“{name}” was deleted on another device; the versions made here "
                        "that it never saw were kept."
                    )
            else:
                self.library.sync_forget(model_uid=tomb.uid)
        self.library.sync_set_cursor(feed.cursor)
        return rekeyed

    def _pull_new_model(self, uid: str) -> None:
        try:
            detail = self.transport.get_model(uid)
        except SyncNotFound:
            return  # deleted since: its tombstone is in the feed
        name = _model_name(detail.model.name, "")
        for message in detail.unreadable:
            self._note(message)
        problem = time_problem(detail.model.created_at)
        if detail.model.uid != uid or problem is not None:
            self._note(f"“{name}” from the account was skipped: {problem or 'its uid differs'}.")
            return
        keep = [v for v in detail.versions if v.model_uid == uid and self._keepable(v, name)]
        if not keep:
            return  # not usable until a version it can keep arrives
        active = detail.model.active_version_uid
        ordered = sorted(keep, key=lambda v: (v.uid != active, v.number))
        state = (active, detail.model.active_revision)
        for version in ordered:
            self.cancel.raise_if_cancelled()
            self._insert(version, state, name=name, created=detail.model)
        self.library.sync_apply_active(uid, active, detail.model.active_revision)

    def _keepable(self, version: schema.Version, model_name: str) -> bool:
        """True when the library can keep ``version``; otherwise a note says why not."""
        problem = version_problem(
            uid=version.uid,
            model_uid=version.model_uid,
            number=version.number,
            sha256=version.sha256,
            filename=version.filename,
            format=version.format,
            companions=[(c.relpath, c.sha256) for c in version.companions],
            thumbnail_sha=version.thumbnail_sha,
            created_at=version.created_at,
        )
        if problem is None:
            return True
        of = f" of “{model_name}”" if model_name else ""
        self._note(f"Version {version.number}{of} from the account was skipped: {problem}.")
        return False

    def _insert(
        self,
        version: schema.Version,
        state: tuple[str | None, int] | None,
        *,
        name: str = "",
        created: schema.Model | None = None,
    ) -> None:
        if not self._keepable(version, name):
            return
        shas = [version.sha256, *(c.sha256 for c in version.companions)]
        if version.thumbnail_sha:
            shas.append(version.thumbnail_sha)
        images = version.source.get("images")
        if isinstance(images, list):
            shas += [i for i in images if isinstance(i, str) and is_sha256(i)]
        for sha in dict.fromkeys(shas):
            if self.library.sync_has_blob(sha):
                continue
            dest = self.library.sync_download_path()
            try:
                self.transport.download_blob(sha, dest)
            except BaseException:
                dest.unlink(missing_ok=True)
                raise
            self.library.sync_store_download(dest, sha)
        self.library.sync_insert_version(
            model_uid=version.model_uid,
            model_name=name or _model_name(version.filename, "Model"),
            model_created_at=created.created_at if created else version.created_at,
            uid=version.uid,
            number=version.number,
            sha256=version.sha256,
            filename=version.filename,
            format=version.format,
            companions=[(c.relpath, c.sha256) for c in version.companions],
            thumbnail_sha=version.thumbnail_sha,
            source=version.source,
            stats=version.stats,
            created_at=version.created_at,
            server_active=state,
        )
        self.report.pulled += 1


def _model_name(name: str, fallback: str) -> str:
    """A name the library accepts, from one another device gave (blanks and length aside)."""
    clean = " ".join(name.split())[:MAX_NAME_LENGTH].strip()
    return clean or fallback


def transport_for(account: AccountClient, *, timeout: float = 60.0) -> HttpSyncTransport:
    """The sync transport of a signed-in account (its token refresh included)."""
    http = httpx.Client(base_url=account.base_url, auth=account.auth(), timeout=timeout)
    return HttpSyncTransport(http)


def sync_account(
    library: Library,
    account: AccountClient,
    *,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> SyncReport:
    """Sync ``library`` with the signed-in ``account`` (opens and closes the connection)."""
    transport = transport_for(account)
    try:
        return sync(library, transport, progress=progress, cancel=cancel)
    finally:
        transport.http.close()
