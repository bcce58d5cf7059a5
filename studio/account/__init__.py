"""The Kiln account: sign-in, credits and the credit gate of generation.

* :mod:`studio.account.schema`: the wire models the account service (``account_api``)
  and the desktop client share, so both sides agree on every field;
* :mod:`studio.account.client`: :class:`AccountClient`, the HTTP client;
* :mod:`studio.account.session`: :class:`TokenStore`, where the sign-in is kept;
* :mod:`studio.account.gate`: :class:`AccountGate`, Kiln credits for generation.

The names below are imported lazily, so ``from studio.account import schema`` (the
service does that) pulls in neither httpx nor the library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from studio.account.client import (
        AccountClient,
        AccountError,
        NotEnoughCreditsError,
        SignedOutError,
    )
    from studio.account.gate import AccountGate
    from studio.account.session import TokenStore

_EXPORTS = {
    "AccountClient": "studio.account.client",
    "AccountError": "studio.account.client",
    "NotEnoughCreditsError": "studio.account.client",
    "SignedOutError": "studio.account.client",
    "AccountGate": "studio.account.gate",
    "TokenStore": "studio.account.session",
}

__all__ = [
    "AccountClient",
    "AccountError",
    "AccountGate",
    "NotEnoughCreditsError",
    "SignedOutError",
    "TokenStore",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'studio.account' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
