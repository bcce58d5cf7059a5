"""The service as a whole: health, docs, error shapes, migrations, and the command line."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from account_api.tables import Base
from tests.account_api.conftest import PASSWORD, Api, make_settings
from tests.account_api.servers import FakeClock, ServiceThread, free_port

ROOT = Path(__file__).resolve().parents[2]


def test_health_checks_the_database(api: Api) -> None:
    response = api.http.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_is_503_when_the_database_is_unreachable(backend: str, tmp_path: Path) -> None:
    if backend == "postgresql":
        url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    else:
        (tmp_path / "db-is-a-folder").mkdir()
        url = f"sqlite:///{tmp_path / 'db-is-a-folder'}"
    server = ServiceThread(make_settings(tmp_path, url), FakeClock(), migrate=False).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            response = http.get("/health")
            assert response.status_code == 503
            assert response.json() == {"detail": "The database is not reachable."}
            plans = http.get("/v1/plans")
            assert plans.status_code == 503
            assert "database" in plans.json()["detail"]
            assert "Traceback" not in plans.text
    finally:
        server.stop()


def test_openapi_docs_are_served(api: Api) -> None:
    assert api.http.get("/docs").status_code == 200
    spec = api.http.get("/openapi.json").json()
    for path in ("/v1/auth/signup", "/v1/holds", "/v1/sync", "/v1/blobs/{sha256}", "/health"):
        assert path in spec["paths"]


def test_errors_are_plain_sentences_never_tracebacks(api: Api, service: ServiceThread) -> None:
    assert api.http.get("/v1/nothing-here").json() == {
        "detail": "There is nothing at this address."
    }
    assert api.http.delete("/v1/plans").json() == {
        "detail": "This address does not accept that method."
    }

    def explode() -> None:
        raise RuntimeError("internal detail that must not leak")

    if not any(getattr(r, "path", "") == "/test-only/explode" for r in service.app.routes):
        service.app.add_api_route("/test-only/explode", explode)
    response = api.http.get("/test-only/explode")
    assert response.status_code == 500
    assert response.json() == {"detail": "Something went wrong on our side. Try again later."}
    assert "internal detail" not in response.text


def test_migrations_match_the_tables(service: ServiceThread) -> None:
    with service.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_migrate_twice_is_harmless(service: ServiceThread) -> None:
    service.db.migrate()
    with service.db.read() as session:
        from sqlalchemy import func, select

        from account_api.tables import PlanRow

        assert session.scalar(select(func.count()).select_from(PlanRow)) == 4


def _cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KILN_ACCOUNT_")}
    env.update(extra)
    env["PYTHONPATH"] = str(ROOT)
    return env


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "account_api", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_command_line_jobs_run_against_the_services_database(
    api: Api, service: ServiceThread
) -> None:
    user = api.signup()
    env = _cli_env(
        KILN_ACCOUNT_DATA_DIR=str(service.settings.data_dir),
        KILN_ACCOUNT_DATABASE_URL=service.settings.database_url,
        KILN_ACCOUNT_JWT_SECRET="a-different-secret-is-fine-for-jobs-" + "y" * 10,
    )
    granted = _cli("grant", user.email, "250", "--reason", "Apology", env=env)
    assert granted.returncode == 0, granted.stderr
    assert "now has 350 available" in granted.stdout
    assert user.balance()["available"] == 350
    for command in ("migrate", "expire-holds", "reset-monthly"):
        result = _cli(command, env=env)
        assert result.returncode == 0, result.stderr
    huge = _cli("grant", user.email, str(2**31), "--reason", "x", env=env)
    assert huge.returncode == 2
    assert "Grant at most 10,000,000 credits at a time." in huge.stderr
    missing = _cli("grant", "nobody@example.com", "5", "--reason", "x", env=env)
    assert missing.returncode == 2
    assert "There is no account for nobody@example.com." in missing.stderr
    user.assert_ledger_matches_balance()


def test_postgres_without_a_jwt_secret_is_refused(tmp_path: Path) -> None:
    env = _cli_env(
        KILN_ACCOUNT_DATA_DIR=str(tmp_path),
        KILN_ACCOUNT_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/x",
    )
    result = _cli("migrate", env=env)
    assert result.returncode == 2
    assert "Set KILN_ACCOUNT_JWT_SECRET" in result.stderr


def test_serve_starts_with_sqlite_and_a_generated_secret(tmp_path: Path) -> None:
    port = free_port()
    env = _cli_env(KILN_ACCOUNT_DATA_DIR=str(tmp_path / "data"))
    process = subprocess.Popen(
        [sys.executable, "-m", "account_api", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[0]
                assert time.monotonic() < deadline, "the service did not start"
                time.sleep(0.1)
        assert response.json() == {"status": "ok"}
        signup = httpx.post(
            f"http://127.0.0.1:{port}/v1/auth/signup",
            json={"email": "cli@example.com", "password": PASSWORD},
        )
        assert signup.status_code == 201
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    secret = tmp_path / "data" / "jwt-secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700  # made by the service
    assert stat.S_IMODE((tmp_path / "data" / "account.sqlite3").stat().st_mode) == 0o600
    assert secret.read_text() not in output
    assert PASSWORD not in output


def test_password_hashing_is_bounded_and_over_the_bound_is_503(
    api: Api, service: ServiceThread
) -> None:
    """Finding 4: 40 concurrent password checks took 1.6 GiB; now at most a few run at once
    and the rest are told to come back (Retry-After) instead of queueing without end."""
    user = api.signup()
    passwords = service.app.state.services.passwords
    held = 0
    while passwords.slots.acquire(blocking=False):  # every hashing slot busy
        held += 1
    assert held == service.settings.max_concurrent_hashes
    try:
        started = time.monotonic()
        busy = api.http.post("/v1/auth/signin", json={"email": user.email, "password": PASSWORD})
        waited = time.monotonic() - started
        assert busy.status_code == 503
        assert busy.json() == {
            "detail": "The service is busy checking passwords. Try again in a moment."
        }
        assert int(busy.headers["Retry-After"]) > 0
        assert waited >= service.settings.hash_wait.total_seconds() * 0.9
        deleting = user.http.request("DELETE", "/v1/account", json={"password": PASSWORD})
        assert deleting.status_code == 503
    finally:
        for _ in range(held):
            passwords.slots.release()
    assert api.signin(user)["account"]["id"] == user.id


def test_serve_keeps_files_private_logs_no_tokens_and_ignores_forwarded_for(
    tmp_path: Path,
) -> None:
    """Finding 12 (account.sqlite3 was 0644, ``?access_token=`` reached the access log,
    X-Forwarded-For was believed by default) and finding 11 (the sweep runs at start-up)."""
    data = tmp_path / "data"
    stale = data / "tmp" / "upload-left-by-a-crash"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"x" * 1000)
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    port = free_port()
    env = _cli_env(KILN_ACCOUNT_DATA_DIR=str(data))
    process = subprocess.Popen(
        [sys.executable, "-m", "account_api", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    secret_token = "eyJ-a-token-that-must-not-be-logged"
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[0]
                assert time.monotonic() < deadline, "the service did not start"
                time.sleep(0.1)
        logged = httpx.get(
            f"{base}/v1/plans",
            params={"access_token": secret_token},
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
        assert logged.status_code == 422  # an unknown query parameter
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert stat.S_IMODE((data / "account.sqlite3").stat().st_mode) == 0o600
    for leftover in data.glob("account.sqlite3-*"):
        assert stat.S_IMODE(leftover.stat().st_mode) == 0o600, leftover
    assert '127.0.0.1 "GET /v1/plans" 422' in output
    assert secret_token not in output
    assert "access_token" not in output
    assert "203.0.113.9" not in output
    assert not stale.exists()
