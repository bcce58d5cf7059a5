"""The payment webhook: Stripe-style signature checked first, each event applied once."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from account_api.payments import sign
from tests.account_api.conftest import WEBHOOK_SECRET, Api, User
from tests.account_api.servers import ServiceThread


def _event(user: User, credits: int = 500, event_id: str | None = None) -> bytes:
    body = {
        "id": event_id or f"evt_{uuid.uuid4().hex}",
        "type": "credits.purchased",
        "data": {"email": user.email, "credits": credits, "reason": "Credit pack 500"},
    }
    return json.dumps(body).encode()


def _post(
    api: Api, service: ServiceThread, body: bytes, *, secret: str = WEBHOOK_SECRET, age: int = 0
) -> httpx.Response:
    timestamp = int(service.clock.now().timestamp()) - age
    return api.http.post(
        "/v1/webhooks/payments",
        content=body,
        headers={
            "Stripe-Signature": sign(secret, timestamp, body),
            "Content-Type": "application/json",
        },
    )


def test_a_signed_purchase_is_credited_once_however_often_it_is_delivered(
    api: Api, service: ServiceThread
) -> None:
    user = api.signup()
    body = _event(user)
    first = _post(api, service, body)
    assert first.status_code == 200
    assert first.json() == {"status": "applied"}
    for _ in range(2):
        replay = _post(api, service, body)
        assert replay.status_code == 200
        assert replay.json() == {"status": "already_applied"}
    balance = user.assert_ledger_matches_balance()
    assert balance["available"] == 600
    assert [(b["kind"], b["reason"]) for b in balance["buckets"]][-1] == (
        "topup",
        "Credit pack 500",
    )


def test_a_wrong_signature_is_rejected_before_anything_is_credited(
    api: Api, service: ServiceThread
) -> None:
    user = api.signup()
    body = _event(user)
    cases: list[dict[str, Any]] = [
        {"headers": {"Stripe-Signature": sign("whsec_wrong", 1, body)}},
        {"headers": {}},
        {"headers": {"Stripe-Signature": "t=abc,v1=00"}},
    ]
    for case in cases:
        response = api.http.post("/v1/webhooks/payments", content=body, **case)
        assert response.status_code == 400
        assert response.json() == {"detail": "The payment notification's signature is not valid."}
    wrong_secret = _post(api, service, body, secret="whsec_wrong")
    assert wrong_secret.status_code == 400
    # A valid signature over different bytes does not verify these bytes.
    tampered = body.replace(b"500", b"900")
    timestamp = int(service.clock.now().timestamp())
    forged = api.http.post(
        "/v1/webhooks/payments",
        content=tampered,
        headers={"Stripe-Signature": sign(WEBHOOK_SECRET, timestamp, body)},
    )
    assert forged.status_code == 400
    old = _post(api, service, body, age=301)
    assert old.status_code == 400
    assert old.json() == {"detail": "The payment notification is too old (or from the future)."}
    assert user.assert_ledger_matches_balance()["available"] == 100
    # The same event, properly signed, still applies (the failures recorded nothing).
    assert _post(api, service, body, age=299).json() == {"status": "applied"}


def test_other_events_are_acknowledged_and_ignored(api: Api, service: ServiceThread) -> None:
    body = json.dumps({"id": "evt_other", "type": "invoice.paid", "data": {}}).encode()
    response = _post(api, service, body)
    assert response.status_code == 200
    assert response.json() == {"status": "ignored"}


def test_a_purchase_for_an_unknown_email_is_refused(api: Api, service: ServiceThread) -> None:
    ghost = User("ghost@example.com", "", {}, api.http)
    response = _post(api, service, _event(ghost))
    assert response.status_code == 422
    assert response.json() == {"detail": "There is no account with the email in this payment."}


@pytest.mark.parametrize(
    "reason",
    ["x" * 501, "Credit\x00pack", "Pack \ud800 broken", "line\r\nbreak\tpack"],
    ids=["long", "nul", "surrogate", "controls"],
)
def test_a_purchase_with_an_odd_description_is_still_credited(
    api: Api, service: ServiceThread, reason: str
) -> None:
    """Finding 5: a long or NUL-holding ``reason`` was a 500 on PostgreSQL, forever."""
    user = api.signup()
    body = json.dumps(
        {
            "id": f"evt_{uuid.uuid4().hex}",
            "type": "credits.purchased",
            "data": {"email": user.email, "credits": 50, "reason": reason},
        }
    ).encode()
    response = _post(api, service, body)
    if "\ud800" in reason:  # not valid Unicode at all: refused plainly, never a 500
        assert response.status_code == 422
        return
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "applied"}
    balance = user.assert_ledger_matches_balance()
    assert balance["available"] == 150
    stored = balance["buckets"][-1]["reason"]
    assert len(stored) <= 200
    assert not any(ord(ch) < 32 for ch in stored)
    assert _post(api, service, body).json() == {"status": "already_applied"}


def test_an_event_id_with_a_nul_is_refused_not_a_500(api: Api, service: ServiceThread) -> None:
    user = api.signup()
    body = json.dumps(
        {"id": "evt_\x00", "type": "credits.purchased", "data": {"email": user.email, "credits": 5}}
    ).encode()
    response = _post(api, service, body)
    assert response.status_code == 400
    assert response.json() == {"detail": "The payment notification is not a valid event."}
