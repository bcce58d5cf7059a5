"""Kiln credits end to end: jobs run against the provider emulator and the real account
service (SQLite) on 127.0.0.1; the designer's tokens are in an in-memory keychain.

A generation is charged its price exactly once when it succeeds, and nothing when it fails,
is cancelled, or runs out of credits before it starts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from studio.account import AccountClient, AccountGate, TokenStore
from studio.jobs import Jobs
from studio.library import Library
from studio.providers.base import GenerationKind, GenerationRequest, Provider
from studio.providers.registry import make_provider
from studio.work import CancelToken
from tests.account_api.conftest import PASSWORD
from tests.account_api.servers import ServiceThread
from tests.emulators import Clock, MeshyEmulator
from tests.studio.test_account_client import keychain, start_service
from tests.studio.test_secrets import MemoryKeyring

MESHY_KEY = "msy_charging_test_key_00000000001"
__all__ = ["keychain"]  # the fixture, used by name


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceThread]:
    server = start_service(tmp_path_factory.mktemp("account-data"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def meshy_server() -> Iterator[MeshyEmulator]:
    with MeshyEmulator(Clock(start=1_800_000_000.0)) as meshy:
        yield meshy


@pytest.fixture
def clock() -> Clock:
    return Clock(start=1_800_000_000.0)


@pytest.fixture
def meshy(meshy_server: MeshyEmulator, clock: Clock) -> MeshyEmulator:
    meshy_server.reset(clock=clock)
    meshy_server.add_key(MESHY_KEY, balance=1000)
    return meshy_server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture
def account(service: ServiceThread, http: httpx.Client, keychain: MemoryKeyring) -> AccountClient:
    client = AccountClient(service.url, client=http, tokens=TokenStore())
    client.signup(f"charging-{uuid.uuid4().hex[:12]}@example.com", PASSWORD)
    return client


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    with Library.open(tmp_path / "data") as lib:
        yield lib


def make_jobs(
    library: Library,
    meshy: MeshyEmulator,
    clock: Clock,
    http: httpx.Client,
    account: AccountClient,
) -> Jobs:
    def provider_for(name: str) -> Provider:
        return make_provider(
            name, MESHY_KEY, client=http, base_url=meshy.base_url, sleep=clock.sleep, now=clock.now
        )

    gate = AccountGate(account)
    return Jobs(library, provider_for, gate, sleep=clock.sleep, now=clock.now)


def text(prompt: str = "a ceramic teapot shaped like a snail") -> GenerationRequest:
    return GenerationRequest(GenerationKind.TEXT, prompt=prompt)


def ledger_kinds(account: AccountClient) -> list[str]:
    return [e.kind for e in account.ledger().entries]


def test_a_successful_generation_is_charged_once(
    library: Library, meshy: MeshyEmulator, clock: Clock, http: httpx.Client, account: AccountClient
) -> None:
    jobs = make_jobs(library, meshy, clock, http, account)
    final = jobs.run(jobs.request(text(), "meshy").id)
    assert final.status == "succeeded", final.error
    assert final.credits_held == 10
    assert final.credits_charged == 10
    balance = account.balance()
    assert (balance.available, balance.on_hold) == (90, 0)
    # Settling again (a resumed job repeating its last call) changes nothing.
    assert jobs.gate.capture(final) == 10
    jobs.gate.release(final)
    assert account.balance().available == 90
    assert ledger_kinds(account).count("capture") == 1


def test_a_failed_generation_costs_nothing(
    library: Library, meshy: MeshyEmulator, clock: Clock, http: httpx.Client, account: AccountClient
) -> None:
    meshy.fail_prompts_containing("explode")
    jobs = make_jobs(library, meshy, clock, http, account)
    final = jobs.run(jobs.request(text("a vase that will explode"), "meshy").id)
    assert final.status == "failed"
    assert final.credits_charged is None
    balance = account.balance()
    assert (balance.available, balance.on_hold) == (100, 0)
    kinds = ledger_kinds(account)
    assert kinds.count("hold") == 1
    assert kinds.count("release") == 1
    assert "capture" not in kinds


def test_a_cancelled_generation_costs_nothing(
    library: Library, meshy: MeshyEmulator, clock: Clock, http: httpx.Client, account: AccountClient
) -> None:
    jobs = make_jobs(library, meshy, clock, http, account)
    token = CancelToken()

    def cancel_once_running(fraction: float, stage: str) -> None:
        if fraction > 0.1:
            token.cancel()

    gen = jobs.request(text(), "meshy")
    final = jobs.run(gen.id, progress=cancel_once_running, cancel=token)
    assert final.status == "cancelled"
    balance = account.balance()
    assert (balance.available, balance.on_hold) == (100, 0)
    assert "capture" not in ledger_kinds(account)


def test_a_job_resumed_after_a_crash_is_charged_once(
    library: Library, meshy: MeshyEmulator, clock: Clock, http: httpx.Client, account: AccountClient
) -> None:
    first = make_jobs(library, meshy, clock, http, account)
    gen = first.request(text(), "meshy")
    sent = first.submit(gen.id)
    assert sent.hold_id is not None
    assert account.balance().on_hold == 10
    # The app stopped here; a fresh start (new gate, new price cache) follows it.
    later = make_jobs(library, meshy, clock, http, account)
    final = later.run(gen.id)
    assert final.status == "succeeded", final.error
    balance = account.balance()
    assert (balance.available, balance.on_hold) == (90, 0)
    kinds = ledger_kinds(account)
    assert kinds.count("hold") == 1
    assert kinds.count("capture") == 1


def test_a_hold_repeated_after_a_crash_is_the_same_hold(
    library: Library, meshy: MeshyEmulator, clock: Clock, http: httpx.Client, account: AccountClient
) -> None:
    jobs = make_jobs(library, meshy, clock, http, account)
    gen = jobs.request(text(), "meshy")
    # A crash between the hold and recording its id: the resumed job holds again.
    hold_id = jobs.gate.hold(gen, 10)
    final = jobs.run(gen.id)
    assert final.status == "succeeded", final.error
    assert final.hold_id == hold_id
    assert account.balance().available == 90


def test_not_enough_credits_stops_before_the_provider(
    library: Library, meshy: MeshyEmulator, clock: Clock, http: httpx.Client, account: AccountClient
) -> None:
    account.hold(uuid.uuid4().hex, amount=95)  # leaves 5
    jobs = make_jobs(library, meshy, clock, http, account)
    final = jobs.run(jobs.request(text(), "meshy").id)
    assert final.status == "failed"
    assert final.error == "Needs 10 credits, you have 5."
    assert meshy.create_count(MESHY_KEY) == 0
