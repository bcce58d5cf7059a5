"""A hostile or broken account service cannot hurt the designer's disk or stop the sync.

The service here is a small HTTP server on 127.0.0.1 that answers the sync's routes with
whatever JSON a test gives it (a compromised or impersonated server on plain http would):
companion paths that leave the cache, formats this client doesn't know, items that don't fit
the wire schema. Issue 7, findings 1 (client side) and 13.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from library_fixtures import PNG_1X1, stl_bytes

from studio.account.sync import HttpSyncTransport, SyncError, SyncReport, sync
from studio.library import Library

VICTIM_BYTES = b"the designer's own file\n"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).isoformat()
OBJ = b"mtllib t.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nusemtl a\nf 1 2 3\n"
MTL = b"newmtl a\nmap_Kd textures/wood.png\n"


class HostileService:
    """Answers ``GET /v1/sync``, ``/v1/models/<uid>`` and ``/v1/blobs/<sha>`` from dicts."""

    def __init__(self) -> None:
        self.feed: dict[str, Any] = {
            "cursor": 0,
            "models": [],
            "versions": [],
            "active": [],
            "tombstones": [],
        }
        self.models: dict[str, Any] = {}
        self.blobs: dict[str, bytes] = {}
        #: Bytes sent for ``/v1/sync`` instead of ``feed`` (an answer that isn't a feed).
        self.raw_feed: bytes | None = None
        self.requests: list[str] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                service.requests.append(path)
                status, body, kind = 404, b'{"detail": "Not found."}', "application/json"
                if path == "/v1/sync":
                    body = service.raw_feed or json.dumps(service.feed).encode()
                    status = 200
                elif path.startswith("/v1/models/") and path[11:] in service.models:
                    status, body = 200, json.dumps(service.models[path[11:]]).encode()
                elif path.startswith("/v1/blobs/") and path[10:] in service.blobs:
                    status, body, kind = 200, service.blobs[path[10:]], "application/octet-stream"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def blob(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        self.blobs[sha] = data
        return sha

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def service() -> Iterator[HostileService]:
    server = HostileService()
    yield server
    server.close()


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    with Library.open(tmp_path / "device") as lib:
        yield lib


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim.txt"
    path.write_bytes(VICTIM_BYTES)
    return path


def run_sync(library: Library, service: HostileService) -> SyncReport:
    with httpx.Client(base_url=service.url, timeout=10) as http:
        return sync(library, HttpSyncTransport(http))


def model_json(uid: str, name: str, active: str | None, revision: int = 1) -> dict[str, Any]:
    return {
        "uid": uid,
        "name": name,
        "created_at": NOW,
        "active_version_uid": active,
        "active_revision": 1,
        "revision": revision,
    }


def version_json(
    service: HostileService,
    uid: str,
    model_uid: str,
    number: int,
    *,
    main: bytes | None = None,
    filename: str = "vase.stl",
    fmt: str = "stl-binary",
    companions: dict[str, bytes] | None = None,
) -> dict[str, Any]:
    return {
        "uid": uid,
        "model_uid": model_uid,
        "number": number,
        "sha256": service.blob(main if main is not None else stl_bytes(1, number)),
        "filename": filename,
        "format": fmt,
        "companions": [
            {"relpath": rel, "sha256": service.blob(data)}
            for rel, data in (companions or {}).items()
        ],
        "thumbnail_sha": None,
        "source": {},
        "stats": {},
        "created_at": NOW,
        "revision": number + 1,
    }


def escape_to(victim: Path, library: Library) -> str:
    """A relpath that, joined onto the cache's staging folder, lands on ``victim``."""
    depth = len(library.data_dir.resolve().relative_to(victim.parent.resolve()).parts) + 2
    return "../" * depth + victim.name


def publish(service: HostileService, uid: str, name: str, versions: list[dict[str, Any]]) -> None:
    """A model with these versions, the first active, in the feed and behind its route."""
    model = model_json(uid, name, versions[0]["uid"])
    service.models[uid] = {"model": model, "versions": versions}
    service.feed["models"].append(model)
    service.feed["versions"].extend(versions)
    service.feed["cursor"] = max(service.feed["cursor"], 100)


def kept(library: Library) -> dict[str, list[int]]:
    return {m.uid: sorted(v.number for v in library.versions(m.id)) for m in library.list_models()}


