"""The credit gate a generation passes: hold before submitting, capture or release after.

This issue ships :class:`NoAccountGate` (generation with the provider key alone); the
account service plugs in a gate that holds Kiln credits on the server.
"""

from __future__ import annotations

from typing import Protocol

from studio.library import GenerationRecord
from studio.providers.base import GenerationRequest


class CreditGate(Protocol):
    """Holds, captures and releases credits for one generation.

    Every call is idempotent for a given generation (keyed by its ``uid``), because a
    job resumed after a crash may repeat the call it was in the middle of.
    """

    def price(self, request: GenerationRequest, provider: str) -> int | None:
        """Credits this request costs, or ``None`` when there is nothing to pay here."""
        ...

    def hold(self, generation: GenerationRecord, amount: int) -> str | None:
        """Reserve ``amount``; return a hold id. Raises a plain ``KilnError`` when short."""
        ...

    def capture(self, generation: GenerationRecord) -> int | None:
        """Charge the held amount (success); return what was charged."""
        ...

    def release(self, generation: GenerationRecord) -> None:
        """Give the held amount back (failure, cancel, expiry)."""
        ...


class NoAccountGate:
    """No account: nothing is held or charged here; the provider bills the designer."""

    def price(self, request: GenerationRequest, provider: str) -> int | None:
        return None

    def hold(self, generation: GenerationRecord, amount: int) -> str | None:
        return None

    def capture(self, generation: GenerationRecord) -> int | None:
        return None

    def release(self, generation: GenerationRecord) -> None:
        return None
