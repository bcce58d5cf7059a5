"""Provider clients made from the settings (endpoint) and the keychain (key).

One ``httpx.Client`` per provider, reused by every job and closed with :meth:`close`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx

from studio import secrets
from studio.providers.base import Provider
from studio.providers.errors import AuthError
from studio.settings import Settings

PROVIDER_LABEL = {"meshy": "Meshy", "tripo": "Tripo"}


class Connections:
    """``connections(name)`` is a :data:`studio.jobs.runner.ProviderFactory`."""

    def __init__(
        self,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
        api_key: Callable[[str], str | None] = secrets.api_key,
    ) -> None:
        self._settings = settings
        self._sleep = sleep
        self._now = now
        self._api_key = api_key
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()

    def __call__(self, name: str) -> Provider:
        from studio.providers.registry import make_provider

        if name not in PROVIDER_LABEL:
            raise ValueError(f"unknown provider {name!r}")
        key = self._api_key(name)
        if not key:
            label = PROVIDER_LABEL[name]
            raise AuthError(
                f"There is no {label} API key yet. Add it in Settings › Providers "
                f"(or set KILN_{name.upper()}_API_KEY).",
                provider=name,
            )
        with self._lock:
            client = self._clients.get(name)
            if client is None:
                client = self._clients[name] = httpx.Client(follow_redirects=True)
        return make_provider(
            name,
            key,
            client=client,
            base_url=self._settings.base_url(name),
            sleep=self._sleep,
            now=self._now,
        )

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
