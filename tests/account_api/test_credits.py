"""Plans, prices, holds (idempotent, concurrent), capture/release/expiry, spending order,
pack expiry, monthly reset and top-ups: and the ledger always sums to the balance."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx
import pytest

from account_api.cli import expire_holds, grant_credits, reset_monthly, set_plan
from account_api.errors import ApiError
from tests.account_api.conftest import Api, User, after
from tests.account_api.servers import ServiceThread


def _grant(service: ServiceThread, user: User, amount: int, reason: str = "Test pack") -> None:
    grant_credits(service.db, service.clock, user.email, amount, reason)


def _set_plan(service: ServiceThread, user: User, plan: str) -> dict[str, Any]:
    """The operator's command (the payment webhook does the same): the new balance."""
    set_plan(service.db, service.clock, user.email, plan)
    return user.balance()


def test_plans_and_prices_come_from_their_tables(api: Api) -> None:
    plans = api.http.get("/v1/plans").json()
    assert [(p["code"], p["monthly_credits"]) for p in plans] == [
        ("free", 0),
        ("starter", 200),
        ("pro", 1000),
        ("enterprise", 5000),
    ]
    prices = api.http.get("/v1/pricing").json()
    assert {(p["kind"], p["quality"]): p["credits"] for p in prices} == {
        ("text", "standard"): 10,
        ("text", "ultra"): 20,
        ("image", None): 15,
        ("multi_image", None): 10,
    }


def test_a_hold_is_priced_by_kind_and_quality(api: Api) -> None:
    user = api.signup()
    cases: list[tuple[dict[str, Any], int]] = [
        ({"kind": "text", "quality": "standard"}, 10),
        ({"kind": "text", "quality": "ultra"}, 20),
        ({"kind": "image", "quality": "ultra"}, 15),
        ({"kind": "multi_image"}, 10),
        ({"amount": 7}, 7),
    ]
    for body, price in cases:
        response = user.hold(**body)
        assert response.status_code == 201, response.text
        hold = response.json()
        assert hold["amount"] == price
        assert hold["state"] == "held"
    balance = user.assert_ledger_matches_balance()
    assert balance["available"] == 100 - 62
    assert balance["on_hold"] == 62


def test_a_hold_needs_a_kind_or_an_amount(api: Api) -> None:
    user = api.signup()
    response = user.hold()
    assert response.status_code == 422
    assert response.json() == {
        "detail": "Give either the generation kind (and quality) or an amount."
    }
    bad_quality = user.hold(kind="text", quality="mega")
    assert bad_quality.status_code == 422
    assert isinstance(bad_quality.json()["detail"], str)


def test_a_reused_idempotency_key_with_other_parameters_is_409(api: Api) -> None:
    """Finding 10: as payment APIs answer a reused key with different parameters."""
    user = api.signup()
    first = user.hold(idempotency_key="job-409", amount=10)
    assert first.status_code == 201
    for other in (
        {"amount": 50},
        {"kind": "text", "quality": "standard"},
        {"kind": "text", "quality": "ultra", "amount": 10},
    ):
        response = user.hold(idempotency_key="job-409", **other)
        assert response.status_code == 409, other
        assert response.json() == {
            "detail": "This idempotency key was already used for a different hold "
            "(10 credits): use a new key for a new generation."
        }
    priced = user.hold(idempotency_key="job-410", kind="image")
    assert user.hold(idempotency_key="job-410", kind="image").status_code == 200
    assert user.hold(idempotency_key="job-410", kind="image", quality="ultra").status_code == 409
    assert user.hold(idempotency_key="job-410", kind="text").status_code == 409
    assert user.hold(idempotency_key="job-410", kind="image", amount=15).status_code == 200
    assert user.hold(idempotency_key="job-410", kind="image", amount=16).status_code == 409
    balance = user.assert_ledger_matches_balance()
    assert (balance["on_hold"], priced.json()["amount"]) == (25, 15)


def test_the_same_idempotency_key_always_returns_the_same_hold(api: Api) -> None:
    user = api.signup()
    first = user.hold(idempotency_key="job-1", kind="text", quality="ultra")
    again = user.hold(idempotency_key="job-1", kind="text", quality="ultra")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert user.balance()["on_hold"] == 20


def test_short_of_credits_is_402_with_need_and_have(api: Api) -> None:
    user = api.signup()
    assert user.hold(amount=95).status_code == 201
    response = user.hold(kind="text", quality="standard")
    assert response.status_code == 402
    assert response.json() == {
        "detail": {"need": 10, "have": 5, "message": "Needs 10 credits, you have 5."}
    }
    user.assert_ledger_matches_balance()


def test_capture_charges_the_held_amount_once(api: Api) -> None:
    user = api.signup()
    hold = user.hold(kind="text", quality="ultra").json()
    for _ in range(2):
        response = user.http.post(f"/v1/holds/{hold['id']}/capture")
        assert response.status_code == 200
        assert response.json()["state"] == "captured"
    balance = user.assert_ledger_matches_balance()
    assert (balance["available"], balance["on_hold"]) == (80, 0)
    release = user.http.post(f"/v1/holds/{hold['id']}/release")
    assert release.status_code == 409
    assert release.json() == {"detail": "This hold was already charged, so it cannot be released."}
    kinds = [e["kind"] for e in user.ledger()]
    assert kinds.count("capture") == 1


