"""Conformance of the Tripo V3 emulator: raw httpx against the running server.

Shapes come from the tripo3d 1.0.0 SDK (client.py, _http.py, models.py) and the error table
of providers.md §2.7 / §2.11.
"""

from __future__ import annotations

import io
import socket
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.emulators import Clock, TripoEmulator

KEY = "tsk_test_key_0001"
OTHER = "tsk_test_key_0002"
AUTH = {"Authorization": f"Bearer {KEY}"}
AUTH2 = {"Authorization": f"Bearer {OTHER}"}
MODEL = "v2.5-20250123"


def image_bytes(fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 120, 200)).save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture
def api(tripo: TripoEmulator) -> httpx.Client:
    tripo.add_key(KEY, balance=1000)
    tripo.add_key(OTHER, balance=1000)
    with httpx.Client(base_url=tripo.base_url, timeout=5) as client:
        yield client


def ok(r: httpx.Response) -> dict:
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["code"] == 0
    assert body["status"] == "success"
    assert set(body) == {"code", "status", "data"}
    return body["data"]


def error(r: httpx.Response, status: int, code: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"code", "status", "message", "suggestion", "request_id"}
    assert body["code"] == code
    assert body["status"] == "error"
    assert body["message"]
    assert body["request_id"] == r.headers["X-Tripo-Trace-ID"]
    return body


def text_task(api: httpx.Client, prompt: str = "a small cat", **extra: object) -> str:
    body = {"prompt": prompt, "model": MODEL, **extra}
    return ok(api.post("/generation/text-to-model", json=body, headers=AUTH))["task_id"]


def upload(api: httpx.Client, data: bytes | None = None, headers: dict = AUTH) -> str:
    files = {"file": ("view.png", data or image_bytes(), "image/png")}
    token = ok(api.post("/files", files=files, headers=headers))["file_token"]
    assert token.startswith("file_")
    uuid.UUID(token.removeprefix("file_"))
    return token


def task(api: httpx.Client, task_id: str) -> dict:
    return ok(api.get(f"/tasks/{task_id}", headers=AUTH))


def balance(api: httpx.Client, headers: dict = AUTH) -> dict:
    return ok(api.get("/account/balance", headers=headers))


# --------------------------------------------------------------------------- server


def test_starts_fast_and_stops_cleanly() -> None:
    threads_before = set(threading.enumerate())
    started = time.monotonic()
    with TripoEmulator(Clock()) as tripo:
        assert time.monotonic() - started < 1.0
        assert tripo.base_url == f"http://127.0.0.1:{tripo.port}/v3"
        port = tripo.port
    assert set(threading.enumerate()) <= threads_before
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", port), timeout=0.5),
    ):
        pass


def test_every_api_response_carries_a_trace_id(api: httpx.Client) -> None:
    seen = set()
    for r in (
        api.get("/account/balance", headers=AUTH),
        api.get("/account/balance"),
        api.get("/tasks/nope", headers=AUTH),
    ):
        trace = r.headers["X-Tripo-Trace-ID"]
        uuid.UUID(trace)
        seen.add(trace)
    assert len(seen) == 3
    mine = str(uuid.uuid4())
    r = api.get("/account/balance", headers={**AUTH, "X-Tripo-Trace-ID": mine})
    assert r.headers["X-Tripo-Trace-ID"] == mine
    r = api.get("/tasks/nope", headers={**AUTH, "X-Tripo-Trace-ID": mine})
    assert r.json()["request_id"] == mine


# --------------------------------------------------------------------------- auth & scoping


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer tsk_unknown"}, {"Authorization": "tsk_x"}]
)
def test_missing_or_unknown_key_is_401_code_2(api: httpx.Client, headers: dict) -> None:
    r = api.post("/generation/text-to-model", json={"prompt": "x", "model": MODEL}, headers=headers)
    error(r, 401, 2)
    error(api.get("/account/balance", headers=headers), 401, 2)


def test_tasks_are_scoped_to_the_creating_key(api: httpx.Client, tripo: TripoEmulator) -> None:
    task_id = text_task(api)
    error(api.get(f"/tasks/{task_id}", headers=AUTH2), 404, 2001)
    error(api.get(f"/tasks/{uuid.uuid4()}", headers=AUTH), 404, 2001)
    assert tripo.create_count(KEY) == 1
    assert tripo.create_count(OTHER) == 0


# --------------------------------------------------------------------------- status by clock


