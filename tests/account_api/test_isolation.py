"""Every id of user A answers user B exactly like an unknown id: 404, and nothing changes."""

from __future__ import annotations

import hashlib
import uuid

from tests.account_api.conftest import Api
from tests.account_api.sync_helpers import new_model, new_version, upload, version_body


def test_another_users_ids_are_not_found(api: Api) -> None:
    alice, bob = api.signup(), api.signup()
    model = new_model(alice)
    version = new_version(alice, model["uid"], 1)
    second = new_version(alice, model["uid"], 2)
    sha = version["sha256"]
    hold = alice.hold(amount=10).json()
    unknown_sha = hashlib.sha256(b"never uploaded").hexdigest()
    m, v, v2 = model["uid"], version["uid"], second["uid"]

    attempts = [
        ("GET", f"/v1/models/{m}", None),
        ("PATCH", f"/v1/models/{m}", {"name": "Mine now"}),
        ("DELETE", f"/v1/models/{m}", None),
        ("POST", f"/v1/models/{m}/versions", version_body(3, upload(bob))),
        ("GET", f"/v1/models/{m}/versions/{v}", None),
        ("DELETE", f"/v1/models/{m}/versions/{v2}", None),
        ("PUT", f"/v1/models/{m}/active", {"version_uid": v2, "base_revision": 1}),
        ("GET", f"/v1/blobs/{sha}", None),
        ("HEAD", f"/v1/blobs/{sha}", None),
        ("GET", f"/v1/holds/{hold['id']}", None),
        ("POST", f"/v1/holds/{hold['id']}/capture", None),
        ("POST", f"/v1/holds/{hold['id']}/release", None),
    ]
    unknown = {
        f"/v1/models/{m}": f"/v1/models/{uuid.uuid4().hex}",
        f"/v1/blobs/{sha}": f"/v1/blobs/{unknown_sha}",
        f"/v1/holds/{hold['id']}": f"/v1/holds/{uuid.uuid4().hex}",
    }
    for method, url, body in attempts:
        response = bob.http.request(method, url, json=body)
        assert response.status_code == 404, (method, url, response.text)
        if method == "HEAD":
            continue
        # The same answer as for an id that does not exist at all.
        twin = url
        for theirs, nobodys in unknown.items():
            twin = twin.replace(theirs, nobodys)
        assert bob.http.request(method, twin, json=body).json() == response.json()

    # Nothing of Alice's changed, and none of it shows in Bob's feeds.
    detail = alice.http.get(f"/v1/models/{m}").json()
    assert detail["model"]["name"] == "Teapot"
    assert detail["model"]["active_version_uid"] == v
    assert [x["uid"] for x in detail["versions"]] == [v, v2]
    assert alice.http.get(f"/v1/holds/{hold['id']}").json()["state"] == "held"
    assert bob.http.get("/v1/models").json() == []
    feed = bob.http.get("/v1/sync").json()
    assert feed["models"] == feed["versions"] == feed["tombstones"] == []
    assert all(e["hold_id"] != hold["id"] for e in bob.ledger())
    assert bob.balance()["available"] == 100


def test_the_same_uid_in_two_accounts_is_two_models(api: Api) -> None:
    alice, bob = api.signup(), api.signup()
    uid = uuid.uuid4().hex
    a = alice.http.post("/v1/models", json={"uid": uid, "name": "Alice's"})
    b = bob.http.post("/v1/models", json={"uid": uid, "name": "Bob's"})
    assert (a.status_code, b.status_code) == (201, 201)
    assert alice.http.get(f"/v1/models/{uid}").json()["model"]["name"] == "Alice's"
    assert bob.http.get(f"/v1/models/{uid}").json()["model"]["name"] == "Bob's"


def test_a_blob_uploaded_by_both_is_each_ones_own(api: Api) -> None:
    alice, bob = api.signup(), api.signup()
    sha = upload(alice, b"shared bytes")
    assert bob.http.get(f"/v1/blobs/{sha}").status_code == 404
    assert upload(bob, b"shared bytes") == sha
    assert bob.http.get(f"/v1/blobs/{sha}").content == b"shared bytes"


def test_same_idempotency_key_in_two_accounts_is_two_holds(api: Api) -> None:
    alice, bob = api.signup(), api.signup()
    a = alice.hold(idempotency_key="job-1", amount=10)
    b = bob.hold(idempotency_key="job-1", amount=10)
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]
