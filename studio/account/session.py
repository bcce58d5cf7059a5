"""Where the Kiln account's sign-in lives: the refresh token in the keychain, the access
token in memory only (it is short-lived and never written anywhere)."""

from __future__ import annotations

import threading

from studio import secrets
from studio.account import schema


class TokenStore:
    """The tokens of one signed-in account (or none).

    The refresh token and the email are kept in the system keychain through
    :mod:`studio.secrets`; the access token only in this object.
    """

    def __init__(self) -> None:
        self._access: str | None = None
        self._lock = threading.Lock()

    @property
    def access_token(self) -> str | None:
        with self._lock:
            return self._access

    @property
    def refresh_token(self) -> str | None:
        return secrets.account_refresh_token()

    @property
    def email(self) -> str | None:
        return secrets.account_email()

    @property
    def signed_in(self) -> bool:
        return self.refresh_token is not None

    def save(self, session: schema.Session) -> None:
        """Keep a new sign-in: the refresh token is stored before the access token is used."""
        secrets.set_account_session(session.refresh_token, session.account.email)
        with self._lock:
            self._access = session.access_token

    def clear(self) -> None:
        """Forget everything (signed out)."""
        with self._lock:
            self._access = None
        secrets.delete_account_session()

    def __repr__(self) -> str:  # never show a token
        return f"TokenStore(signed_in={self.signed_in})"