def test_status_progression_is_driven_only_by_the_clock(
    api: httpx.Client, tripo: TripoEmulator, clock: Clock
) -> None:
    tripo.queue_seconds, tripo.run_seconds = 5, 30
    task_id = text_task(api, negative_prompt="blurry")
    first = task(api, task_id)
    assert first["task_id"] == task_id
    assert first["type"] == "text_to_model"
    assert first["status"] == "queued"
    assert first["progress"] == 0
    assert first["input"] == {"prompt": "a small cat", "model": MODEL, "negative_prompt": "blurry"}
    assert first["output"] == {}
    assert first["queuing_num"] == 0
    assert first["running_left_time"] == 35
    assert first["completed_at"] is None
    assert datetime.fromisoformat(first["created_at"]).timestamp() == 1_800_000_000
    assert first["created_at"].endswith("Z")
    time.sleep(0.05)
    assert task(api, task_id) == first

    seen = []
    clock.advance(2)
    for _ in range(7):
        clock.advance(4)
        snapshot = task(api, task_id)
        assert task(api, task_id) == snapshot
        seen.append(snapshot)
    assert all(s["status"] == "running" for s in seen)
    progress = [s["progress"] for s in seen]
    left = [s["running_left_time"] for s in seen]
    assert progress == sorted(progress)
    assert all(1 <= p <= 99 for p in progress)
    assert left == sorted(left, reverse=True)
    assert all(s["queuing_num"] == -1 for s in seen)

    clock.advance(5)
    done = task(api, task_id)
    assert done["status"] == "success"
    assert done["progress"] == 100
    assert set(done["output"]) == {"model_url", "rendered_image_url"}
    assert done["output"]["model_url"].startswith(f"{tripo_origin(api)}/assets/tripo/{task_id}/")
    assert done["queuing_num"] == -1
    assert done["running_left_time"] == -1
    assert datetime.fromisoformat(done["completed_at"]).timestamp() == 1_800_000_035
    assert done["credits_consumed"] == 20
    assert "error_code" not in done


def tripo_origin(api: httpx.Client) -> str:
    return str(api.base_url).removesuffix("/").removesuffix("/v3")


def test_queuing_num_counts_tasks_ahead(api: httpx.Client, tripo: TripoEmulator) -> None:
    text_task(api)
    second = text_task(api)
    assert task(api, second)["queuing_num"] == 1


# --------------------------------------------------------------------------- credits


def test_costs_frozen_and_balance(api: httpx.Client, tripo: TripoEmulator, clock: Clock) -> None:
    assert balance(api) == {"balance": 1000.0, "frozen": 0.0}
    text_task(api)  # textured by default: 20
    assert balance(api) == {"balance": 980.0, "frozen": 20.0}
    text_task(api, texture=False, pbr=False)  # 10
    token = upload(api)
    ok(api.post("/generation/image-to-model", json={"input": token, "model": MODEL}, headers=AUTH))
    body = {"inputs": [token, None, upload(api), None], "model": MODEL}
    ok(api.post("/generation/multiview-to-model", json=body, headers=AUTH))  # 30
    assert balance(api) == {"balance": 910.0, "frozen": 90.0}
    text_task(api, model="P1-20260311")  # 40
    text_task(api, texture_quality="detailed", quad=True)  # 20 + 10 + 5
    assert balance(api)["balance"] == 835
    clock.advance(tripo.queue_seconds + tripo.run_seconds)
    assert balance(api) == {"balance": 835.0, "frozen": 0.0}
    assert balance(api, AUTH2) == {"balance": 1000.0, "frozen": 0.0}


def test_insufficient_credits_is_403_code_2010(api: httpx.Client, tripo: TripoEmulator) -> None:
    tripo.set_balance(KEY, 19)
    r = api.post("/generation/text-to-model", json={"prompt": "cat", "model": MODEL}, headers=AUTH)
    error(r, 403, 2010)
    assert tripo.create_count() == 0
    assert balance(api)["balance"] == 19


def test_failed_task_is_refunded(api: httpx.Client, tripo: TripoEmulator, clock: Clock) -> None:
    tripo.fail_prompts_containing("explode")
    task_id = text_task(api, "it will EXPLODE")
    clock.advance(10)
    running = task(api, task_id)
    assert running["status"] == "running"
    clock.advance(100)
    failed = task(api, task_id)
    assert failed["status"] == "failed"
    assert failed["error_code"] == 1001
    assert failed["error_msg"]
    assert failed["credits_consumed"] == 0
    assert failed["output"] == {}
    assert failed["progress"] >= running["progress"]
    assert failed["queuing_num"] == -1
    assert failed["running_left_time"] == -1
    assert balance(api) == {"balance": 1000.0, "frozen": 0.0}


