"""The payment provider's webhook: Stripe-style signatures; purchases and subscription
changes applied once per event. This and the operator's ``set-plan`` command are the only
ways a paid plan (and its monthly credits) reaches an account."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from account_api import credits
from account_api.database import Database, lock_user
from account_api.errors import ApiError
from account_api.passwords import normalise_email
from account_api.tables import PaymentEventRow, UserRow
from studio.account import schema

CREDITS_PURCHASED = "credits.purchased"
SUBSCRIPTION_UPDATED = "subscription.updated"
SUBSCRIPTION_ENDED = "subscription.ended"
#: Where a purchase's description goes (the ledger's and the bucket's ``reason``).
REASON_LENGTH = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Stripe-Signature`` header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(
    secret: str, header: str | None, body: bytes, now: datetime, tolerance: timedelta
) -> None:
    """Raise a 400 unless ``header`` signs ``body`` with ``secret`` within ``tolerance``."""
    bad = ApiError(400, "The payment notification's signature is not valid.")
    if not header:
        raise bad
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise bad from None
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise bad
    expected = sign(secret, timestamp, body).rpartition("v1=")[2]
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise bad
    # Checked after the signature, so the timestamp is the sender's: replays of an old
    # notification are refused.
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        raise ApiError(400, "The payment notification is too old (or from the future).")


def clean_reason(raw: str) -> str:
    """The provider's description as a ledger reason: control characters (NUL included) as
    spaces, at most ``REASON_LENGTH`` characters. Cleaned, never refused: refusing would
    lose the purchase (the provider would retry the same text forever)."""
    text = " ".join(_CONTROL.sub(" ", raw).split())
    text = "".join(ch for ch in text if not 0xD800 <= ord(ch) <= 0xDFFF)
    if len(text) > REASON_LENGTH:
        text = text[: REASON_LENGTH - 1].rstrip() + "…"
    return text or "Credit pack"


def _account(session: Session, raw_email: str, what: str) -> UserRow:
    try:
        email = normalise_email(raw_email)
    except ApiError:
        raise ApiError(422, f"The email in this {what} is not a valid address.") from None
    user_id = session.scalar(select(UserRow.id).where(UserRow.email == email))
    user = lock_user(session, user_id) if user_id is not None else None
    if user is None:
        raise ApiError(422, f"There is no account with the email in this {what}.")
    return user


def apply_event(db: Database, event: schema.PaymentEvent, now: datetime) -> schema.WebhookResult:
    """Apply ``event`` once, however often it is delivered.

    * ``credits.purchased``: a top-up pack of ``credits``;
    * ``subscription.updated``: the account is on ``plan`` now (a new plan grants its monthly
      credits; the same plan changes nothing, and cancels a scheduled move to free);
    * ``subscription.ended``: back to the free plan at once (what is left of the period is
      written off).
    """
    if event.type == CREDITS_PURCHASED:
        try:
            purchase = schema.PaymentCredits.model_validate(event.data)
        except ValueError:
            raise ApiError(
                422, "The credits.purchased event is missing its email or credits."
            ) from None

        def apply(session: Session, user: UserRow) -> int:
            credits.grant(
                session, user, "topup", purchase.credits, clean_reason(purchase.reason), now
            )
            return purchase.credits

        return _once(db, event, purchase.email, "payment", apply, now)
    if event.type in (SUBSCRIPTION_UPDATED, SUBSCRIPTION_ENDED):
        try:
            subscription = schema.PaymentSubscription.model_validate(event.data)
        except ValueError:
            raise ApiError(422, f"The {event.type} event is missing its email or plan.") from None
        code = subscription.plan if event.type == SUBSCRIPTION_UPDATED else credits.FREE_PLAN

        def apply(session: Session, user: UserRow) -> int:
            before = user.plan_code
            plan = credits.change_plan(session, user, code, now)
            return plan.monthly_credits if plan.code != before else 0

        return _once(db, event, subscription.email, "subscription", apply, now)
    return schema.WebhookResult(status="ignored")


def _once(
    db: Database,
    event: schema.PaymentEvent,
    email: str,
    what: str,
    apply: Callable[[Session, UserRow], int],
    now: datetime,
) -> schema.WebhookResult:
    try:
        with db.write() as session:
            if session.get(PaymentEventRow, event.id) is not None:
                return schema.WebhookResult(status="already_applied")
            user = _account(session, email, what)
            session.add(
                PaymentEventRow(event_id=event.id, user_id=user.id, credits=0, received_at=now)
            )
            session.flush()
            granted = apply(session, user)
            session.get_one(PaymentEventRow, event.id).credits = granted
    except IntegrityError:
        # The same event delivered twice at once: the other delivery applied it.
        return schema.WebhookResult(status="already_applied")
    return schema.WebhookResult(status="applied")
