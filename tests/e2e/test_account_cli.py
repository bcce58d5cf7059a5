"""``python -m studio account ...`` as real subprocesses against the real account service.

The child processes share a test keychain kept in a JSON file outside the Kiln folders
(the real one is the OS keychain); nothing secret may land in the data, config or log dirs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from tests.account_api.conftest import PASSWORD
from tests.account_api.servers import ServiceThread
from tests.conftest import KilnDirs
from tests.e2e.conftest import REPO, Cli
from tests.studio.test_account_client import assert_nothing_secret_in_files, start_service
from tests.studio.test_secrets import never_detected

KEYCHAIN_ENV = "KILN_TEST_KEYCHAIN_FILE"
PRELUDE = (
    "import keyring\n"
    "from tests.e2e.test_account_cli import FileKeyring\n"
    "keyring.set_keyring(FileKeyring())"
)


class FileKeyring(KeyringBackend):
    """A keychain in the JSON file named by ``KILN_TEST_KEYCHAIN_FILE`` (tests only)."""

    priority = never_detected

    @property
    def _path(self) -> Path:
        return Path(os.environ[KEYCHAIN_ENV])

    def _load(self) -> dict[str, str]:
        try:
            data: dict[str, str] = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return data

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}/{username}"] = password
        self._path.write_text(json.dumps(data), encoding="utf-8")

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if f"{service}/{username}" not in data:
            raise PasswordDeleteError("not found")
        del data[f"{service}/{username}"]
        self._path.write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceThread]:
    server = start_service(tmp_path_factory.mktemp("account-data"))
    yield server
    server.stop()


@pytest.fixture
def keychain_file(tmp_path: Path, service: ServiceThread, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "test-keychain.json"
    monkeypatch.setenv(KEYCHAIN_ENV, str(path))
    monkeypatch.setenv("KILN_ACCOUNT_URL", service.url)
    return path


def account(cli: Cli, *args: str, expect: int = 0) -> tuple[str, str]:
    run = cli.run("account", *args, expect=expect, prelude=PRELUDE)
    return run.stdout, run.stderr


def new_email() -> str:
    return f"cli-{uuid.uuid4().hex[:12]}@example.com"


def test_signup_balance_ledger_logout(cli: Cli, keychain_file: Path, kiln_dirs: KilnDirs) -> None:
    email = new_email()
    out, _ = account(cli, "signup", "--email", email, "--password", PASSWORD)
    assert out.strip() == f"Signed up as {email}. You have 100 credits."
    stored = json.loads(keychain_file.read_text(encoding="utf-8"))
    refresh_token = stored["Kiln Studio/account-refresh-token"]
    assert stored["Kiln Studio/account-email"] == email

    out, _ = account(cli, "balance", "--json")
    balance = json.loads(out)
    assert (balance["available"], balance["on_hold"], balance["plan"]) == (100, 0, "free")
    out, _ = account(cli, "balance")
    assert out.startswith("100 credits available, 0 on hold")

    out, _ = account(cli, "ledger")
    assert "Sign-up bonus" in out
    page = json.loads(account(cli, "ledger", "--json")[0])
    assert [e["kind"] for e in page["entries"]] == ["grant"]

    out, _ = account(cli, "logout")
    assert out.strip() == "Signed out."
    assert "account-refresh-token" not in keychain_file.read_text(encoding="utf-8")
    _, err = account(cli, "balance", expect=1)
    assert err.strip() == "You are signed out. Sign in again to use your Kiln credits."

    out, _ = account(cli, "logout")
    assert out.strip() == "You were not signed in."

    assert_nothing_secret_in_files(kiln_dirs, PASSWORD, refresh_token)


def test_login_reads_the_password_from_stdin(
    cli: Cli, keychain_file: Path, kiln_dirs: KilnDirs
) -> None:
    email = new_email()
    account(cli, "signup", "--email", email, "--password", PASSWORD)
    account(cli, "logout")
    script = f"import sys\n{PRELUDE}\nfrom studio.cli import main\nsys.exit(main())\n"
    done = subprocess.run(
        [sys.executable, "-c", script, "account", "login", "--email", email],
        cwd=REPO,
        env={**os.environ, "PYTHONUTF8": "1"},
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"Signed in as {email}. You have 100 credits."
    assert PASSWORD not in done.stdout + done.stderr
    assert_nothing_secret_in_files(kiln_dirs, PASSWORD)


def test_wrong_password_is_exit_1_with_one_sentence(cli: Cli, keychain_file: Path) -> None:
    email = new_email()
    account(cli, "signup", "--email", email, "--password", PASSWORD)
    out, err = account(
        cli, "login", "--email", email, "--password", "not my password at all", expect=1
    )
    assert out == ""
    assert err.strip() == "The email or password is not correct."
    assert len(err.strip().splitlines()) == 1


def test_without_a_service_address(
    cli: Cli, keychain_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KILN_ACCOUNT_URL")
    _, err = account(cli, "balance", expect=1)
    assert "KILN_ACCOUNT_URL" in err
    assert len(err.strip().splitlines()) == 1


def test_sync_carries_models_between_two_computers(
    cli: Cli, keychain_file: Path, kiln_dirs: KilnDirs, tmp_path: Path
) -> None:
    from tests.e2e.conftest import SAMPLES_DIR

    laptop, desktop = kiln_dirs.data, tmp_path / "desktop-library"
    account(cli, "signup", "--email", new_email(), "--password", PASSWORD)
    cli.run("library", "import", SAMPLES_DIR / "crate.obj", "--no-thumbnail", "--data-dir", laptop)
    cli.run("library", "import", SAMPLES_DIR / "cube.off", "--no-thumbnail", "--data-dir", laptop)
    sent = json.loads(cli.run("sync", "--json", "--data-dir", laptop, prelude=PRELUDE).stdout)
    assert sent["pushed"] > 0
    received = json.loads(cli.run("sync", "--json", "--data-dir", desktop, prelude=PRELUDE).stdout)
    assert received["pulled"] > 0
    names = lambda data: sorted(  # noqa: E731
        m["name"]
        for m in json.loads(cli.run("library", "list", "--json", "--data-dir", data).stdout)[
            "models"
        ]
    )
    assert names(desktop) == names(laptop) == ["crate", "cube"]
    again = cli.run("sync", "--data-dir", desktop, prelude=PRELUDE).stdout
    assert again.startswith("Synced: everything was already up to date.")
    cli.run("library", "check", "--data-dir", desktop)


def test_plans_upgrade_and_cancel(cli: Cli, keychain_file: Path, service: ServiceThread) -> None:
    """Issue 7, finding 2: the command line asks for the payment page; it never grants."""
    from account_api.cli import set_plan

    email = new_email()
    account(cli, "signup", "--email", email, "--password", PASSWORD)
    out, _ = account(cli, "plans")
    assert "pro" in out
    assert "1,000" in out
    out, _ = account(cli, "upgrade", "pro")
    lines = out.strip().splitlines()
    assert lines[0] == "Pay for the pro plan here (it starts once the payment is through):"
    assert lines[1].startswith("https://pay.example.com/checkout?plan=pro&account=")
    assert json.loads(account(cli, "balance", "--json")[0])["available"] == 100
    _, err = account(cli, "upgrade", "platinum", expect=1)
    assert err.strip() == "There is no plan called 'platinum'."
    out, _ = account(cli, "cancel-plan")
    assert out.strip() == "You are on the free plan already."
    set_plan(service.db, service.clock, email, "starter")
    out, _ = account(cli, "cancel-plan")
    assert out.strip() == (
        "Your starter plan moves to free when this period ends; your credits stay until then."
    )
    balance = json.loads(account(cli, "balance", "--json")[0])
    assert (balance["plan"], balance["available"]) == ("starter", 300)
