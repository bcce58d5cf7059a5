"""API keys and tokens: only in the OS keychain (keyring), never in a file or a log.

Scripts and CI may pass provider keys through ``KILN_MESHY_API_KEY`` /
``KILN_TRIPO_API_KEY`` instead; those win over the keychain.
"""

from __future__ import annotations

import logging
import os

from studio.errors import KilnError

log = logging.getLogger(__name__)

SERVICE = "Kiln Studio"
PROVIDER_NAMES = {"meshy": "Meshy", "tripo": "Tripo"}


class SecretsError(KilnError):
    """The keychain can't be used."""


def _env_var(provider: str) -> str:
    return f"KILN_{provider.upper()}_API_KEY"


def _entry(provider: str) -> str:
    if provider not in PROVIDER_NAMES:
        raise ValueError(f"unknown provider {provider!r}")
    return f"{provider}-api-key"


def api_key(provider: str) -> str | None:
    """The key for ``provider``: the environment variable, else the keychain, else None."""
    from_env = os.environ.get(_env_var(provider), "").strip()
    if from_env:
        return from_env
    import keyring
    from keyring.errors import KeyringError

    try:
        value = keyring.get_password(SERVICE, _entry(provider))
    except KeyringError as exc:
        log.info("the system keychain could not be read (%s)", type(exc).__name__)
        return None
    return value or None


def set_api_key(provider: str, key: str) -> None:
    """Keep ``key`` in the system keychain."""
    key = key.strip()
    if not key:
        raise SecretsError(f"Paste your {PROVIDER_NAMES[provider]} API key first.")
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(SERVICE, _entry(provider), key)
    except KeyringError:
        raise SecretsError(
            "This computer has no system keychain Kiln Studio can keep the key in. "
            f"Set {_env_var(provider)} in the environment instead."
        ) from None  # the backend's message may name the entry; the sentence is enough


def delete_api_key(provider: str) -> None:
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        keyring.delete_password(SERVICE, _entry(provider))
    except PasswordDeleteError:
        pass  # nothing stored: already gone
    except KeyringError:
        raise SecretsError("The system keychain could not be changed.") from None


def key_source(provider: str) -> str:
    """Where the key comes from, for the settings page: "environment", "keychain" or ""."""
    if os.environ.get(_env_var(provider), "").strip():
        return "environment"
    return "keychain" if api_key(provider) else ""


# --- the Kiln account ---------------------------------------------------------------------
#: Keychain entries of the signed-in Kiln account. The access token is never stored.
ACCOUNT_REFRESH_ENTRY = "account-refresh-token"
ACCOUNT_EMAIL_ENTRY = "account-email"


def _account_read(entry: str) -> str | None:
    import keyring
    from keyring.errors import KeyringError

    try:
        value = keyring.get_password(SERVICE, entry)
    except KeyringError as exc:
        log.info("the system keychain could not be read (%s)", type(exc).__name__)
        return None
    return value or None


def account_refresh_token() -> str | None:
    """The signed-in account's refresh token, or None when signed out."""
    return _account_read(ACCOUNT_REFRESH_ENTRY)


def account_email() -> str | None:
    """The signed-in account's email, or None."""
    return _account_read(ACCOUNT_EMAIL_ENTRY)


def set_account_session(refresh_token: str, email: str | None = None) -> None:
    """Keep the refresh token (and the email) in the system keychain."""
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(SERVICE, ACCOUNT_REFRESH_ENTRY, refresh_token)
        if email is not None:
            keyring.set_password(SERVICE, ACCOUNT_EMAIL_ENTRY, email)
    except KeyringError:
        raise SecretsError(
            "This computer has no system keychain Kiln Studio can keep your sign-in in, "
            "so you can't stay signed in to your Kiln account."
        ) from None  # the backend's message may name the entry; the sentence is enough


def delete_account_session() -> None:
    """Forget the account's sign-in (deleting what is not there is fine)."""
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    for entry in (ACCOUNT_REFRESH_ENTRY, ACCOUNT_EMAIL_ENTRY):
        try:
            keyring.delete_password(SERVICE, entry)
        except PasswordDeleteError:
            pass  # nothing stored: already gone
        except KeyringError:
            raise SecretsError("The system keychain could not be changed.") from None
