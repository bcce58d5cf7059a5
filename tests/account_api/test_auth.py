"""Signup, signin, access tokens, rotating refresh tokens with reuse detection, signout."""

from __future__ import annotations

import logging
import statistics
import time
import unicodedata
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from account_api.settings import Argon2Cost, RateLimit
from tests.account_api.conftest import PASSWORD, Api, after, make_settings
from tests.account_api.servers import FakeClock, ServiceThread


def test_signup_gives_tokens_an_account_and_the_signup_bonus(api: Api) -> None:
    user = api.signup(email="  New.Designer@Example.COM ")
    assert user.email != user.session["account"]["email"]
    assert user.session["account"]["email"] == "new.designer@example.com"
    assert user.session["account"]["plan"] == "free"
    assert user.session["token_type"] == "bearer"
    assert user.session["expires_in"] == 15 * 60
    assert user.session["refresh_expires_in"] == 30 * 24 * 3600
    me = user.http.get("/v1/account")
    assert me.status_code == 200
    assert me.json()["id"] == user.id
    balance = user.balance()
    assert balance["available"] == 100
    assert balance["on_hold"] == 0
    assert [(b["kind"], b["remaining"]) for b in balance["buckets"]] == [("signup_bonus", 100)]


def test_signup_rejects_a_taken_email_whatever_its_case(api: Api) -> None:
    user = api.signup()
    again = api.http.post(
        "/v1/auth/signup", json={"email": user.email.upper(), "password": PASSWORD}
    )
    assert again.status_code == 409
    assert again.json() == {"detail": "An account with this email already exists. Sign in instead."}


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("a@example.com", "short", "Use a password of at least 10 characters."),
        ("a@example.com", " " * 12, "A password cannot be only spaces."),
        ("same@example.com", "Same@Example.com", "Use a password that is not your email address."),
        ("not-an-email", PASSWORD, "Enter a valid email address, like name@example.com."),
    ],
)
def test_signup_explains_a_rejected_email_or_password(
    api: Api, email: str, password: str, message: str
) -> None:
    response = api.http.post("/v1/auth/signup", json={"email": email, "password": password})
    assert response.status_code == 422
    assert response.json() == {"detail": message}


