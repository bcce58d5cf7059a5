"""Fixtures: one real account service per test module and backend, clients to talk to it.

Every module runs twice: against SQLite with blobs in a local folder, and against
PostgreSQL with blobs in an S3 bucket (moto). A module changes the service's settings by
overriding the ``tuning`` fixture.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from account_api.settings import Argon2Cost, Settings
from tests.account_api.servers import FakeClock, PostgresCluster, S3Emulator, ServiceThread

BACKENDS = ["sqlite", "postgresql"]
PASSWORD = "correct horse battery"
WEBHOOK_SECRET = "whsec_kiln_test_secret"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def aws_env() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in AWS_ENV.items():
            patch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE"):
            patch.delenv(name, raising=False)
        yield


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    try:
        cluster = PostgresCluster().start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def s3(aws_env: None) -> Iterator[S3Emulator]:
    emulator = S3Emulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def tuning() -> dict[str, Any]:
    """Settings a module changes (``dataclasses.replace`` keywords)."""
    return {}


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make_settings(data_dir: Path, database_url: str, **changes: Any) -> Settings:
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        jwt_secret="kiln-test-jwt-secret-" + "x" * 32,
        webhook_secret=WEBHOOK_SECRET,
        # Cheap hashing: the tests sign up hundreds of users.
        argon2=Argon2Cost(time_cost=1, memory_kib=1024, parallelism=1),
    )
    return dataclasses.replace(settings, **changes)


@pytest.fixture(scope="module")
def service(
    backend: str,
    tuning: dict[str, Any],
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServiceThread]:
    data_dir = tmp_path_factory.mktemp("account-data")
    changes = dict(tuning)
    if backend == "postgresql":
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        emulator: S3Emulator = request.getfixturevalue("s3")
        url = cluster.create_database()
        changes.update(s3_bucket=emulator.create_bucket(), s3_endpoint_url=emulator.url)
    else:
        url = f"sqlite:///{data_dir / 'account.sqlite3'}"
    server = ServiceThread(make_settings(data_dir, url, **changes), FakeClock()).start()
    yield server
    server.stop()


@dataclasses.dataclass
class User:
    """A signed-up account and an authorised client for it."""

    email: str
    password: str
    session: dict[str, Any]
    http: httpx.Client

    @property
    def id(self) -> str:
        return str(self.session["account"]["id"])

    @property
    def refresh_token(self) -> str:
        return str(self.session["refresh_token"])

    def use(self, session: dict[str, Any]) -> None:
        self.session = session
        self.http.headers["Authorization"] = f"Bearer {session['access_token']}"

    def refresh(self) -> None:
        response = self.http.post("/v1/auth/refresh", json={"refresh_token": self.refresh_token})
        assert response.status_code == 200, response.text
        self.use(response.json())

    def balance(self) -> dict[str, Any]:
        response = self.http.get("/v1/balance")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def ledger(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        before: int | None = None
        while True:
            params: dict[str, Any] = {"limit": 1000}
            if before is not None:
                params["before"] = before
            page = self.http.get("/v1/ledger", params=params).json()
            entries += page["entries"]
            before = page["next_before"]
            if before is None:
                return entries

    def assert_ledger_matches_balance(self) -> dict[str, Any]:
        balance = self.balance()
        entries = self.ledger()
        assert sum(e["amount"] for e in entries) == balance["available"]
        assert sum(e["on_hold_change"] for e in entries) == balance["on_hold"]
        for bucket in balance["buckets"]:
            assert (
                sum(e["amount"] for e in entries if e["bucket_id"] == bucket["id"])
                == bucket["remaining"]
            )
        return balance

    def hold(self, **body: Any) -> httpx.Response:
        body.setdefault("idempotency_key", uuid.uuid4().hex)
        return self.http.post("/v1/holds", json=body)


class Api:
    """Clients for one test; closed at its end."""

    def __init__(self, service: ServiceThread) -> None:
        self.service = service
        self.url = service.url
        self._clients: list[httpx.Client] = []
        self.http = self.client()

    def client(self) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=60)
        self._clients.append(client)
        return client

    def signup(self, email: str | None = None, password: str = PASSWORD) -> User:
        email = email or f"designer-{uuid.uuid4().hex[:12]}@example.com"
        response = self.http.post("/v1/auth/signup", json={"email": email, "password": password})
        assert response.status_code == 201, response.text
        user = User(email, password, {}, self.client())
        user.use(response.json())
        return user

    def signin(self, user: User) -> dict[str, Any]:
        response = self.http.post(
            "/v1/auth/signin", json={"email": user.email, "password": user.password}
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def close(self) -> None:
        for client in self._clients:
            client.close()


@pytest.fixture
def api(service: ServiceThread) -> Iterator[Api]:
    client = Api(service)
    yield client
    client.close()


def after(clock: FakeClock, **delta: float) -> None:
    clock.advance(timedelta(**delta))
