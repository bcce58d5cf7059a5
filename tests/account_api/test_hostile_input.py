"""What a hostile or broken client can send is refused where it enters, with a plain 422 or
413, on SQLite and PostgreSQL alike, and never breaks what is stored (issue 7, findings 1, 3,
6, 7 and 12)."""

from __future__ import annotations

import json
import socket
import uuid
from datetime import timedelta
from typing import Any

import pytest

from account_api.settings import RateLimit
from account_api.tables import VersionRow
from tests.account_api.conftest import PASSWORD, Api, User
from tests.account_api.servers import ServiceThread
from tests.account_api.sync_helpers import new_model, upload, version_body

MAX_JSON = 64 * 1024


@pytest.fixture(scope="module")
def tuning() -> dict[str, Any]:
    many = RateLimit(10_000, timedelta(hours=1))
    return {
        "max_json_bytes": MAX_JSON,
        "max_blob_bytes": 4 * MAX_JSON,
        "signup_per_ip": many,
        "signin_per_ip": many,
    }


def _version(user: User, model_uid: str, **changes: Any) -> Any:
    body = version_body(1, upload(user))
    body.update(changes)
    return user.http.post(f"/v1/models/{model_uid}/versions", json=body)


@pytest.mark.parametrize(
    "relpath",
    [
        "../../outside.png",
        "/etc/passwd",
        "textures/../../x.png",
        "C:/Windows/win.ini",
        "textures\\wood.png",
        "e\u0301cole.png",  # NFD
        "CON.png",
        "a" * 401,
        "dir/",
    ],
)
def test_unsafe_companion_paths_are_refused_where_they_enter(api: Api, relpath: str) -> None:
    """Finding 1 (server side): the service never stores a path that could leave the folder."""
    user = api.signup()
    model = new_model(user)
    texture = upload(user, b"texture")
    response = _version(user, model["uid"], companions=[{"relpath": relpath, "sha256": texture}])
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith("Check 'companions.0.relpath': ")
    assert "safe companion path" in detail or "at most" in detail
    assert user.http.get(f"/v1/models/{model['uid']}").json()["versions"] == []


def test_a_companion_stored_before_the_rule_is_left_out_not_fatal(
    api: Api, service: ServiceThread
) -> None:
    user = api.signup()
    model = new_model(user)
    texture = upload(user, b"texture")
    good = {"relpath": "textures/wood.png", "sha256": texture}
    created = _version(user, model["uid"], companions=[good])
    assert created.status_code == 201
    with service.db.write() as session:  # as an older service would have stored it
        row = session.query(VersionRow).filter_by(uid=created.json()["uid"]).one()
        row.companions = [good, {"relpath": "../../evil.sh", "sha256": texture}]
    feed = user.http.get("/v1/sync")
    assert feed.status_code == 200
    assert feed.json()["versions"][0]["companions"] == [good]


def test_request_bodies_are_capped_before_anything_reads_them(api: Api) -> None:
    """Finding 3: a body over the JSON limit is a 413, declared or streamed, signed in or not."""
    big = json.dumps({"email": "x@example.com", "password": "p" * MAX_JSON}).encode()
    declared = api.http.post(
        "/v1/auth/signin", content=big, headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.json() == {
        "detail": f"The request body is larger than the {MAX_JSON:,} bytes this address accepts."
    }

    def chunks() -> Any:
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096]

    streamed = api.http.post(
        "/v1/auth/signin", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    # The blob route keeps its own, larger, streaming cap.
    user = api.signup()
    assert len(upload(user, b"x" * (2 * MAX_JSON))) == 64


def test_deeply_nested_json_is_refused_and_never_stored(api: Api) -> None:
    """Finding 6: a version whose source nests 300 deep is refused; the feed stays readable."""
    user = api.signup()
    model = new_model(user)
    deep: dict[str, Any] = {}
    for _ in range(300):
        deep = {"a": deep}
    response = _version(user, model["uid"], source=deep)
    assert response.status_code == 422
    assert "nests deeper than" in response.json()["detail"]
    nine: dict[str, Any] = {"leaf": 1}
    for _ in range(8):
        nine = {"a": nine}
    assert _version(user, model["uid"], source=nine).status_code == 422
    assert user.http.get("/v1/sync").status_code == 200
    assert user.http.get(f"/v1/models/{model['uid']}").status_code == 200
    for hostile in (b"[" * 50_000, b'{"a": NaN}', b'{"a": "\\ud800"}'):
        refused = user.http.post(
            "/v1/models", content=hostile, headers={"Content-Type": "application/json"}
        )
        assert refused.status_code == 422, hostile[:20]
        assert isinstance(refused.json()["detail"], str)


def test_a_version_stored_too_deep_before_the_rule_is_still_served(
    api: Api, service: ServiceThread
) -> None:
    user = api.signup()
    model = new_model(user)
    created = _version(user, model["uid"])
    deep: dict[str, Any] = {}
    for _ in range(300):
        deep = {"a": deep}
    with service.db.write() as session:
        session.query(VersionRow).filter_by(uid=created.json()["uid"]).one().source = deep
    assert user.http.get("/v1/sync").status_code == 200
    detail = user.http.get(f"/v1/models/{model['uid']}")
    assert detail.status_code == 200
    assert detail.json()["versions"][0]["source"] == {}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/sync", {"since": "99999999999999999999"}),
        ("/v1/sync", {"since": "-1"}),
        ("/v1/ledger", {"before": "-99999999999999999999"}),
        ("/v1/ledger", {"before": str(2**63)}),
        ("/v1/ledger", {"limit": str(2**64)}),
        ("/v1/sync", {"since": "0", "access_tokn": "typo"}),
    ],
)
def test_out_of_range_query_numbers_are_422(api: Api, path: str, params: dict[str, str]) -> None:
    """Finding 7: numbers out of a column's range are refused, not a 500."""
    user = api.signup()
    response = user.http.get(path, params=params)
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], str)


