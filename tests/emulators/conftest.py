"""Fixtures for the emulators: one server per provider for the session, reset per test.

Other test folders can reuse the pattern (or import these emulators directly)::

    with MeshyEmulator(Clock()) as meshy: ...
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.emulators import Clock, MeshyEmulator, TripoEmulator


@pytest.fixture(scope="session")
def meshy_server() -> Iterator[MeshyEmulator]:
    emulator = MeshyEmulator(Clock())
    with emulator:
        yield emulator


@pytest.fixture(scope="session")
def tripo_server() -> Iterator[TripoEmulator]:
    emulator = TripoEmulator(Clock())
    with emulator:
        yield emulator


@pytest.fixture
def clock() -> Clock:
    return Clock(start=1_800_000_000.0)


@pytest.fixture
def meshy(meshy_server: MeshyEmulator, clock: Clock) -> MeshyEmulator:
    meshy_server.reset(clock=clock)
    return meshy_server


@pytest.fixture
def tripo(tripo_server: TripoEmulator, clock: Clock) -> TripoEmulator:
    tripo_server.reset(clock=clock)
    return tripo_server
