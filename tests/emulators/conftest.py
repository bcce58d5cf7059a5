"""The emulators' own tests: each gets its server reset onto a fresh fake clock.

The servers, the clock and the HTTP client come from ``tests.emulators.fixtures``.
"""

from __future__ import annotations

import pytest

from tests.emulators import Clock, MeshyEmulator, TripoEmulator


@pytest.fixture
def meshy(meshy_server: MeshyEmulator, clock: Clock) -> MeshyEmulator:
    meshy_server.reset(clock=clock)
    return meshy_server


@pytest.fixture
def tripo(tripo_server: TripoEmulator, clock: Clock) -> TripoEmulator:
    tripo_server.reset(clock=clock)
    return tripo_server
