"""API keys live only in the keychain (or the environment, for scripts)."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest
from jaraco.classes.properties import classproperty
from keyring.backend import KeyringBackend
from keyring.errors import NoKeyringError, PasswordDeleteError

from studio import secrets
from studio.settings import load_settings, save_settings
from tests.conftest import KilnDirs


@classproperty
def never_detected(cls: type) -> float:
    """Not viable for keyring's own detection: these keychains are installed explicitly
    (keyring.set_keyring), never picked for a test that didn't ask for one."""
    raise RuntimeError("a test keychain is never chosen automatically")


class MemoryKeyring(KeyringBackend):
    """A keychain that forgets at the end of the test."""

    priority = never_detected

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.entries:
            raise PasswordDeleteError("not found")
        del self.entries[(service, username)]


class NoKeychain(KeyringBackend):
    priority = never_detected

    def get_password(self, service: str, username: str) -> str | None:
        raise NoKeyringError("no backend")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise NoKeyringError("no backend")

    def delete_password(self, service: str, username: str) -> None:
        raise NoKeyringError("no backend")


@pytest.fixture
def keychain(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    for var in ("KILN_MESHY_API_KEY", "KILN_TRIPO_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_keys_round_trip_through_the_keychain_only(
    keychain: MemoryKeyring, kiln_dirs: KilnDirs
) -> None:
    assert secrets.api_key("meshy") is None
    assert secrets.key_source("meshy") == ""
    secrets.set_api_key("meshy", "  msy_secret_value_1234567890  ")
    assert secrets.api_key("meshy") == "msy_secret_value_1234567890"
    assert secrets.key_source("meshy") == "keychain"
    assert secrets.api_key("tripo") is None
    save_settings(load_settings())
    for path in kiln_dirs.config.rglob("*"):
        if path.is_file():
            assert b"msy_secret_value" not in path.read_bytes()
    secrets.delete_api_key("meshy")
    assert secrets.api_key("meshy") is None
    secrets.delete_api_key("meshy")  # deleting twice is fine


def test_the_environment_wins_for_scripts(
    keychain: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets.set_api_key("tripo", "tsk_from_keychain_000000001")
    monkeypatch.setenv("KILN_TRIPO_API_KEY", "tsk_from_environment_00001")
    assert secrets.api_key("tripo") == "tsk_from_environment_00001"
    assert secrets.key_source("tripo") == "environment"


def test_an_empty_key_is_refused_plainly(keychain: MemoryKeyring) -> None:
    with pytest.raises(secrets.SecretsError, match="Paste your Meshy API key"):
        secrets.set_api_key("meshy", "   ")


def test_no_keychain_is_a_plain_sentence_and_never_echoes_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KILN_MESHY_API_KEY", raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeychain())
    try:
        assert secrets.api_key("meshy") is None
        with pytest.raises(secrets.SecretsError) as caught:
            secrets.set_api_key("meshy", "msy_never_shown_000000000001")
        assert "KILN_MESHY_API_KEY" in str(caught.value)
        assert "msy_never_shown" not in str(caught.value)
        assert caught.value.__cause__ is None
    finally:
        keyring.set_keyring(previous)
