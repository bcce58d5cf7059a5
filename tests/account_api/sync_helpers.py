"""Builders for blobs, models and versions in the sync tests."""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime
from typing import Any

from tests.account_api.conftest import User


def upload(user: User, data: bytes | None = None) -> str:
    """Upload ``data`` (random bytes by default); its sha256."""
    data = os.urandom(256) if data is None else data
    sha = hashlib.sha256(data).hexdigest()
    response = user.http.put(f"/v1/blobs/{sha}", content=data)
    assert response.status_code in (200, 201), response.text
    return sha


def new_model(user: User, name: str = "Teapot") -> dict[str, Any]:
    response = user.http.post("/v1/models", json={"uid": uuid.uuid4().hex, "name": name})
    assert response.status_code == 201, response.text
    return dict(response.json())


def version_body(number: int, sha: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uid": uuid.uuid4().hex,
        "number": number,
        "sha256": sha,
        "filename": f"teapot-v{number}.glb",
        "format": "glb",
        "companions": [],
        "thumbnail_sha": None,
        "source": {"kind": "import", "path": "teapot.glb"},
        "stats": {"faces": 1200, "watertight": True},
        "created_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).isoformat(),
    }
    body.update(extra)
    return body


def new_version(user: User, model_uid: str, number: int) -> dict[str, Any]:
    response = user.http.post(
        f"/v1/models/{model_uid}/versions", json=version_body(number, upload(user))
    )
    assert response.status_code == 201, response.text
    return dict(response.json())
