"""Sign-up attempts are limited per email and per address; wrong passwords slow down the
guesser's own address, never lock the owner out (the README's "Password guessing").

Clients connect from different loopback addresses (127.0.0.2, 127.0.0.3, ...): the service
sees a real, different peer address, not a header.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from account_api.settings import GuessPolicy, RateLimit
from tests.account_api.conftest import PASSWORD, Api, User, after
from tests.account_api.servers import ServiceThread

WINDOW = timedelta(minutes=15)
WRONG = "not the password at all"


@pytest.fixture(scope="module")
def tuning() -> dict[str, Any]:
    return {
        "signin_per_ip": RateLimit(40, WINDOW),
        "signup_per_email": RateLimit(2, WINDOW),
        "signup_per_ip": RateLimit(4, WINDOW),
        "guessing": GuessPolicy(
            pair_free=3,
            pair_max_wait=timedelta(minutes=15),
            account_free=6,
            account_spacing=timedelta(seconds=2),
            quiet=WINDOW,
        ),
    }


@pytest.fixture(autouse=True)
def fresh_window(service: ServiceThread) -> None:
    after(service.clock, minutes=16)


@pytest.fixture
def from_address(service: ServiceThread) -> Iterator[Any]:
    """A client whose connections come from the loopback address ``127.0.0.N``."""
    clients: list[httpx.Client] = []

    def make(n: int) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=f"127.0.0.{n}")
        client = httpx.Client(base_url=service.url, transport=transport, timeout=60)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def _signin(http: httpx.Client, user: User, password: str) -> httpx.Response:
    return http.post("/v1/auth/signin", json={"email": user.email, "password": password})


def test_a_strangers_guesses_never_lock_the_owner_out(
    api: Api, service: ServiceThread, from_address: Any
) -> None:
    owner = api.signup()  # from 127.0.0.1, which the account now trusts
    stranger = from_address(2)
    for _ in range(3):
        assert _signin(stranger, owner, WRONG).status_code == 401
    waits = []
    for _ in range(4):
        refused = _signin(stranger, owner, WRONG)
        assert refused.status_code == 429
        assert refused.json()["detail"].startswith("Too many wrong passwords. Try again in ")
        wait = int(refused.headers["Retry-After"])
        waits.append(wait)
        after(service.clock, seconds=wait)
        assert _signin(stranger, owner, WRONG).status_code == 401  # one more try, then wait
    assert waits == [1, 2, 4, 8]  # each try waits twice as long as the last
    # Even the right password waits at the guesser's address ...
    assert _signin(stranger, owner, PASSWORD).status_code == 429
    # ... but the owner's own computer is not slowed at all.
    assert _signin(api.http, owner, PASSWORD).status_code == 200


def test_many_guessers_slow_new_addresses_but_not_known_ones(
    api: Api, service: ServiceThread, from_address: Any
) -> None:
    owner = api.signup()
    for n in range(2, 5):  # three addresses, two wrong passwords each: 6 on the account
        guesser = from_address(n)
        for _ in range(2):
            assert _signin(guesser, owner, WRONG).status_code == 401
    # Past account_free failures, addresses the account does not know get one try per 2 s:
    assert _signin(from_address(5), owner, WRONG).status_code == 429
    traveller = from_address(9)  # the owner on a trip: slowed, not locked
    slowed = _signin(traveller, owner, PASSWORD)
    assert slowed.status_code == 429
    assert int(slowed.headers["Retry-After"]) <= 2
    # The address the account signed up from never waits, however many guesses there were.
    assert _signin(api.http, owner, PASSWORD).status_code == 200
    after(service.clock, seconds=2)
    assert _signin(traveller, owner, PASSWORD).status_code == 200
    # The right password cleared the traveller's pair and made it a trusted address.
    assert _signin(traveller, owner, PASSWORD).status_code == 200


def test_password_checks_on_account_deletion_are_throttled_too(api: Api) -> None:
    user = api.signup()
    for _ in range(3):
        wrong = user.http.request("DELETE", "/v1/account", json={"password": WRONG})
        assert wrong.status_code == 403
    limited = user.http.request("DELETE", "/v1/account", json={"password": WRONG})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert user.http.get("/v1/account").status_code == 200  # nothing was deleted


def test_signin_attempts_per_address_are_limited(api: Api, from_address: Any) -> None:
    sprayer = from_address(20)
    for n in range(40):
        response = sprayer.post(
            "/v1/auth/signin", json={"email": f"guess{n}@example.com", "password": PASSWORD}
        )
        assert response.status_code == 401
    limited = sprayer.post(
        "/v1/auth/signin", json={"email": "another@example.com", "password": PASSWORD}
    )
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers
    # Another address is not affected.
    assert (
        api.http.post(
            "/v1/auth/signin", json={"email": "another@example.com", "password": PASSWORD}
        ).status_code
        == 401
    )


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