def test_synced_companion_paths_that_leave_the_cache_are_skipped_and_never_written(
    service: HostileService,
    library: Library,
    victim: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hostile = b"written by a hostile server\n"
    obj = {"t.mtl": MTL, "textures/wood.png": PNG_1X1}
    publish(
        service,
        "m1",
        "Teapot",
        [
            version_json(service, "v1", "m1", 1),
            version_json(service, "v2", "m1", 2, companions={escape_to(victim, library): hostile}),
            version_json(service, "v3", "m1", 3, companions={str(victim): hostile}),
            version_json(service, "v4", "m1", 4, companions={"..\\..\\victim.txt": hostile}),
            version_json(service, "v5", "m1", 5, companions={"tex/../../x.png": hostile}),
            version_json(service, "..", "m1", 6),
            version_json(service, "v7", "m1", 7, main=OBJ, filename="t.obj", fmt="obj",
                         companions=obj),
        ],
    )  # fmt: skip
    caplog.set_level(logging.WARNING, logger="studio.account.sync")

    report = run_sync(library, service)

    assert kept(library) == {"m1": [1, 7]}
    skipped = [m for m in report.messages if "was skipped" in m]
    assert len(skipped) == 5, report.messages
    assert all("unsafe path" in m for m in skipped[:4]), skipped
    assert "identifier" in skipped[4]
    assert all(m.startswith("Version ") and "of “Teapot”" in m for m in skipped)
    assert [r.getMessage() for r in caplog.records] == [f"sync: {m}" for m in skipped]
    assert victim.read_bytes() == VICTIM_BYTES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["device", "victim.txt"]
    # Nothing of a skipped version was even downloaded.
    assert not library.sync_has_blob(hashlib.sha256(hostile).hexdigest())
    assert library.check(verify_hashes=True) == []
    model = library.list_models()[0]
    opened = library.materialize(library.get_version(model.id, 7))
    assert (opened.parent / "textures" / "wood.png").read_bytes() == PNG_1X1


def test_hostile_companions_of_an_already_synced_model_are_skipped(
    service: HostileService, library: Library, victim: Path
) -> None:
    publish(service, "m1", "Teapot", [version_json(service, "v1", "m1", 1)])
    run_sync(library, service)
    service.feed = {
        "cursor": 200,
        "models": [],
        "versions": [
            version_json(service, "v2", "m1", 2, companions={escape_to(victim, library): b"x"}),
            version_json(service, "v3", "m1", 3),
        ],
        "active": [],
        "tombstones": [],
    }
    report = run_sync(library, service)
    assert kept(library) == {"m1": [1, 3]}
    assert report.pulled == 1
    assert len(report.messages) == 1
    assert report.messages[0].startswith("Version 2 of “Teapot” from the account was skipped")
    assert victim.read_bytes() == VICTIM_BYTES
    assert library.check() == []


def test_a_version_in_an_unknown_format_is_skipped_not_fatal(
    service: HostileService, library: Library
) -> None:
    publish(
        service,
        "m1",
        "Teapot",
        [
            version_json(service, "v1", "m1", 1),
            version_json(service, "v2", "m1", 2, fmt="fbx", filename="teapot.fbx"),
            version_json(service, "v3", "m1", 3),
        ],
    )
    report = run_sync(library, service)
    assert kept(library) == {"m1": [1, 3]}
    assert report.messages == [
        "Version 2 of “Teapot” from the account was skipped: its format “fbx” is not one "
        "this version of Kiln Studio can open."
    ]
    assert library.check() == []


def test_one_unreadable_item_does_not_abort_the_rest_of_the_feed(
    service: HostileService, library: Library
) -> None:
    publish(service, "m1", "Teapot", [version_json(service, "v1", "m1", 1)])
    publish(service, "m2", "Kettle", [version_json(service, "w1", "m2", 1)])
    broken_version = version_json(service, "v2", "m1", 2) | {"number": "many"}
    naive_version = version_json(service, "v3", "m1", 3) | {"created_at": "2026-01-02T03:04:05"}
    huge_number = version_json(service, "v4", "m1", 2**40)
    service.models["m1"]["versions"] += [broken_version, naive_version, huge_number]
    service.feed["versions"] += [broken_version, naive_version, huge_number]
    service.feed["models"].append({"uid": "m3", "name": 7})
    service.feed["models"].append(model_json("../m4", "Escape", None))
    service.feed["active"].append({"model_uid": "m1"})
    service.feed["tombstones"].append({"kind": "universe", "uid": "m2"})

    report = run_sync(library, service)

    assert kept(library) == {"m1": [1], "m2": [1]}
    assert sorted(report.messages) == sorted(
        [
            "A version from the account was skipped: this version of Kiln Studio can't read it.",
            "A model from the account was skipped: this version of Kiln Studio can't read it.",
            "A change of active version from the account was skipped: this version of Kiln "
            "Studio can't read it.",
            "A deletion from the account was skipped: this version of Kiln Studio can't read it.",
            "A model from the account was skipped: its identifier is not one this library can "
            "use as a folder name.",
            "Version 3 of “Teapot” from the account was skipped: its date has no time zone.",
            f"Version {2**40} of “Teapot” from the account was skipped: its number {2**40} is "
            "out of range.",
        ]
    ), report.messages
    assert "/v1/models/../m4" not in service.requests
    assert library.check() == []


@pytest.mark.parametrize(
    "feed",
    [b"not json", b"[]", b'{"cursor": "x"}', b'{"cursor": 99999999999999999999999}',
     b'{"cursor": 1, "models": {}}', b"[" * 100_000 + b"]" * 100_000],
)  # fmt: skip
def test_a_feed_that_cannot_be_read_at_all_is_one_plain_error(
    service: HostileService, library: Library, feed: bytes
) -> None:
    service.raw_feed = feed
    with pytest.raises(SyncError, match="can't read"):
        run_sync(library, service)
    assert library.list_models() == []
