"""The account client against the real account service on 127.0.0.1 (SQLite).

Tokens go to an in-memory keychain; the service's clock is a fake one the tests move.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import keyring
import pytest

from account_api.settings import GuessPolicy, RateLimit
from studio import secrets
from studio.account import (
    AccountClient,
    AccountError,
    AccountGate,
    NotEnoughCreditsError,
    SignedOutError,
    TokenStore,
)
from studio.errors import KilnError
from tests.account_api.conftest import PASSWORD, make_settings
from tests.account_api.servers import FakeClock, ServiceThread, free_port
from tests.conftest import KilnDirs
from tests.studio.test_secrets import MemoryKeyring

GENEROUS = RateLimit(10_000, timedelta(hours=1))
#: The payment page the test service hands out (nothing is fetched from it).
CHECKOUT_URL = "https://pay.example.com/checkout?plan={plan}&account={account}"


def start_service(data_dir: Path) -> ServiceThread:
    """The account service on SQLite with rate limits out of the tests' way."""
    settings = make_settings(
        data_dir,
        f"sqlite:///{data_dir / 'account.sqlite3'}",
        signup_per_ip=GENEROUS,
        signup_per_email=GENEROUS,
        signin_per_ip=GENEROUS,
        guessing=GuessPolicy(pair_free=10_000, account_free=10_000),
        checkout_url=CHECKOUT_URL,
    )
    return ServiceThread(settings, FakeClock()).start()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceThread]:
    server = start_service(tmp_path_factory.mktemp("account-data"))
    yield server
    server.stop()


@pytest.fixture
def keychain() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture
def client(service: ServiceThread, http: httpx.Client, keychain: MemoryKeyring) -> AccountClient:
    return AccountClient(service.url, client=http, tokens=TokenStore())


def new_email() -> str:
    return f"designer-{uuid.uuid4().hex[:12]}@example.com"


def assert_nothing_secret_in_files(dirs: KilnDirs, *secret_values: str) -> None:
    for folder in (dirs.data, dirs.config, dirs.logs):
        if not folder.exists():
            continue
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                for value in secret_values:
                    assert value.encode() not in data, f"{value[:4]}… found in {path}"


def test_signup_signin_and_balance(client: AccountClient, keychain: MemoryKeyring) -> None:
    email = new_email()
    assert not client.signed_in
    account = client.signup(email, PASSWORD)
    assert account.email == email
    assert client.signed_in
    assert client.tokens.email == email
    assert (secrets.SERVICE, "account-refresh-token") in keychain.entries
    balance = client.balance()
    assert balance.available == 100
    assert balance.on_hold == 0
    assert client.account().email == email

    client.tokens.clear()
    assert not client.signed_in
    with pytest.raises(SignedOutError, match="You are signed out"):
        client.balance()
    client.signin(email, PASSWORD)
    assert client.balance().available == 100


def test_wrong_password_is_one_plain_sentence(client: AccountClient) -> None:
    email = new_email()
    client.signup(email, PASSWORD)
    with pytest.raises(KilnError) as caught:
        client.signin(email, "not the password at all")
    assert str(caught.value) == "The email or password is not correct."
    assert "not the password" not in str(caught.value)


def test_silent_refresh_after_the_access_token_expires(
    client: AccountClient, service: ServiceThread, keychain: MemoryKeyring
) -> None:
    client.signup(new_email(), PASSWORD)
    first_access = client.tokens.access_token
    first_refresh = client.tokens.refresh_token
    service.clock.advance(timedelta(minutes=20))
    assert client.balance().available == 100
    assert client.tokens.access_token not in (None, first_access)
    assert client.tokens.refresh_token not in (None, first_refresh)


def test_a_fresh_process_refreshes_from_the_keychain(
    client: AccountClient, service: ServiceThread, http: httpx.Client
) -> None:
    client.signup(new_email(), PASSWORD)
    later = AccountClient(service.url, client=http, tokens=TokenStore())
    assert later.tokens.access_token is None
    assert later.balance().available == 100


def test_concurrent_401s_refresh_once(
    client: AccountClient, service: ServiceThread, http: httpx.Client
) -> None:
    client.signup(new_email(), PASSWORD)
    service.clock.advance(timedelta(minutes=20))
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            client.balance()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert client.signed_in  # a second refresh with a used token would have signed out


def test_signout_clears_the_keychain(client: AccountClient, keychain: MemoryKeyring) -> None:
    client.signup(new_email(), PASSWORD)
    refresh_token = client.tokens.refresh_token
    assert refresh_token
    client.signout()
    assert not client.signed_in
    assert client.tokens.access_token is None
    assert not [k for k in keychain.entries if k[1].startswith("account-")]
    # The session ended on the service too.
    response = httpx.post(
        f"{client.base_url}/v1/auth/refresh", json={"refresh_token": refresh_token}
    )
    assert response.status_code == 401


def test_a_reused_refresh_token_signs_out(
    client: AccountClient, service: ServiceThread, http: httpx.Client
) -> None:
    client.signup(new_email(), PASSWORD)
    stolen = client.tokens.refresh_token
    assert stolen
    client.refresh()  # rotates: the stolen one is now used
    reused = httpx.post(f"{service.url}/v1/auth/refresh", json={"refresh_token": stolen})
    assert reused.status_code == 401
    service.clock.advance(timedelta(minutes=20))
    with pytest.raises(SignedOutError) as caught:
        client.balance()
    assert str(caught.value) == "You are signed out. Sign in again to use your Kiln credits."
    assert not client.signed_in


