"""Local emulators of the paid cloud 3D-generation APIs (Meshy, Tripo V3).

Real HTTP servers on 127.0.0.1 speaking each provider's documented wire format; task
status is driven only by a shared fake :class:`Clock`. See README.md in this folder.

    from tests.emulators import Clock, MeshyEmulator, TripoEmulator
"""

from tests.emulators.clock import Clock
from tests.emulators.meshy import MeshyEmulator
from tests.emulators.server import EmulatedTask, LeakedAuth, RequestRecord
from tests.emulators.tripo import TripoEmulator

__all__ = [
    "Clock",
    "EmulatedTask",
    "LeakedAuth",
    "MeshyEmulator",
    "RequestRecord",
    "TripoEmulator",
]