def test_content_refusal_is_failed_with_2008(
    api: httpx.Client, tripo: TripoEmulator, clock: Clock
) -> None:
    tripo.refuse_prompts_containing("forbidden")
    task_id = text_task(api, "something forbidden")
    clock.advance(tripo.queue_seconds)
    refused = task(api, task_id)
    assert refused["status"] == "failed"
    assert refused["error_code"] == 2008
    assert balance(api)["balance"] == 1000


def test_content_refusal_at_create_is_400_2008(api: httpx.Client, tripo: TripoEmulator) -> None:
    tripo.refuse_prompts_containing("forbidden", at="create")
    r = api.post(
        "/generation/text-to-model", json={"prompt": "FORBIDDEN", "model": MODEL}, headers=AUTH
    )
    error(r, 400, 2008)
    assert tripo.create_count() == 0


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"prompt": "cat"}, 400, 1004),  # model_version required in V3
        ({"prompt": "cat", "model": ""}, 400, 1004),
        ({"prompt": "cat", "model": "v9.9-20990101"}, 400, 2017),
        ({"prompt": "cat", "model": "v1.3-20240522"}, 400, 2015),
        ({"prompt": "x" * 1025, "model": MODEL}, 400, 1004),
        ({"prompt": "", "model": MODEL}, 400, 1004),
        ({"model": MODEL}, 400, 1004),
        ({"prompt": "cat", "model": MODEL, "negative_prompt": "n" * 256}, 400, 1004),
        ({"prompt": "cat", "model": MODEL, "texture": "yes"}, 400, 1004),
    ],
)
def test_text_to_model_validation(api: httpx.Client, body: dict, status: int, code: int) -> None:
    error(api.post("/generation/text-to-model", json=body, headers=AUTH), status, code)


def test_model_version_alias_and_prompt_limit(api: httpx.Client) -> None:
    body = {"prompt": "x" * 1024, "model_version": "v3.0-20250812"}
    ok(api.post("/generation/text-to-model", json=body, headers=AUTH))


def test_malformed_json_is_1003(api: httpx.Client) -> None:
    r = api.post("/generation/text-to-model", content=b"[1,", headers=AUTH)
    error(r, 400, 1003)


def test_image_inputs(api: httpx.Client, tripo: TripoEmulator, clock: Clock) -> None:
    token = upload(api)
    accepted = [
        {"input": token},
        {"input": "https://example.com/chair.jpg"},
        {"file": {"type": "png", "file_token": token}},
        {"file": {"type": "jpg", "url": "https://example.com/chair.jpg"}},
    ]
    ids = [
        ok(api.post("/generation/image-to-model", json={**b, "model": MODEL}, headers=AUTH))[
            "task_id"
        ]
        for b in accepted
    ]
    clock.advance(100)
    done = task(api, ids[0])
    assert done["type"] == "image_to_model"
    assert done["status"] == "success"
    assert done["credits_consumed"] == 30


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, 1004),
        ({"input": ""}, 400, 1004),
        ({"input": "data:image/png;base64,iVBORw0KGgo="}, 400, 1004),  # data URIs are dead in V3
        ({"input": "file_00000000-0000-0000-0000-000000000000"}, 404, 2019),
        ({"input": "not-a-token"}, 404, 2019),
        ({"file": {"type": "png", "file_token": "file_nope"}}, 404, 2019),
        ({"file": {"type": "png", "data": "iVBORw0KGgo="}}, 400, 1004),
        ({"input": str(uuid.uuid4())}, 404, 2001),
    ],
)
def test_image_input_errors(api: httpx.Client, body: dict, status: int, code: int) -> None:
    r = api.post("/generation/image-to-model", json={**body, "model": MODEL}, headers=AUTH)
    error(r, status, code)


def test_file_tokens_are_scoped_to_the_uploading_key(api: httpx.Client) -> None:
    token = upload(api, headers=AUTH2)
    r = api.post("/generation/image-to-model", json={"input": token, "model": MODEL}, headers=AUTH)
    error(r, 404, 2019)


