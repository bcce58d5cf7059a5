"""Make a provider client by name: the one place that knows which names exist."""

from __future__ import annotations

import time

import httpx

from studio.providers import meshy, tripo
from studio.providers.base import Provider
from studio.providers.errors import BadInputError
from studio.providers.http import Clock, Sleep, TransportPolicy
from studio.providers.meshy import MeshyClient
from studio.providers.tripo import TripoClient

#: Provider names, in the order the app offers them.
PROVIDER_NAMES = (meshy.NAME, tripo.NAME)
#: What the designer reads for each name.
LABELS = {meshy.NAME: meshy.LABEL, tripo.NAME: tripo.LABEL}
DEFAULT_BASE_URLS = {meshy.NAME: meshy.DEFAULT_BASE_URL, tripo.NAME: tripo.DEFAULT_BASE_URL}


def make_provider(
    name: str,
    api_key: str,
    *,
    client: httpx.Client,
    base_url: str | None = None,
    sleep: Sleep = time.sleep,
    now: Clock = time.time,
    policy: TransportPolicy | None = None,
    stream: bool = False,
) -> Provider:
    """A client for provider ``name`` using the designer's ``api_key``.

    Parameters
    ----------
    name
        "meshy" or "tripo".
    api_key
        The designer's key for that provider.
    client
        The shared httpx client (no auth in its default headers).
    base_url
        Override of the API root (settings, ``KILN_<PROVIDER>_BASE_URL``); the provider's
        public endpoint when ``None`` or empty.
    sleep, now
        Injected clock (tests pass a fake one).
    policy
        Timeouts and retry limits; the defaults when ``None``.
    stream
        Meshy only: ``poll`` reads the task's event stream.

    Raises
    ------
    BadInputError
        ``name`` is not a provider Kiln Studio knows.
    """
    root = (base_url or "").strip() or DEFAULT_BASE_URLS.get(name, "")
    if name == meshy.NAME:
        return MeshyClient(
            api_key,
            client=client,
            base_url=root,
            sleep=sleep,
            now=now,
            policy=policy,
            stream=stream,
        )
    if name == tripo.NAME:
        return TripoClient(
            api_key, client=client, base_url=root, sleep=sleep, now=now, policy=policy
        )
    raise BadInputError(
        f"Kiln Studio doesn't know a provider called “{name}”. Choose Meshy or Tripo."
    )
