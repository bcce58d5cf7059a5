"""Blobs (hash verified, size capped), models, versions, active revisions, tombstones and the
change feed."""

from __future__ import annotations

import hashlib
import os
import uuid
from typing import Any

import pytest

from tests.account_api.conftest import Api
from tests.account_api.sync_helpers import new_model, new_version, upload, version_body

MAX_BLOB = 64 * 1024


@pytest.fixture(scope="module")
def tuning() -> dict[str, Any]:
    return {"max_blob_bytes": MAX_BLOB}


def test_blob_upload_verifies_the_hash(api: Api) -> None:
    user = api.signup()
    data = os.urandom(5000)
    sha = hashlib.sha256(data).hexdigest()
    wrong = user.http.put(f"/v1/blobs/{sha}", content=data[:-1])
    assert wrong.status_code == 422
    assert wrong.json() == {
        "detail": "The uploaded bytes do not match the sha256 in the address: upload again."
    }
    assert user.http.head(f"/v1/blobs/{sha}").status_code == 404
    first = user.http.put(f"/v1/blobs/{sha}", content=data)
    assert first.status_code == 201
    assert first.json() == {"sha256": sha, "size": 5000}
    assert user.http.put(f"/v1/blobs/{sha}", content=data).status_code == 200
    assert user.http.head(f"/v1/blobs/{sha}").status_code == 200
    download = user.http.get(f"/v1/blobs/{sha}")
    assert download.status_code == 200
    assert download.content == data


def test_blob_address_must_be_a_sha256(api: Api) -> None:
    user = api.signup()
    response = user.http.put("/v1/blobs/NOT-A-HASH", content=b"x")
    assert response.status_code == 422
    assert "sha256" in response.json()["detail"]


def test_blob_size_cap(api: Api) -> None:
    user = api.signup()
    at_cap = os.urandom(MAX_BLOB)
    assert upload(user, at_cap) == hashlib.sha256(at_cap).hexdigest()
    over = os.urandom(MAX_BLOB + 1)
    response = user.http.put(f"/v1/blobs/{hashlib.sha256(over).hexdigest()}", content=over)
    assert response.status_code == 413
    assert response.json() == {
        "detail": f"The file is larger than the {MAX_BLOB:,} bytes this service accepts."
    }

    # Without a Content-Length (chunked), the cap is enforced while reading.
    def chunks() -> Any:
        for start in range(0, len(over), 4096):
            yield over[start : start + 4096]

    chunked = user.http.put(f"/v1/blobs/{hashlib.sha256(over).hexdigest()}", content=chunks())
    assert chunked.status_code == 413


