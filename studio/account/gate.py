"""The credit gate of a signed-in designer: Kiln credits held on the account service.

Every call is idempotent per generation: the hold's idempotency key is the generation's
``uid`` (a resumed job gets the same hold back), and capturing or releasing a hold that
is already captured or released is treated as done.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from studio.account import schema
from studio.account.client import AccountClient, AccountError
from studio.providers.base import GenerationKind, GenerationRequest

if TYPE_CHECKING:
    from studio.library import GenerationRecord

log = logging.getLogger(__name__)

#: The app's generation kinds → the service's.
WIRE_KIND: dict[GenerationKind, schema.GenerationKind] = {
    GenerationKind.TEXT: "text",
    GenerationKind.IMAGE: "image",
    GenerationKind.MULTIVIEW: "multi_image",
}


class AccountGate:
    """A :class:`studio.jobs.gate.CreditGate` backed by :class:`AccountClient`."""

    def __init__(self, client: AccountClient) -> None:
        self.client = client
        self._prices: list[schema.Price] | None = None
        self._lock = threading.Lock()

    def _price_table(self) -> list[schema.Price]:
        with self._lock:
            if self._prices is None:
                self._prices = self.client.pricing()
            return self._prices

    def price(self, request: GenerationRequest, provider: str) -> int | None:
        kind = WIRE_KIND[request.kind]
        quality = request.quality.value
        table = self._price_table()
        exact = [p for p in table if p.kind == kind and p.quality == quality]
        any_quality = [p for p in table if p.kind == kind and p.quality is None]
        found = exact or any_quality
        if not found:
            # The service will price it by kind itself; None would skip the hold entirely.
            log.warning("no Kiln price for %s/%s", kind, quality)
            return None
        return found[0].credits

    def hold(self, generation: GenerationRecord, amount: int) -> str | None:
        kind = WIRE_KIND.get(GenerationKind(generation.kind))
        quality: schema.Quality = "ultra" if generation.quality == "ultra" else "standard"
        return self.client.hold(generation.uid, kind, quality, amount=amount).id

    def capture(self, generation: GenerationRecord) -> int | None:
        if generation.hold_id is None:
            return None
        try:
            return self.client.capture(generation.hold_id).amount
        except AccountError as exc:
            if exc.status != 409:
                raise
            # Released or expired before the job could charge it: nothing was charged.
            log.warning("generation %s: its credit hold could not be charged", generation.id)
            return None

    def release(self, generation: GenerationRecord) -> None:
        if generation.hold_id is None:
            return
        try:
            self.client.release(generation.hold_id)
        except AccountError as exc:
            if exc.status == 404:
                return  # the hold is gone (the account was deleted, say): nothing to give back
            if exc.status != 409:
                raise
            log.info("generation %s: its credit hold was already charged", generation.id)