def test_upload_accepts_png_jpeg_webp_only(api: httpx.Client, tripo: TripoEmulator) -> None:
    for fmt in ("PNG", "JPEG", "WEBP"):
        upload(api, image_bytes(fmt))
    assert sorted(kind for _, kind, _ in tripo.files.values()) == ["jpeg", "png", "webp"]
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, format="GIF")
    for data in (gif.getvalue(), b"just text"):
        r = api.post("/files", files={"file": ("x.png", data, "image/png")}, headers=AUTH)
        error(r, 400, 2004)
    r = api.post("/files", files={"file": ("x.png", b"", "image/png")}, headers=AUTH)
    error(r, 400, 2003)
    r = api.post("/files", files={"other": ("x.png", image_bytes(), "image/png")}, headers=AUTH)
    error(r, 400, 1004)
    error(api.post("/files", files={"file": ("x.png", image_bytes())}), 401, 2)


def test_multiview_slot_rules(api: httpx.Client, clock: Clock) -> None:
    a, b = upload(api), upload(api)
    url = "/generation/multiview-to-model"

    def post(slots: object) -> httpx.Response:
        return api.post(url, json={"inputs": slots, "model": MODEL}, headers=AUTH)

    error(post([a, b, None]), 400, 1004)  # not 4 slots
    error(post([a, b, None, None, None]), 400, 1004)
    error(post([None, a, b, None]), 400, 1004)  # front required
    error(post([a, None, None, None]), 400, 1004)  # at least 2 views
    error(post([a, "file_missing", None, None]), 404, 2019)
    task_id = ok(post([a, None, b, None]))["task_id"]
    files = [{"type": "png", "file_token": a}, {}, {}, {"type": "png", "file_token": b}]
    ok(api.post(url, json={"files": files, "model": MODEL}, headers=AUTH))
    clock.advance(100)
    done = task(api, task_id)
    assert done["type"] == "multiview_to_model"
    assert done["status"] == "success"
    assert done["credits_consumed"] == 30


# --------------------------------------------------------------------------- 429 & 5xx


def test_rate_limit_next_body_and_retry_after(api: httpx.Client, tripo: TripoEmulator) -> None:
    tripo.rate_limit_next(count=1, retry_after=7)
    r = api.post("/generation/text-to-model", json={"prompt": "cat", "model": MODEL}, headers=AUTH)
    body = error(r, 429, 2000)
    assert body["message"] == "You have exceeded the limit of generation"
    assert body["suggestion"] == "Try again later. You can also check `Retry-After` header."
    assert r.headers["Retry-After"] == "7"
    assert tripo.create_count() == 0
    text_task(api)


def test_rate_limit_without_retry_after(api: httpx.Client, tripo: TripoEmulator) -> None:
    tripo.rate_limit_next(retry_after=None, code=1007)
    r = api.get("/account/balance", headers=AUTH)
    error(r, 429, 1007)
    assert "Retry-After" not in r.headers


def test_concurrency_limit_per_group(api: httpx.Client, tripo: TripoEmulator, clock: Clock) -> None:
    tripo.max_concurrent_tasks = 2
    tripo.max_concurrent_tasks_p1 = 1
    text_task(api)
    text_task(api)
    r = api.post("/generation/text-to-model", json={"prompt": "c", "model": MODEL}, headers=AUTH)
    error(r, 429, 2000)
    assert r.headers["Retry-After"] == "10"
    text_task(api, model="P1-20260311")  # its own bucket
    r = api.post(
        "/generation/text-to-model", json={"prompt": "c", "model": "P1-20260311"}, headers=AUTH
    )
    error(r, 429, 2000)
    clock.advance(100)
    text_task(api)


@pytest.mark.parametrize("status", [500, 503])
def test_fail_next_get_json(api: httpx.Client, tripo: TripoEmulator, status: int) -> None:
    task_id = text_task(api)
    tripo.fail_next_get(status=status)
    error(api.get(f"/tasks/{task_id}", headers=AUTH), status, 1000)
    task(api, task_id)


def test_fail_next_get_502_gateway_page(api: httpx.Client, tripo: TripoEmulator) -> None:
    tripo.fail_next_get(status=502, count=2, path_prefix="/v3/tasks")
    task_id = text_task(api)
    balance(api)  # other paths unaffected
    for _ in range(2):
        r = api.get(f"/tasks/{task_id}", headers=AUTH)
        assert r.status_code == 502
        assert r.headers["content-type"].startswith("text/html")
    task(api, task_id)


def test_no_cancel_route(api: httpx.Client) -> None:
    task_id = text_task(api)
    r = api.delete(f"/tasks/{task_id}", headers=AUTH)
    error(r, 405, 1004)
    assert r.status_code == 405
    assert task(api, task_id)["status"] == "queued"


# --------------------------------------------------------------------------- batch & usage