def test_models_are_idempotent_by_uid(api: Api) -> None:
    user = api.signup()
    uid = uuid.uuid4().hex
    first = user.http.post("/v1/models", json={"uid": uid, "name": "Vase"})
    again = user.http.post("/v1/models", json={"uid": uid, "name": "Vase"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert first.json()["active_version_uid"] is None
    assert [m["uid"] for m in user.http.get("/v1/models").json()] == [uid]
    renamed = user.http.patch(f"/v1/models/{uid}", json={"name": "Tall vase"})
    assert renamed.json()["name"] == "Tall vase"
    assert renamed.json()["revision"] > first.json()["revision"]


def test_a_version_needs_its_files_uploaded_first(api: Api) -> None:
    user = api.signup()
    model = new_model(user)
    main = upload(user)
    companion = hashlib.sha256(b"texture").hexdigest()
    thumb = hashlib.sha256(b"thumbnail").hexdigest()
    body = version_body(
        1,
        main,
        companions=[{"relpath": "textures/wood.png", "sha256": companion}],
        thumbnail_sha=thumb,
    )
    missing = user.http.post(f"/v1/models/{model['uid']}/versions", json=body)
    assert missing.status_code == 409
    assert missing.json()["detail"]["missing"] == sorted([companion, thumb])
    assert "Upload the version's files first" in missing.json()["detail"]["message"]
    upload(user, b"texture")
    upload(user, b"thumbnail")
    created = user.http.post(f"/v1/models/{model['uid']}/versions", json=body)
    assert created.status_code == 201
    version = created.json()
    assert version["companions"] == body["companions"]
    assert version["thumbnail_sha"] == thumb
    assert version["stats"] == body["stats"]
    again = user.http.post(f"/v1/models/{model['uid']}/versions", json=body)
    assert again.status_code == 200
    assert again.json() == version
    # The model's first version became its active one.
    detail = user.http.get(f"/v1/models/{model['uid']}").json()
    assert detail["model"]["active_version_uid"] == version["uid"]
    assert detail["model"]["active_revision"] == 1
    assert [v["uid"] for v in detail["versions"]] == [version["uid"]]


def test_version_numbers_are_never_reused(api: Api) -> None:
    user = api.signup()
    model = new_model(user)
    new_version(user, model["uid"], 1)
    second = new_version(user, model["uid"], 2)
    assert (
        user.http.delete(f"/v1/models/{model['uid']}/versions/{second['uid']}").status_code == 200
    )
    reuse = user.http.post(
        f"/v1/models/{model['uid']}/versions", json=version_body(2, upload(user))
    )
    assert reuse.status_code == 409
    assert reuse.json() == {"detail": "This model already has (or had) a version 2."}


def test_active_version_changes_need_the_current_revision(api: Api) -> None:
    user = api.signup()
    model = new_model(user)
    v1 = new_version(user, model["uid"], 1)
    v2 = new_version(user, model["uid"], 2)
    url = f"/v1/models/{model['uid']}/active"
    moved = user.http.put(url, json={"version_uid": v2["uid"], "base_revision": 1})
    assert moved.status_code == 200
    assert moved.json()["active_version_uid"] == v2["uid"]
    assert moved.json()["active_revision"] == 2
    # Another device still thinks revision 1 is current.
    stale = user.http.put(url, json={"version_uid": v1["uid"], "base_revision": 1})
    assert stale.status_code == 409
    assert stale.json() == {
        "detail": {
            "message": "The active version was changed on another device.",
            "active_version_uid": v2["uid"],
            "active_revision": 2,
        }
    }
    # Asking for what is already active succeeds whatever the base revision.
    same = user.http.put(url, json={"version_uid": v2["uid"], "base_revision": 0})
    assert same.status_code == 200
    assert same.json()["active_revision"] == 2
    unknown = user.http.put(url, json={"version_uid": "nope", "base_revision": 2})
    assert unknown.status_code == 404


def test_deleting_versions_and_models_leaves_tombstones(api: Api) -> None:
    user = api.signup()
    model = new_model(user)
    v1 = new_version(user, model["uid"], 1)
    v2 = new_version(user, model["uid"], 2)
    user.http.put(
        f"/v1/models/{model['uid']}/active", json={"version_uid": v2["uid"], "base_revision": 1}
    )
    cursor = user.http.get("/v1/sync").json()["cursor"]

    deleted = user.http.delete(f"/v1/models/{model['uid']}/versions/{v2['uid']}")
    assert deleted.status_code == 200
    assert deleted.json()["active_version_uid"] == v1["uid"]  # the newest remaining
    only = user.http.delete(f"/v1/models/{model['uid']}/versions/{v1['uid']}")
    assert only.status_code == 409
    assert only.json() == {"detail": "This is the model's only version: delete the model instead."}
    assert user.http.get(f"/v1/models/{model['uid']}/versions/{v2['uid']}").status_code == 404

    feed = user.http.get("/v1/sync", params={"since": cursor}).json()
    assert [(t["kind"], t["uid"]) for t in feed["tombstones"]] == [("version", v2["uid"])]
    assert [(a["model_uid"], a["active_version_uid"]) for a in feed["active"]] == [
        (model["uid"], v1["uid"])
    ]
    assert feed["models"] == feed["versions"] == []

    assert user.http.delete(f"/v1/models/{model['uid']}").status_code == 204
    assert user.http.delete(f"/v1/models/{model['uid']}").status_code == 204  # again: fine
    assert user.http.get(f"/v1/models/{model['uid']}").status_code == 404
    assert user.http.get("/v1/models").json() == []
    reborn = user.http.post("/v1/models", json={"uid": model["uid"], "name": "Again"})
    assert reborn.status_code == 409
    feed = user.http.get("/v1/sync", params={"since": feed["cursor"]}).json()
    assert [(t["kind"], t["uid"]) for t in feed["tombstones"]] == [("model", model["uid"])]
    full = user.http.get("/v1/sync").json()
    assert full["models"] == full["versions"] == full["active"] == []
    assert [t["kind"] for t in full["tombstones"]] == ["model"]


def test_the_change_feed_returns_what_changed_after_the_cursor(api: Api) -> None:
    user = api.signup()
    empty = user.http.get("/v1/sync").json()
    assert empty == {"cursor": 0, "models": [], "versions": [], "active": [], "tombstones": []}
    model = new_model(user, "Chair")
    v1 = new_version(user, model["uid"], 1)
    feed = user.http.get("/v1/sync", params={"since": 0}).json()
    assert feed["cursor"] == 2
    assert [m["uid"] for m in feed["models"]] == [model["uid"]]
    assert [v["uid"] for v in feed["versions"]] == [v1["uid"]]
    assert feed["active"] == [
        {
            "model_uid": model["uid"],
            "active_version_uid": v1["uid"],
            "active_revision": 1,
            "revision": 2,
        }
    ]
    nothing = user.http.get("/v1/sync", params={"since": feed["cursor"]}).json()
    assert nothing == {
        "cursor": 2,
        "models": [],
        "versions": [],
        "active": [],
        "tombstones": [],
    }
    v2 = new_version(user, model["uid"], 2)
    user.http.patch(f"/v1/models/{model['uid']}", json={"name": "Armchair"})
    later = user.http.get("/v1/sync", params={"since": 2}).json()
    assert later["cursor"] == 4
    assert [v["uid"] for v in later["versions"]] == [v2["uid"]]
    assert [m["name"] for m in later["models"]] == ["Armchair"]
    assert later["active"] == []  # v2 did not become active
    # Revisions only grow, one per change.
    revisions = [later["versions"][0]["revision"], later["models"][0]["revision"]]
    assert revisions == [3, 4]