def test_release_gives_the_credits_back_once(api: Api) -> None:
    user = api.signup()
    hold = user.hold(amount=40).json()
    for _ in range(2):
        response = user.http.post(f"/v1/holds/{hold['id']}/release")
        assert response.status_code == 200
        assert response.json()["state"] == "released"
    balance = user.assert_ledger_matches_balance()
    assert (balance["available"], balance["on_hold"]) == (100, 0)
    capture = user.http.post(f"/v1/holds/{hold['id']}/capture")
    assert capture.status_code == 409
    assert capture.json() == {"detail": "This hold was released, so it can no longer be charged."}
    # The idempotency key still names the released hold: no second hold.
    same = user.hold(idempotency_key=hold["idempotency_key"], amount=40)
    assert same.status_code == 200
    assert same.json()["id"] == hold["id"]
    assert same.json()["state"] == "released"


def test_a_forgotten_hold_expires_and_releases_itself(api: Api, service: ServiceThread) -> None:
    user = api.signup()
    hold = user.hold(amount=30).json()
    after(service.clock, hours=1, minutes=59, seconds=59)
    user.refresh()
    assert user.balance()["on_hold"] == 30
    after(service.clock, seconds=1)
    # Read lazily: the next balance read releases it.
    balance = user.assert_ledger_matches_balance()
    assert (balance["available"], balance["on_hold"]) == (100, 0)
    state = user.http.get(f"/v1/holds/{hold['id']}").json()
    assert state["state"] == "expired"
    capture = user.http.post(f"/v1/holds/{hold['id']}/capture")
    assert capture.status_code == 409
    assert "expired" in capture.json()["detail"]
    release = user.http.post(f"/v1/holds/{hold['id']}/release")
    assert release.status_code == 200
    assert release.json()["state"] == "expired"
    assert [e["kind"] for e in user.ledger()].count("expire") == 1


def test_expire_holds_command_releases_overdue_holds_of_every_user(
    api: Api, service: ServiceThread
) -> None:
    users = [api.signup() for _ in range(2)]
    holds = [u.hold(amount=25).json() for u in users]
    after(service.clock, hours=2)
    assert expire_holds(service.db, service.clock) >= 2
    assert expire_holds(service.db, service.clock) == 0
    for user, hold in zip(users, holds, strict=True):
        user.refresh()
        assert user.http.get(f"/v1/holds/{hold['id']}").json()["state"] == "expired"
        balance = user.assert_ledger_matches_balance()
        assert (balance["available"], balance["on_hold"]) == (100, 0)


def test_a_capture_after_expiry_is_refused_even_before_anything_read_the_balance(
    api: Api, service: ServiceThread
) -> None:
    user = api.signup()
    hold = user.hold(amount=10).json()
    after(service.clock, hours=3)
    user.refresh()
    response = user.http.post(f"/v1/holds/{hold['id']}/capture")
    assert response.status_code == 409
    assert user.assert_ledger_matches_balance()["available"] == 100


def _buckets(user: User) -> list[dict[str, Any]]:
    response = user.http.get("/v1/buckets")
    assert response.status_code == 200
    return list(response.json())


def test_spending_order_is_subscription_then_packs_oldest_first(
    api: Api, service: ServiceThread
) -> None:
    user = api.signup()  # the 100 sign-up bonus is the oldest pack
    after(service.clock, seconds=1)
    _grant(service, user, 30, "Small pack")
    after(service.clock, seconds=1)
    _grant(service, user, 50, "Big pack")
    after(service.clock, seconds=1)
    plan = _set_plan(service, user, "starter")
    assert plan["available"] == 380
    kinds = [b["kind"] for b in plan["buckets"]]
    assert kinds == ["subscription", "signup_bonus", "topup", "topup"]

    assert user.hold(amount=220).status_code == 201  # subscription 200, bonus 20
    by_reason = {b["reason"]: b for b in _buckets(user)}
    assert by_reason["Starter plan: 200 monthly credits"]["remaining"] == 0
    assert by_reason["Starter plan: 200 monthly credits"]["state"] == "active"
    assert by_reason["Sign-up bonus"]["remaining"] == 80

    spent = user.hold(amount=90).json()  # bonus 80 (now spent), small pack 10
    by_reason = {b["reason"]: b for b in _buckets(user)}
    assert by_reason["Sign-up bonus"]["state"] == "spent"
    assert by_reason["Sign-up bonus"]["remaining"] == 0
    assert by_reason["Small pack"]["remaining"] == 20
    assert by_reason["Big pack"]["remaining"] == 50
    balance = user.assert_ledger_matches_balance()
    assert [b["reason"] for b in balance["buckets"]] == [
        "Starter plan: 200 monthly credits",
        "Small pack",
        "Big pack",
    ]

    # Releasing gives each part back to the bucket it came from: the pack comes back.
    user.http.post(f"/v1/holds/{spent['id']}/release")
    by_reason = {b["reason"]: b for b in _buckets(user)}
    assert by_reason["Sign-up bonus"]["state"] == "active"
    assert by_reason["Sign-up bonus"]["remaining"] == 80
    assert by_reason["Small pack"]["remaining"] == 30
    user.assert_ledger_matches_balance()


