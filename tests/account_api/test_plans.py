"""A paid plan reaches an account only through the payment provider's signed subscription
notification or the operator's ``set-plan``; the designer can ask for the payment page or
move to the free plan at the end of the period (issue 7, finding 2)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from account_api.cli import reset_monthly
from account_api.payments import sign
from tests.account_api.conftest import WEBHOOK_SECRET, Api, User, make_settings
from tests.account_api.servers import FakeClock, ServiceThread

CHECKOUT = "https://pay.example.com/checkout?plan={plan}&account={account}"


@pytest.fixture(scope="module")
def tuning() -> dict[str, Any]:
    return {"checkout_url": CHECKOUT}


def _notify(api: Api, service: ServiceThread, kind: str, data: dict[str, Any]) -> httpx.Response:
    body = json.dumps({"id": f"evt_{uuid.uuid4().hex}", "type": kind, "data": data}).encode()
    timestamp = int(service.clock.now().timestamp())
    return api.http.post(
        "/v1/webhooks/payments",
        content=body,
        headers={
            "Stripe-Signature": sign(WEBHOOK_SECRET, timestamp, body),
            "Content-Type": "application/json",
        },
    )


def _plan(user: User) -> tuple[str, str | None]:
    account = user.http.get("/v1/account").json()
    return account["plan"], account["next_plan"]


def test_no_route_lets_a_designer_give_themselves_a_paid_plan(api: Api) -> None:
    user = api.signup()
    for method, path, body in [
        ("POST", "/v1/account/plan", {"plan": "pro"}),
        ("PUT", "/v1/account/plan", {"plan": "pro"}),
        ("PATCH", "/v1/account", {"plan": "pro"}),
        ("POST", "/v1/account/plan/checkout", {"plan": "pro"}),
        ("POST", "/v1/account/plan/cancel", None),
    ]:
        response = user.http.request(method, path, json=body)
        assert response.status_code in (200, 404, 405), (method, path, response.text)
    assert _plan(user) == ("free", None)
    balance = user.assert_ledger_matches_balance()
    assert balance["available"] == 100
    assert [b["kind"] for b in balance["buckets"]] == ["signup_bonus"]


def test_checkout_gives_the_payment_page_and_changes_nothing(api: Api) -> None:
    user = api.signup()
    response = user.http.post("/v1/account/plan/checkout", json={"plan": "pro"})
    assert response.status_code == 200
    assert response.json() == {
        "plan": "pro",
        "url": f"https://pay.example.com/checkout?plan=pro&account={user.id}",
    }
    assert _plan(user) == ("free", None)
    assert user.balance()["available"] == 100
    free = user.http.post("/v1/account/plan/checkout", json={"plan": "free"})
    assert free.status_code == 422
    assert "needs no payment" in free.json()["detail"]
    unknown = user.http.post("/v1/account/plan/checkout", json={"plan": "platinum"})
    assert unknown.status_code == 422
    assert unknown.json() == {"detail": "There is no plan called 'platinum'."}


def test_without_a_checkout_page_the_answer_is_a_plain_sentence(tmp_path: Any) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'account.sqlite3'}")
    server = ServiceThread(settings, FakeClock()).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            signup = http.post(
                "/v1/auth/signup",
                json={"email": "nocheckout@example.com", "password": "correct horse battery"},
            )
            http.headers["Authorization"] = f"Bearer {signup.json()['access_token']}"
            response = http.post("/v1/account/plan/checkout", json={"plan": "pro"})
            assert response.status_code == 503
            assert response.json() == {"detail": "Paid plans are not on sale on this service yet."}
    finally:
        server.stop()


def test_a_signed_subscription_notification_changes_the_plan_once(
    api: Api, service: ServiceThread
) -> None:
    user = api.signup()
    paid = _notify(api, service, "subscription.updated", {"email": user.email, "plan": "pro"})
    assert paid.json() == {"status": "applied"}
    assert _plan(user) == ("pro", None)
    assert user.assert_ledger_matches_balance()["available"] == 1100
    # A renewal of the same plan grants nothing more (the monthly reset refills).
    again = _notify(api, service, "subscription.updated", {"email": user.email, "plan": "pro"})
    assert again.json() == {"status": "applied"}
    assert user.balance()["available"] == 1100
    # A forged one (wrong secret) changes nothing.
    body = json.dumps(
        {
            "id": "evt_forged",
            "type": "subscription.updated",
            "data": {"email": user.email, "plan": "enterprise"},
        }
    ).encode()
    forged = api.http.post(
        "/v1/webhooks/payments",
        content=body,
        headers={
            "Stripe-Signature": sign("whsec_wrong", int(service.clock.now().timestamp()), body)
        },
    )
    assert forged.status_code == 400
    assert _plan(user) == ("pro", None)
    ended = _notify(api, service, "subscription.ended", {"email": user.email})
    assert ended.json() == {"status": "applied"}
    assert _plan(user) == ("free", None)
    assert user.assert_ledger_matches_balance()["available"] == 100


def test_cancelling_moves_to_free_at_the_end_of_the_period_without_a_refill(
    api: Api, service: ServiceThread
) -> None:
    user = api.signup()
    _notify(api, service, "subscription.updated", {"email": user.email, "plan": "starter"})
    assert user.balance()["available"] == 300
    cancelled = user.http.post("/v1/account/plan/cancel")
    assert cancelled.status_code == 200
    assert (cancelled.json()["plan"], cancelled.json()["next_plan"]) == ("starter", "free")
    # Until the period ends the credits stay, and cancelling again changes nothing.
    assert user.http.post("/v1/account/plan/cancel").json()["next_plan"] == "free"
    assert user.balance()["available"] == 300
    reset_monthly(service.db, service.clock)
    assert _plan(user) == ("free", None)
    balance = user.assert_ledger_matches_balance()
    assert balance["available"] == 100  # the period's rest written off, nothing refilled
    reset_monthly(service.db, service.clock)
    assert user.balance()["available"] == 100


def test_paying_again_keeps_the_plan_past_a_cancel(api: Api, service: ServiceThread) -> None:
    user = api.signup()
    _notify(api, service, "subscription.updated", {"email": user.email, "plan": "starter"})
    user.http.post("/v1/account/plan/cancel")
    _notify(api, service, "subscription.updated", {"email": user.email, "plan": "starter"})
    assert _plan(user) == ("starter", None)
    reset_monthly(service.db, service.clock)
    assert _plan(user) == ("starter", None)
    assert user.balance()["available"] == 300
