"""Wire models of the Kiln account API, shared by ``account_api`` and the desktop client.

Every request and response body of ``/v1/...`` is one of these models. Errors are always
``{"detail": <plain sentence>}``, except three structured details that the client acts on:

* 402 on a hold: :class:`InsufficientCredits` (``need``, ``have``, ``message``);
* 409 on a stale active-version change: :class:`ActiveConflict`;
* 409 on a version whose files are not uploaded yet: :class:`MissingBlobs`.

Times are timezone-aware UTC. Credits are whole numbers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SHA256_PATTERN = r"^[0-9a-f]{64}$"

GenerationKind = Literal["text", "image", "multi_image"]
Quality = Literal["standard", "ultra"]
BucketKind = Literal["signup_bonus", "subscription", "topup"]
BucketState = Literal["active", "spent", "ended"]
HoldState = Literal["held", "captured", "released", "expired"]
LedgerKind = Literal["grant", "hold", "capture", "release", "expire", "write_off"]


class WireModel(BaseModel):
    """Unknown fields are rejected, so a typo in a client is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid")


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


class PlanChangeRequest(WireModel):
    plan: str = Field(max_length=64)


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
    """Either ``kind`` (+ ``quality``, priced by the server) or an explicit ``amount``."""

    idempotency_key: str = Field(min_length=1, max_length=200)
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


class InsufficientCredits(WireModel):
    """The ``detail`` of a 402."""

    need: int
    have: int
    message: str


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


class PaymentCredits(WireModel):
    email: str
    credits: int = Field(gt=0, le=10_000_000)
    reason: str = "Credit pack"


class PaymentEvent(BaseModel):
    """The payment provider's webhook body; only ``credits.purchased`` credits an account."""

    id: str = Field(min_length=1, max_length=200)
    type: str
    data: dict[str, Any] = Field(default_factory=dict)


class WebhookResult(WireModel):
    status: Literal["applied", "already_applied", "ignored"]


# --- models sync -----------------------------------------------------------------------------


class BlobInfo(WireModel):
    sha256: str
    size: int


class ModelCreate(WireModel):
    uid: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=500)


class ModelRename(WireModel):
    name: str = Field(min_length=1, max_length=500)


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
    relpath: str = Field(min_length=1, max_length=1000)
    sha256: str = Field(pattern=SHA256_PATTERN)


class VersionCreate(WireModel):
    uid: str = Field(min_length=1, max_length=64)
    number: int = Field(ge=1)
    sha256: str = Field(pattern=SHA256_PATTERN)
    filename: str = Field(min_length=1, max_length=1000)
    format: str = Field(min_length=1, max_length=32)
    companions: list[Companion] = Field(default_factory=list, max_length=1000)
    thumbnail_sha: str | None = Field(default=None, pattern=SHA256_PATTERN)
    source: dict[str, Any] = Field(default_factory=dict)
    stats: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime


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
    version_uid: str = Field(min_length=1, max_length=64)
    base_revision: int = Field(ge=0)


class ActiveState(WireModel):
    model_uid: str
    active_version_uid: str | None
    active_revision: int
    revision: int


class ActiveConflict(WireModel):
    """The ``detail`` of a 409 on ``PUT /v1/models/{uid}/active``: the state to rebase on."""

    message: str
    active_version_uid: str | None
    active_revision: int


class MissingBlobs(WireModel):
    """The ``detail`` of a 409 on a version whose files are not uploaded yet."""

    message: str
    missing: list[str]


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
