"""Wire models of the Kiln account API, shared by ``account_api`` and the desktop client.

Every request and response body of ``/v1/...`` is one of these models. Every error has one
shape, :class:`Problem`: ``{"detail": <plain sentence>}``, except three structured details
that the client acts on (each with its own ``message`` sentence):

* 402 on a hold: :class:`InsufficientCredits` (``need``, ``have``, ``message``);
* 409 on a stale active-version change: :class:`ActiveConflict`;
* 409 on a version whose files are not uploaded yet: :class:`MissingBlobs`.

Times are timezone-aware UTC. Credits are whole numbers.

What a request may hold is bounded here, where it enters: integers fit the database column
they go to (``INT32_MAX`` for counters kept in 32-bit columns, ``INT64_MAX`` for cursors),
texts have a length and no control characters, ids have a pattern, dates carry a timezone and
lie between 1970 and 9999, and the free-form ``source``/``stats`` objects have a depth, a
size and only finite numbers.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from studio.safe_paths import MAX_RELPATH_LENGTH, relpath_problem

SHA256_PATTERN = r"^[0-9a-f]{64}$"
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
#: Model and version uids: what ``uuid4().hex`` gives, and anything like it that is safe in
#: a URL path (no "/", no "..", no "%").
UID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
#: Idempotency keys and payment event ids: visible ASCII.
KEY_PATTERN = r"^[!-~]{1,200}$"
PLAN_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
FORMAT_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,31}$"
#: Names and file names: no control characters (C0, DEL).
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
#: Most of :func:`studio.safe_paths.relpath_problem` as a pattern, so the OpenAPI schema tells
#: clients the rule; the validator adds what a pattern cannot say (NFC, reserved names).
_PART = r"[^/\\:*?\"<>|\x00-\x1f\x7f]*[^/\\:*?\"<>|\x00-\x1f\x7f. ]"
RELPATH_PATTERN = rf"^{_PART}(/{_PART})*$"
#: Limits of the free-form ``source`` and ``stats`` objects of a version.
JSON_MAX_DEPTH = 8
JSON_MAX_ITEMS = 2000
JSON_MAX_STRING = 10_000
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)

GenerationKind = Literal["text", "image", "multi_image"]
Quality = Literal["standard", "ultra"]
BucketKind = Literal["signup_bonus", "subscription", "topup"]
BucketState = Literal["active", "spent", "ended"]
HoldState = Literal["held", "captured", "released", "expired"]
LedgerKind = Literal["grant", "hold", "capture", "release", "expire", "write_off"]


class WireModel(BaseModel):
    """Unknown fields are rejected, so a typo in a client is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid")


