"""Shared pytest fixtures and helpers for tests that talk to the provider emulators.

Registered for the whole suite in ``tests/conftest.py``: one server per provider for the
session (each test resets it onto its own fake clock), a fresh fake clock, an HTTP client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from studio import meshes
from studio.providers.base import Provider, ProviderTask
from studio.providers.http import TransportPolicy
from studio.providers.registry import make_provider
from tests.emulators import Clock, MeshyEmulator, TripoEmulator

START = 1_800_000_000.0
#: Creates give up quickly here, so a stalled create turns ambiguous in a fraction of a second.
FAST_CREATES = TransportPolicy(create_read_timeout=0.3, stream_read_timeout=5.0)


@pytest.fixture(scope="session")
def meshy_server() -> Iterator[MeshyEmulator]:
    with MeshyEmulator(Clock(start=START)) as server:
        yield server


@pytest.fixture(scope="session")
def tripo_server() -> Iterator[TripoEmulator]:
    with TripoEmulator(Clock(start=START)) as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock(start=START)


@pytest.fixture
def http_client() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def connect(
    name: str,
    key: str,
    emulator: MeshyEmulator | TripoEmulator,
    clock: Clock,
    client: httpx.Client,
    policy: TransportPolicy = FAST_CREATES,
) -> Provider:
    """The real client for ``name``, pointed at ``emulator`` and sleeping on ``clock``."""
    return make_provider(
        name,
        key,
        client=client,
        base_url=emulator.base_url,
        sleep=clock.sleep,
        now=clock.now,
        policy=policy,
    )


def follow(
    client: Provider, task: ProviderTask, clock: Clock, step: float = 4.0
) -> list[ProviderTask]:
    """Poll until the task finishes, moving the fake clock ``step`` seconds between polls."""
    seen = [task]
    for _ in range(200):
        if seen[-1].status.finished:
            return seen
        clock.advance(step)
        seen.append(client.poll(task.task_id))
    raise AssertionError("the task never finished")


def fetch_model(client: Provider, task: ProviderTask, folder: Path) -> Path:
    """Download the task's GLB and check it loads."""
    model = task.models[0]
    assert model.format == "glb"
    dest = client.download(model, folder / "model.glb")
    assert meshes.load(dest).parts
    return dest


def drive(
    clock: Clock,
    done: Callable[[], bool],
    wait: Callable[[int], None],
    *,
    step: float = 5.0,
    timeout: float = 30.0,
) -> None:
    """Move the emulators' clock along until ``done()``, letting others run between steps
    (``wait(ms)``, e.g. ``qtbot.wait``). A job waiting on that clock always gets there;
    a single big jump could land before the job starts its wait."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "gave up moving the clock: still not done"
        clock.advance(step)
        wait(20)