def test_signup_with_a_missing_field_is_a_plain_sentence(api: Api) -> None:
    response = api.http.post("/v1/auth/signup", json={"email": "x@example.com"})
    assert response.status_code == 422
    assert response.json() == {"detail": "The field 'password' is missing."}
    broken = api.http.post(
        "/v1/auth/signup", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.json() == {"detail": "The request body is not valid JSON."}


def test_signin_checks_the_password(api: Api) -> None:
    user = api.signup()
    wrong = api.http.post("/v1/auth/signin", json={"email": user.email, "password": "nope" * 4})
    unknown = api.http.post(
        "/v1/auth/signin", json={"email": "nobody@example.com", "password": PASSWORD}
    )
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.json() == {"detail": "The email or password is not correct."}
    session = api.signin(user)
    assert session["account"]["id"] == user.id
    assert session["refresh_token"] != user.refresh_token


def test_requests_without_a_valid_access_token_are_401(api: Api) -> None:
    user = api.signup()
    missing = api.http.get("/v1/balance")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert missing.json() == {"detail": "Sign in to continue."}
    token = user.session["access_token"]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    forged = api.http.get("/v1/balance", headers={"Authorization": f"Bearer {tampered}"})
    assert forged.status_code == 401
    not_jwt = api.http.get("/v1/balance", headers={"Authorization": "Bearer nonsense"})
    assert not_jwt.status_code == 401


def test_access_tokens_expire_after_15_minutes_and_refresh_renews_them(
    api: Api, service: ServiceThread
) -> None:
    user = api.signup()
    after(service.clock, minutes=14, seconds=59)
    assert user.http.get("/v1/account").status_code == 200
    after(service.clock, seconds=1)
    expired = user.http.get("/v1/account")
    assert expired.status_code == 401
    assert expired.json() == {"detail": "Your sign-in has expired. Refresh it or sign in again."}
    old_refresh = user.refresh_token
    user.refresh()
    assert user.refresh_token != old_refresh
    assert user.http.get("/v1/account").status_code == 200


def test_a_reused_refresh_token_signs_the_whole_session_out(api: Api) -> None:
    user = api.signup()
    other_device = api.signin(user)
    first = user.refresh_token
    user.refresh()
    second = user.refresh_token
    # Someone replays the first token (stolen, or a client that forgot it rotated).
    replay = api.http.post("/v1/auth/refresh", json={"refresh_token": first})
    assert replay.status_code == 401
    assert "used twice" in replay.json()["detail"]
    # The whole family is revoked: the rotated token and its access token are dead too.
    assert api.http.post("/v1/auth/refresh", json={"refresh_token": second}).status_code == 401
    assert user.http.get("/v1/account").status_code == 401
    # Another sign-in of the same account is a different family and keeps working.
    refreshed = api.http.post(
        "/v1/auth/refresh", json={"refresh_token": other_device["refresh_token"]}
    )
    assert refreshed.status_code == 200


def test_refresh_tokens_expire_after_30_days(api: Api, service: ServiceThread) -> None:
    user = api.signup()
    after(service.clock, days=30)
    response = api.http.post("/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert response.status_code == 401
    assert response.json() == {"detail": "Your sign-in has expired. Sign in again."}


def test_unknown_refresh_token_is_401(api: Api) -> None:
    response = api.http.post("/v1/auth/refresh", json={"refresh_token": "x" * 43})
    assert response.status_code == 401


def test_signout_revokes_the_session(api: Api) -> None:
    user = api.signup()
    user.refresh()
    response = api.http.post("/v1/auth/signout", json={"refresh_token": user.refresh_token})
    assert response.status_code == 204
    assert (
        api.http.post("/v1/auth/refresh", json={"refresh_token": user.refresh_token}).status_code
        == 401
    )
    assert user.http.get("/v1/account").status_code == 401
    # Signing out twice (or with an unknown token) is harmless.
    again = api.http.post("/v1/auth/signout", json={"refresh_token": user.refresh_token})
    assert again.status_code == 204


def test_no_password_or_token_reaches_the_logs(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    user = api.signup(password="a secret nobody logs")
    user.refresh()
    api.http.post("/v1/auth/signin", json={"email": user.email, "password": "wrong password!"})
    user.http.get("/v1/balance")
    text = caplog.text
    for secret in ("a secret nobody logs", "wrong password!", user.refresh_token):
        assert secret not in text
    assert user.session["access_token"] not in text


def test_a_taken_address_answers_as_slowly_as_a_new_one(tmp_path: Path) -> None:
    """Finding 9: a 409 used to come back before any hashing (9 ms against 466 ms)."""
    settings = make_settings(
        tmp_path,
        f"sqlite:///{tmp_path / 'account.sqlite3'}",
        argon2=Argon2Cost(time_cost=2, memory_kib=32 * 1024, parallelism=1),
        signup_per_email=RateLimit(1000, timedelta(hours=1)),
        signup_per_ip=RateLimit(1000, timedelta(hours=1)),
    )
    server = ServiceThread(settings, FakeClock()).start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:

            def timed(email: str) -> tuple[int, float]:
                start = time.perf_counter()
                response = http.post("/v1/auth/signup", json={"email": email, "password": PASSWORD})
                return response.status_code, time.perf_counter() - start

            new = [timed(f"new{n}@example.com") for n in range(5)]
            taken = [timed("new0@example.com") for _ in range(5)]
        assert {status for status, _ in new} == {201}
        assert {status for status, _ in taken} == {409}
        new_median = statistics.median(t for _, t in new)
        taken_median = statistics.median(t for _, t in taken)
        # Both pay for one hash; only the insert differs.
        assert taken_median > 0.6 * new_median, (taken_median, new_median)
    finally:
        server.stop()


@pytest.mark.parametrize(
    "password",
    ["password12", "aaaaaaaaaa", "1234567890", "abcdefghij", "qwerty2024!", "abababababab"],
)
def test_the_first_passwords_anyone_would_guess_are_refused(api: Api, password: str) -> None:
    """Finding 12: ``password12`` and ``aaaaaaaaaa`` were accepted."""
    response = api.http.post(
        "/v1/auth/signup", json={"email": f"{uuid.uuid4().hex}@example.com", "password": password}
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("This password is among the first ones")


def test_the_nfc_and_nfd_forms_of_one_address_are_one_account(api: Api) -> None:
    """Finding 12: "é" written as one character or as e + accent is the same address."""
    local = uuid.uuid4().hex[:8]
    composed = f"ren\u00e9-{local}@example.com"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    user = api.signup(email=composed)
    again = api.http.post("/v1/auth/signup", json={"email": decomposed, "password": PASSWORD})
    assert again.status_code == 409
    signin = api.http.post("/v1/auth/signin", json={"email": decomposed, "password": PASSWORD})
    assert signin.status_code == 200
    assert signin.json()["account"]["id"] == user.id