def test_holds_are_idempotent(client: AccountClient) -> None:
    client.signup(new_email(), PASSWORD)
    key = uuid.uuid4().hex
    first = client.hold(key, "text", "standard")
    again = client.hold(key, "text", "standard")
    assert first.id == again.id
    assert first.amount == 10
    assert client.balance().on_hold == 10
    assert client.capture(first.id).state == "captured"
    assert client.capture(first.id).state == "captured"
    balance = client.balance()
    assert (balance.available, balance.on_hold) == (90, 0)
    with pytest.raises(AccountError) as caught:
        client.release(first.id)
    assert caught.value.status == 409

    other = client.hold(uuid.uuid4().hex, "image", "standard")
    assert client.release(other.id).state == "released"
    assert client.release(other.id).state == "released"
    assert client.balance().available == 90
    kinds = [e.kind for e in client.ledger().entries]
    assert kinds.count("capture") == 1
    assert kinds.count("release") == 1


def test_not_enough_credits(client: AccountClient) -> None:
    client.signup(new_email(), PASSWORD)
    with pytest.raises(NotEnoughCreditsError) as caught:
        client.hold(uuid.uuid4().hex, amount=150)
    assert str(caught.value) == "Needs 150 credits, you have 100."
    assert (caught.value.need, caught.value.have) == (150, 100)


def test_plans_pricing_checkout_and_cancel(client: AccountClient) -> None:
    account = client.signup(new_email(), PASSWORD)
    codes = [p.code for p in client.plans()]
    assert "free" in codes
    prices = client.pricing()
    assert any(p.kind == "text" and p.credits == 10 for p in prices)
    checkout = client.checkout("pro")
    assert checkout.url == f"https://pay.example.com/checkout?plan=pro&account={account.id}"
    assert client.balance().plan == "free"  # asking to pay changes nothing
    with pytest.raises(AccountError, match="needs no payment"):
        client.checkout("free")
    assert client.cancel_plan().next_plan is None  # already free: nothing to cancel


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://pay.example.com/c?x=1", True),
        ("http://127.0.0.1:8000/pay", True),
        ("http://pay.example.com/c", False),
        ("file:///etc/passwd", False),
        ("javascript:alert(1)", False),
        ("kiln://x", False),
        ("https://", False),
    ],
)
def test_only_web_pages_are_opened_as_checkout(url: str, ok: bool) -> None:
    from studio.account.client import is_web_page

    assert is_web_page(url) is ok


def test_gate_prices_and_treats_repeats_as_done(client: AccountClient) -> None:
    from studio.providers.base import GenerationKind, GenerationRequest, Quality

    client.signup(new_email(), PASSWORD)
    gate = AccountGate(client)
    assert gate.price(GenerationRequest(GenerationKind.TEXT, prompt="x"), "meshy") == 10
    assert (
        gate.price(
            GenerationRequest(GenerationKind.TEXT, prompt="x", quality=Quality.ULTRA), "meshy"
        )
        == 20
    )
    assert gate.price(GenerationRequest(GenerationKind.IMAGE), "meshy") == 15
    assert gate.price(GenerationRequest(GenerationKind.MULTIVIEW), "tripo") == 10


def test_delete_account_signs_out(client: AccountClient) -> None:
    client.signup(new_email(), PASSWORD)
    with pytest.raises(KilnError, match="password is not correct"):
        client.delete_account("wrong password here")
    assert client.signed_in
    client.delete_account(PASSWORD)
    assert not client.signed_in


def test_network_errors_are_plain(http: httpx.Client, keychain: MemoryKeyring) -> None:
    client = AccountClient(f"http://127.0.0.1:{free_port()}", client=http, tokens=TokenStore())
    with pytest.raises(KilnError) as caught:
        client.signin("someone@example.com", PASSWORD)
    assert str(caught.value).startswith("Kiln Studio can't reach the account service.")
    assert PASSWORD not in str(caught.value)


@pytest.fixture
def kiln_logging() -> Iterator[None]:
    """The app's logging into the test's log folder, undone afterwards."""
    import logging

    from studio.logs import configure_logging

    configure_logging(verbose=True)
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_kiln", False):
            root.removeHandler(handler)
            handler.close()


def test_no_token_or_password_in_files_or_errors(
    kiln_logging: None,
    client: AccountClient,
    service: ServiceThread,
    kiln_dirs: KilnDirs,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    email = new_email()
    client.signup(email, PASSWORD)
    access, refresh = client.tokens.access_token, client.tokens.refresh_token
    assert access
    assert refresh
    messages: list[str] = []
    for attempt in (
        lambda: client.signin(email, "wrong " + PASSWORD),
        lambda: client.hold(uuid.uuid4().hex, amount=1000),
        lambda: client.delete_account("wrong " + PASSWORD),
    ):
        with pytest.raises(KilnError) as caught:
            attempt()
        messages.append(str(caught.value))
    service.clock.advance(timedelta(minutes=20))
    client.balance()
    new_access, new_refresh = client.tokens.access_token, client.tokens.refresh_token
    assert new_access
    assert new_refresh
    client.signout()
    secret_values = [PASSWORD, access, refresh, new_access, new_refresh]
    for text in [*messages, caplog.text, repr(client.tokens)]:
        for value in secret_values:
            assert value not in text
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert_nothing_secret_in_files(kiln_dirs, *secret_values)