def test_changing_plan_grants_the_new_plans_subscription(api: Api, service: ServiceThread) -> None:
    user = api.signup()
    pro = _set_plan(service, user, "pro")
    assert pro["plan"] == "pro"
    assert pro["available"] == 1100
    same = _set_plan(service, user, "pro")
    assert same["available"] == 1100  # no second grant for the same plan
    free = _set_plan(service, user, "free")
    assert free["available"] == 100  # what was left of pro is written off
    with pytest.raises(ApiError, match=r"There is no plan called 'platinum'\."):
        _set_plan(service, user, "platinum")
    assert user.http.get("/v1/account").json()["plan"] == "free"
    user.assert_ledger_matches_balance()


def test_monthly_reset_refills_subscriptions_and_writes_off_the_rest(
    api: Api, service: ServiceThread
) -> None:
    user = api.signup()
    _set_plan(service, user, "starter")
    charged = user.hold(amount=50).json()
    user.http.post(f"/v1/holds/{charged['id']}/capture")
    pending = user.hold(amount=30).json()
    free_user = api.signup()
    assert user.balance()["available"] == 100 + 200 - 80

    assert reset_monthly(service.db, service.clock) >= 2

    balance = user.assert_ledger_matches_balance()
    assert balance["available"] == 100 + 200
    assert balance["on_hold"] == 30
    write_offs = [e for e in user.ledger() if e["kind"] == "write_off"]
    assert [e["amount"] for e in write_offs] == [-120]
    # A hold on last period's credits that is released is written off, not refunded.
    user.http.post(f"/v1/holds/{pending['id']}/release")
    balance = user.assert_ledger_matches_balance()
    assert (balance["available"], balance["on_hold"]) == (300, 0)
    # A free plan has no subscription bucket to refill.
    assert free_user.assert_ledger_matches_balance()["available"] == 100


def test_grant_adds_a_topup_pack(api: Api, service: ServiceThread) -> None:
    user = api.signup()
    assert grant_credits(service.db, service.clock, user.email.upper(), 500, "Support") == 600
    balance = user.assert_ledger_matches_balance()
    assert [(b["kind"], b["remaining"], b["reason"]) for b in balance["buckets"]] == [
        ("signup_bonus", 100, "Sign-up bonus"),
        ("topup", 500, "Support"),
    ]


def test_50_concurrent_holds_against_credits_for_20(api: Api, service: ServiceThread) -> None:
    user = api.signup()
    _grant(service, user, 100)  # 200 credits: twenty holds of 10
    barrier = threading.Barrier(50)
    statuses: list[int] = []
    lock = threading.Lock()

    def hold(n: int) -> None:
        with httpx.Client(base_url=api.url, timeout=60, headers=user.http.headers) as http:
            barrier.wait()
            response = http.post(
                "/v1/holds",
                json={"idempotency_key": f"job-{n}", "kind": "text", "quality": "standard"},
            )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=hold, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] * 20 + [402] * 30
    balance = user.assert_ledger_matches_balance()
    assert (balance["available"], balance["on_hold"]) == (0, 200)


def test_concurrent_requests_with_one_idempotency_key_make_one_hold(api: Api) -> None:
    user = api.signup()
    key = uuid.uuid4().hex
    barrier = threading.Barrier(10)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def hold() -> None:
        with httpx.Client(base_url=api.url, timeout=60, headers=user.http.headers) as http:
            barrier.wait()
            response = http.post("/v1/holds", json={"idempotency_key": key, "amount": 10})
        with lock:
            results.append((response.status_code, response.json()["id"]))

    threads = [threading.Thread(target=hold) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in results) == [200] * 9 + [201]
    assert len({hold_id for _, hold_id in results}) == 1
    assert user.assert_ledger_matches_balance()["on_hold"] == 10


def test_concurrent_captures_and_releases_settle_each_hold_once(api: Api) -> None:
    user = api.signup()
    holds = [user.hold(amount=10).json()["id"] for _ in range(5)]
    barrier = threading.Barrier(20)
    lock = threading.Lock()
    outcomes: dict[str, list[int]] = {h: [] for h in holds}

    def settle(hold_id: str, action: str) -> None:
        with httpx.Client(base_url=api.url, timeout=60, headers=user.http.headers) as http:
            barrier.wait()
            response = http.post(f"/v1/holds/{hold_id}/{action}")
        with lock:
            outcomes[hold_id].append(response.status_code)

    threads = [
        threading.Thread(target=settle, args=(h, action))
        for h in holds
        for action in ("capture", "release", "capture", "release")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for statuses in outcomes.values():
        # Whichever came first wins; the same action again is 200, the other one 409.
        assert sorted(statuses) == [200, 200, 409, 409]
    balance = user.assert_ledger_matches_balance()
    assert balance["on_hold"] == 0
    assert balance["available"] in range(50, 101, 10)
