"""The payment provider's webhook: Stripe-style signatures, credits applied once per event."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from account_api import credits
from account_api.database import Database, lock_user
from account_api.errors import ApiError
from account_api.passwords import normalise_email
from account_api.tables import PaymentEventRow, UserRow
from studio.account import schema

CREDITS_PURCHASED = "credits.purchased"


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


def apply_event(db: Database, event: schema.PaymentEvent, now: datetime) -> schema.WebhookResult:
    """Credit the purchase in ``event`` once, however often it is delivered."""
    if event.type != CREDITS_PURCHASED:
        return schema.WebhookResult(status="ignored")
    try:
        purchase = schema.PaymentCredits.model_validate(event.data)
    except ValueError:
        raise ApiError(
            422, "The credits.purchased event is missing its email or credits."
        ) from None
    email = normalise_email(purchase.email)
    try:
        with db.write() as session:
            user_id = session.scalar(select(UserRow.id).where(UserRow.email == email))
            if user_id is None:
                raise ApiError(422, "There is no account with the email in this payment.")
            user = lock_user(session, user_id)
            if user is None:
                raise ApiError(422, "There is no account with the email in this payment.")
            if session.get(PaymentEventRow, event.id) is not None:
                return schema.WebhookResult(status="already_applied")
            session.add(
                PaymentEventRow(
                    event_id=event.id, user_id=user.id, credits=purchase.credits, received_at=now
                )
            )
            session.flush()
            credits.grant(session, user, "topup", purchase.credits, purchase.reason, now)
    except IntegrityError:
        # The same event delivered twice at once: the other delivery applied it.
        return schema.WebhookResult(status="already_applied")
    return schema.WebhookResult(status="applied")