@pytest.mark.parametrize(
    "changes",
    [
        {"number": 2**63},
        {"number": 2**31},  # PostgreSQL's int4
        {"number": 0},
        {"created_at": "2026-01-02T03:04:05"},  # no timezone
        {"created_at": "0001-01-01T00:00:00+01:00"},  # out of range in UTC
        {"created_at": "9999-12-31T23:59:59-01:00"},
        {"source": {"n": 2**64}},
        {"stats": {"text": "x" * 10_001}},
        {"filename": "model\x00.glb"},
        {"format": "GLB\x00"},
    ],
)
def test_out_of_range_version_fields_are_422(api: Api, changes: dict[str, Any]) -> None:
    user = api.signup()
    model = new_model(user)
    response = _version(user, model["uid"], **changes)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("Check '")


@pytest.mark.parametrize("uid", ["a/b", "..", ".", "a%2Fb", "x\x00y", "ü", "", "a" * 65])
def test_uids_that_could_not_be_reached_again_are_refused(api: Api, uid: str) -> None:
    """Finding 12: a uid is refused at creation if it could not be used in a path later."""
    user = api.signup()
    response = user.http.post("/v1/models", json={"uid": uid, "name": "Teapot"})
    assert response.status_code == 422, response.text
    assert user.http.get("/v1/models").json() == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/auth/signup", {"email": "nul\x00@example.com", "password": PASSWORD}),
        ("POST", "/v1/auth/signin", {"email": "nul\x00@example.com", "password": PASSWORD}),
        ("POST", "/v1/models", {"uid": "nul\x00", "name": "Teapot"}),
        ("POST", "/v1/models", {"uid": "ok", "name": "Tea\x00pot"}),
        ("POST", "/v1/holds", {"idempotency_key": "job\x00", "amount": 1}),
        ("GET", "/v1/models/nul%00", None),
        ("GET", "/v1/holds/nul%00", None),
        ("POST", "/v1/account/plan/checkout", {"plan": "pro\x00"}),
    ],
)
def test_nul_bytes_are_refused_on_both_databases(
    api: Api, method: str, path: str, body: Any
) -> None:
    """Finding 7: NUL in emails, names, uids or keys used to be a 500 on PostgreSQL."""
    user = api.signup()
    response = user.http.request(method, path, json=body)
    assert response.status_code in (401, 422), response.text
    assert isinstance(response.json()["detail"], str)


def test_nul_inside_free_form_json_is_stored_and_returned(api: Api) -> None:
    user = api.signup()
    model = new_model(user)
    response = _version(user, model["uid"], source={"prompt": "tea\x00pot"})
    assert response.status_code == 201, response.text
    assert user.http.get("/v1/sync").json()["versions"][0]["source"] == {"prompt": "tea\x00pot"}


def _raw_exchange(sock: socket.socket, request: bytes) -> bytes:
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def test_a_500_keeps_the_keep_alive_connection(
    api: Api, service: ServiceThread, caplog: pytest.LogCaptureFixture
) -> None:
    """Finding 7: after a 500 the next request on the same connection is answered."""

    def explode() -> None:
        raise RuntimeError("internal detail that must not leak")

    if not any(
        getattr(r, "path", "") == "/test-only/explode-keepalive" for r in service.app.routes
    ):
        service.app.add_api_route("/test-only/explode-keepalive", explode)
    host = f"127.0.0.1:{service.port}".encode()
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as sock:
        for _ in range(5):
            failed = _raw_exchange(
                sock, b"GET /test-only/explode-keepalive HTTP/1.1\r\nHost: " + host + b"\r\n\r\n"
            )
            assert failed.startswith(b"HTTP/1.1 500 "), failed[:200]
            assert b"internal detail" not in failed
            assert b"connection: close" not in failed.lower()
            healthy = _raw_exchange(sock, b"GET /health HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
            assert healthy.startswith(b"HTTP/1.1 200 "), healthy[:200]
    assert "internal detail that must not leak" in caplog.text  # in the log, not the answer


def test_one_error_shape_for_every_4xx_in_the_openapi_document(api: Api) -> None:
    spec = api.http.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for code in ("401", "403", "404", "409", "413", "422", "429"):
                content = operation["responses"][code]["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/Problem"}, (
                    method,
                    path,
                    code,
                )
    problem = spec["components"]["schemas"]["Problem"]
    assert problem["required"] == ["detail"]
    # And the answers have that shape: a sentence in "detail".
    user = api.signup()
    answers = [
        api.http.get("/v1/balance"),  # 401
        user.http.get(f"/v1/models/{uuid.uuid4().hex}"),  # 404
        user.http.post("/v1/models", json={"uid": 5}),  # 422
        user.http.request("DELETE", "/v1/account", json={"password": "wrong password!"}),  # 403
    ]
    assert [a.status_code for a in answers] == [401, 404, 422, 403]
    for answer in answers:
        assert list(answer.json()) == ["detail"]
        assert isinstance(answer.json()["detail"], str)
