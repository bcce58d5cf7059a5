"""Sign-in and sign-up attempts are limited per email and per client address (in the DB)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from account_api.settings import RateLimit
from tests.account_api.conftest import PASSWORD, Api, after
from tests.account_api.servers import ServiceThread

WINDOW = timedelta(minutes=15)


@pytest.fixture(scope="module")
def tuning() -> dict[str, Any]:
    return {
        "signin_per_email": RateLimit(3, WINDOW),
        "signin_per_ip": RateLimit(8, WINDOW),
        "signup_per_email": RateLimit(2, WINDOW),
        "signup_per_ip": RateLimit(4, WINDOW),
    }


@pytest.fixture(autouse=True)
def fresh_window(service: ServiceThread) -> None:
    after(service.clock, minutes=16)


def test_signin_attempts_per_email_are_limited(api: Api, service: ServiceThread) -> None:
    user = api.signup()
    for _ in range(3):
        wrong = api.http.post("/v1/auth/signin", json={"email": user.email, "password": "x" * 12})
        assert wrong.status_code == 401
    limited = api.http.post("/v1/auth/signin", json={"email": user.email, "password": PASSWORD})
    assert limited.status_code == 429
    retry_after = int(limited.headers["Retry-After"])
    assert 0 < retry_after <= WINDOW.total_seconds()
    assert limited.json()["detail"].startswith("Too many attempts. Try again in ")
    after(service.clock, seconds=retry_after)
    assert api.signin(user)["account"]["email"] == user.email


def test_signin_attempts_per_address_are_limited(api: Api) -> None:
    for n in range(8):
        response = api.http.post(
            "/v1/auth/signin", json={"email": f"guess{n}@example.com", "password": PASSWORD}
        )
        assert response.status_code == 401
    limited = api.http.post(
        "/v1/auth/signin", json={"email": "another@example.com", "password": PASSWORD}
    )
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers


def test_signups_are_limited(api: Api) -> None:
    for n in range(4):
        api.signup(email=f"batch{n}-{id(api)}@example.com")
    limited = api.http.post(
        "/v1/auth/signup", json={"email": f"fifth-{id(api)}@example.com", "password": PASSWORD}
    )
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0


def test_signup_attempts_per_email_are_limited(api: Api) -> None:
    email = f"taken-{id(api)}@example.com"
    api.signup(email=email)
    again = api.http.post("/v1/auth/signup", json={"email": email, "password": PASSWORD})
    assert again.status_code == 409
    third = api.http.post("/v1/auth/signup", json={"email": email, "password": PASSWORD})
    assert third.status_code == 429