def test_tasks_list_and_usage(api: httpx.Client, clock: Clock) -> None:
    first = text_task(api)
    clock.advance(1)
    second = text_task(api, texture=False, pbr=False)
    other = ok(
        api.post("/generation/text-to-model", json={"prompt": "x", "model": MODEL}, headers=AUTH2)
    )["task_id"]
    data = ok(api.post("/tasks/list", json={"task_ids": [first, other, second]}, headers=AUTH))
    assert set(data["tasks"]) == {first, second}
    assert data["missed"] == [other]
    assert data["tasks"][first]["task_id"] == first
    error(api.post("/tasks/list", json={"task_ids": []}, headers=AUTH), 400, 1004)
    items = ok(api.get("/account/usage", headers=AUTH))["items"]
    assert [i["task_id"] for i in items] == [second, first]
    assert items[0]["credits_consumed"] == 10
    assert set(items[0]) == {"task_id", "type", "status", "created_at", "credits_consumed"}


# --------------------------------------------------------------------------- assets


def succeeded(api: httpx.Client, tripo: TripoEmulator, clock: Clock, **extra: object) -> dict:
    task_id = text_task(api, **extra)
    clock.advance(tripo.queue_seconds + tripo.run_seconds)
    return task(api, task_id)


def test_outputs_are_real_files(
    api: httpx.Client, tripo: TripoEmulator, clock: Clock, tmp_path: Path
) -> None:
    from studio.meshes.loading import load

    done = succeeded(api, tripo, clock)
    url = done["output"]["model_url"]
    assert httpx.URL(url).path.endswith("/model.glb")
    assert int(httpx.URL(url).params["Expires"]) == int(clock.now() + tripo.link_ttl)
    r = httpx.get(url)
    assert r.status_code == 200
    assert "x-tripo-trace-id" not in r.headers  # the CDN is not the API
    path = tmp_path / "model.glb"
    path.write_bytes(r.content)
    assert load(path).n_faces == 12
    render = httpx.get(done["output"]["rendered_image_url"])
    assert render.content.startswith(b"\x89PNG")


def test_quad_outputs_fbx(api: httpx.Client, tripo: TripoEmulator, clock: Clock) -> None:
    done = succeeded(api, tripo, clock, quad=True)
    assert httpx.URL(done["output"]["model_url"]).path.endswith("/model.fbx")
    assert httpx.get(done["output"]["model_url"]).content.startswith(b"Kaydara FBX Binary")


def test_links_expire_and_a_fresh_read_renews_them(
    api: httpx.Client, tripo: TripoEmulator, clock: Clock
) -> None:
    assert tripo.link_ttl == 300
    done = succeeded(api, tripo, clock)
    url = done["output"]["model_url"]
    clock.advance(301)
    assert httpx.get(url).status_code == 403
    fresh = task(api, done["task_id"])["output"]["model_url"]
    assert httpx.get(fresh).status_code == 200


def test_asset_request_with_authorization_is_rejected(
    api: httpx.Client, tripo: TripoEmulator, clock: Clock
) -> None:
    url = succeeded(api, tripo, clock)["output"]["model_url"]
    assert httpx.get(url, headers=AUTH).status_code == 403
    assert [leak.authorization for leak in tripo.leaked_auth] == [f"Bearer {KEY}"]


# --------------------------------------------------------------------------- ambiguity


def test_stalled_create_is_accepted_although_the_client_timed_out(
    api: httpx.Client, tripo: TripoEmulator
) -> None:
    tripo.stall_next_create(seconds=1.5)
    with pytest.raises(httpx.ReadTimeout):
        api.post(
            "/generation/text-to-model",
            json={"prompt": "cat", "model": MODEL},
            headers=AUTH,
            timeout=httpx.Timeout(5, read=0.3),
        )
    assert tripo.create_count(KEY) == 1
    assert balance(api)["balance"] == 980
    items = ok(api.get("/account/usage", headers=AUTH))["items"]
    assert [i["task_id"] for i in items] == [tripo.tasks[0].id]


def test_drop_next_cuts_a_task_read(api: httpx.Client, tripo: TripoEmulator) -> None:
    task_id = text_task(api)
    tripo.drop_next(path_prefix="/v3/tasks/")
    with pytest.raises(httpx.RemoteProtocolError):
        api.get(f"/tasks/{task_id}", headers=AUTH)
    task(api, task_id)


def test_drop_next_cuts_a_download(api: httpx.Client, tripo: TripoEmulator, clock: Clock) -> None:
    url = succeeded(api, tripo, clock)["output"]["model_url"]
    tripo.drop_next(path_prefix="/assets/")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url)
    assert httpx.get(url).status_code == 200