def _aware_in_range(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a time needs a timezone (for example 2026-01-02T03:04:05Z)")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError("the time must lie between 1970 and 9999")
    return utc


#: A timezone-aware time between 1970 and 9999, in UTC.
Timestamp = Annotated[datetime, AfterValidator(_aware_in_range)]


def bounded_json(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` if it nests at most ``JSON_MAX_DEPTH`` deep, holds at most ``JSON_MAX_ITEMS``
    values, strings of at most ``JSON_MAX_STRING`` characters and 64-bit-safe finite numbers."""
    items = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        items += 1
        if items > JSON_MAX_ITEMS:
            raise ValueError(f"it holds more than {JSON_MAX_ITEMS} values")
        if isinstance(node, dict | list):
            if depth > JSON_MAX_DEPTH:
                raise ValueError(f"it nests deeper than {JSON_MAX_DEPTH} levels")
            children = list(node.values()) if isinstance(node, dict) else node
            if isinstance(node, dict):
                for key in node:
                    if len(key) > JSON_MAX_STRING:
                        raise ValueError(f"a key is longer than {JSON_MAX_STRING} characters")
            pending.extend((child, depth + 1) for child in children)
        elif isinstance(node, str):
            if len(node) > JSON_MAX_STRING:
                raise ValueError(f"a text is longer than {JSON_MAX_STRING} characters")
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            if not -INT64_MAX - 1 <= node <= INT64_MAX:
                raise ValueError("a number does not fit in 64 bits")
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise ValueError("a number is not finite")
        else:  # pragma: no cover - JSON has no other types
            raise ValueError("it holds a value JSON cannot carry")
    return value


#: A small free-form JSON object (a version's ``source`` and ``stats``).
BoundedJson = Annotated[dict[str, Any], AfterValidator(bounded_json)]
#: A name or file name: a length and no control characters.
Name = Annotated[str, Field(min_length=1, max_length=500, pattern=TEXT_PATTERN)]
Uid = Annotated[str, Field(pattern=UID_PATTERN, max_length=64)]


# --- errors ----------------------------------------------------------------------------------


class InsufficientCredits(WireModel):
    """The ``detail`` of a 402."""

    need: int
    have: int
    message: str


class ActiveConflict(WireModel):
    """The ``detail`` of a 409 on ``PUT /v1/models/{uid}/active``: the state to rebase on."""

    message: str
    active_version_uid: str | None
    active_revision: int


class MissingBlobs(WireModel):
    """The ``detail`` of a 409 on a version whose files are not uploaded yet."""

    message: str
    missing: list[str]


class Problem(WireModel):
    """Every 4xx and 5xx answer: one plain sentence, or one of the structured details."""

    detail: str | InsufficientCredits | ActiveConflict | MissingBlobs


# --- auth ------------------------------------------------------------------------------------


class SignupRequest(WireModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class SigninRequest(WireModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class RefreshRequest(WireModel):
    refresh_token: str = Field(max_length=512)


class SignoutRequest(WireModel):
    refresh_token: str = Field(max_length=512)


class DeleteAccountRequest(WireModel):
    password: str = Field(max_length=1024)


class Account(WireModel):
    id: str
    email: str
    plan: str
    created_at: datetime
    #: The plan the account moves to when the current period ends (``None``: it stays).
    next_plan: str | None = None


class Session(WireModel):
    """What signup, signin and refresh return.

    ``refresh_token`` is single-use: each refresh returns a new one, and presenting an
    old one again signs the whole session out (on every device that shares it).
    """

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    account: Account


# --- plans, prices, credits ------------------------------------------------------------------


class Plan(WireModel):
    code: str
    name: str
    monthly_credits: int


class CheckoutRequest(WireModel):
    """Ask for the payment page of a paid plan (the plan changes when the payment arrives)."""

    plan: str = Field(pattern=PLAN_PATTERN, max_length=32)


class Checkout(WireModel):
    """Where the designer pays for ``plan``: open ``url`` in a browser."""

    plan: str
    url: str


class Price(WireModel):
    kind: GenerationKind
    #: ``None``: the price of every quality of this kind.
    quality: Quality | None
    credits: int


class Bucket(WireModel):
    id: int
    kind: BucketKind
    granted: int
    remaining: int
    state: BucketState
    reason: str
    created_at: datetime


class Balance(WireModel):
    available: int
    on_hold: int
    plan: str
    #: Buckets that still hold credits (or the current subscription), in spending order.
    buckets: list[Bucket]


class HoldRequest(WireModel):
    """Either ``kind`` (+ ``quality``, priced by the server) or an explicit ``amount``.

    The same ``idempotency_key`` with the same parameters returns the same hold; with other
    parameters it is a 409.
    """

    idempotency_key: str = Field(min_length=1, max_length=200, pattern=KEY_PATTERN)
    kind: GenerationKind | None = None
    quality: Quality = "standard"
    amount: int | None = Field(default=None, gt=0, le=1_000_000)


class Hold(WireModel):
    id: str
    idempotency_key: str
    amount: int
    kind: GenerationKind | None
    quality: Quality | None
    state: HoldState
    created_at: datetime
    expires_at: datetime
    settled_at: datetime | None


class LedgerEntry(WireModel):
    id: int
    created_at: datetime
    kind: LedgerKind
    #: Change of the available credits (negative when spent or held).
    amount: int
    #: Change of the credits on hold.
    on_hold_change: int
    bucket_id: int | None
    hold_id: str | None
    reason: str


class LedgerPage(WireModel):
    """Newest first; pass ``next_before`` as ``before`` for the next page (``None``: done)."""

    entries: list[LedgerEntry]
    next_before: int | None


class PaymentCredits(BaseModel):
    """``data`` of ``credits.purchased``. ``reason`` is the provider's description: it is
    cleaned (control characters out, shortened) rather than refused, so a purchase is never
    lost to its label."""

    email: str = Field(max_length=320)
    credits: int = Field(gt=0, le=10_000_000)
    reason: str = Field(default="Credit pack", max_length=100_000)


class PaymentSubscription(BaseModel):
    """``data`` of ``subscription.updated`` (the account is on ``plan`` from now on) and of
    ``subscription.ended`` (``plan`` is ignored: the account goes back to the free plan)."""

    email: str = Field(max_length=320)
    plan: str = Field(default="free", pattern=PLAN_PATTERN, max_length=32)


class PaymentEvent(BaseModel):
    """The payment provider's webhook body (``credits.purchased``, ``subscription.updated``,
    ``subscription.ended``; other types are acknowledged and ignored)."""

    id: str = Field(min_length=1, max_length=200, pattern=KEY_PATTERN)
    type: str = Field(max_length=200)
    data: dict[str, Any] = Field(default_factory=dict)


class WebhookResult(WireModel):
    status: Literal["applied", "already_applied", "ignored"]


# --- models sync -----------------------------------------------------------------------------


class BlobInfo(WireModel):
    sha256: str
    size: int


class ModelCreate(WireModel):
    uid: Uid
    name: Name


class ModelRename(WireModel):
    name: Name


class Model(WireModel):
    uid: str
    name: str
    created_at: datetime
    active_version_uid: str | None
    #: Grows by one on every change of the active version; send it back as ``base_revision``.
    active_revision: int
    #: The account revision of the model's last change (the sync cursor space).
    revision: int


class Companion(WireModel):
    """A file beside the model (texture, MTL). ``relpath`` is checked by
    :func:`studio.safe_paths.relpath_problem`: relative, "/"-separated, NFC, no "..", no
    drive, no backslash, at most ``MAX_RELPATH_LENGTH`` characters."""

    relpath: str = Field(min_length=1, max_length=MAX_RELPATH_LENGTH, pattern=RELPATH_PATTERN)
    sha256: str = Field(pattern=SHA256_PATTERN)

    @field_validator("relpath", mode="before")
    @classmethod
    def _safe_relpath(cls, relpath: Any) -> Any:
        # Before the pattern, so the answer names the rule that is broken.
        if isinstance(relpath, str):
            problem = relpath_problem(relpath)
            if problem is not None:
                raise ValueError(f"it is not a safe companion path: {problem}")
        return relpath


class VersionCreate(WireModel):
    uid: Uid
    number: int = Field(ge=1, le=INT32_MAX)
    sha256: str = Field(pattern=SHA256_PATTERN)
    filename: str = Field(min_length=1, max_length=1000, pattern=TEXT_PATTERN)
    format: str = Field(min_length=1, max_length=32, pattern=FORMAT_PATTERN)
    companions: list[Companion] = Field(default_factory=list, max_length=1000)
    thumbnail_sha: str | None = Field(default=None, pattern=SHA256_PATTERN)
    source: BoundedJson = Field(default_factory=dict)
    stats: BoundedJson = Field(default_factory=dict)
    created_at: Timestamp


class Version(WireModel):
    uid: str
    model_uid: str
    number: int
    sha256: str
    filename: str
    format: str
    companions: list[Companion]
    thumbnail_sha: str | None
    source: dict[str, Any]
    stats: dict[str, Any]
    created_at: datetime
    revision: int


class ModelDetail(WireModel):
    model: Model
    versions: list[Version]


class SetActiveRequest(WireModel):
    version_uid: Uid
    base_revision: int = Field(ge=0, le=INT32_MAX)


class ActiveState(WireModel):
    model_uid: str
    active_version_uid: str | None
    active_revision: int
    revision: int


class Tombstone(WireModel):
    kind: Literal["model", "version"]
    uid: str
    model_uid: str
    deleted_at: datetime
    revision: int


class SyncFeed(WireModel):
    """Everything that changed after ``since``; pass ``cursor`` as the next ``since``.

    Apply in order: models, versions, active, tombstones. A deleted model's versions
    are gone with it (only the model's tombstone is listed).
    """

    cursor: int
    models: list[Model]
    versions: list[Version]
    active: list[ActiveState]
    tombstones: list[Tombstone]


class Health(WireModel):
    status: Literal["ok"]
