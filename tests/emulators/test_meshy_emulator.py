"""Conformance of the Meshy emulator: raw httpx against the running server.

Each test names the documented behaviour (providers.md §1 / §5.2) it pins down.
"""

from __future__ import annotations

import base64
import io
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.emulators import Clock, MeshyEmulator
from tests.emulators.sse import events

KEY = "msy_test_key_0001"
OTHER = "msy_test_key_0002"
AUTH = {"Authorization": f"Bearer {KEY}"}
AUTH2 = {"Authorization": f"Bearer {OTHER}"}


def png_data_uri() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.fixture
def api(meshy: MeshyEmulator) -> httpx.Client:
    meshy.add_key(KEY, balance=1000)
    meshy.add_key(OTHER, balance=1000)
    with httpx.Client(base_url=meshy.base_url, timeout=5) as client:
        yield client


def preview(api: httpx.Client, prompt: str = "a monster mask", **extra: object) -> str:
    r = api.post(
        "/v2/text-to-3d", json={"mode": "preview", "prompt": prompt, **extra}, headers=AUTH
    )
    assert r.status_code == 202, r.text
    return r.json()["result"]


def get(api: httpx.Client, task_id: str, family: str = "/v2/text-to-3d") -> dict:
    r = api.get(f"{family}/{task_id}", headers=AUTH)
    assert r.status_code == 200, r.text
    return r.json()


# --------------------------------------------------------------------------- server


def test_starts_fast_and_stops_cleanly() -> None:
    threads_before = set(threading.enumerate())
    started = time.monotonic()
    emulator = MeshyEmulator(Clock())
    with emulator as meshy:
        assert time.monotonic() - started < 1.0
        assert meshy.base_url == f"http://127.0.0.1:{meshy.port}/openapi"
        assert httpx.get(meshy.base_url + "/v1/balance").status_code == 401
        port = meshy.port
    assert set(threading.enumerate()) <= threads_before
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", port), timeout=0.5),
    ):
        pass


# --------------------------------------------------------------------------- auth & scoping


def test_missing_or_unknown_key_is_401_with_message(api: httpx.Client) -> None:
    for headers in ({}, {"Authorization": "Bearer msy_nope"}, {"Authorization": "Basic x"}):
        r = api.post("/v2/text-to-3d", json={"mode": "preview", "prompt": "x"}, headers=headers)
        assert r.status_code == 401
        assert r.json() == {"message": "Invalid API key"}
        assert api.get("/v1/balance", headers=headers).status_code == 401


def test_tasks_are_scoped_to_the_creating_key(api: httpx.Client, meshy: MeshyEmulator) -> None:
    task_id = preview(api)
    r = api.get(f"/v2/text-to-3d/{task_id}", headers=AUTH2)
    assert r.status_code == 404
    assert r.json() == {"message": "Task not found"}
    assert api.get("/v2/text-to-3d", headers=AUTH2).json() == []
    assert api.delete(f"/v2/text-to-3d/{task_id}", headers=AUTH2).status_code == 404
    # A text-to-3d id is not an image-to-3d id either.
    assert api.get(f"/v1/image-to-3d/{task_id}", headers=AUTH).status_code == 404
    assert meshy.create_count(KEY) == 1
    assert meshy.create_count(OTHER) == 0


# --------------------------------------------------------------------------- status by clock


def test_status_progression_is_driven_only_by_the_clock(
    api: httpx.Client, meshy: MeshyEmulator, clock: Clock
) -> None:
    meshy.queue_seconds, meshy.run_seconds = 5, 30
    task_id = preview(api, target_formats=["glb", "obj"])
    first = get(api, task_id)
    assert first["status"] == "PENDING"
    assert first["progress"] == 0
    assert first["type"] == "text-to-3d-preview"
    assert first["created_at"] == 1_800_000_000_000
    assert first["started_at"] == 0
    assert first["finished_at"] == 0
    assert first["model_urls"] == {}
    assert first["task_error"] == {"message": ""}
    assert first["prompt"] == "a monster mask"
    time.sleep(0.05)  # real time passing changes nothing
    assert get(api, task_id) == first

    seen = []
    clock.advance(2)
    for _ in range(7):
        clock.advance(4)
        task = get(api, task_id)
        assert get(api, task_id) == task  # repeated reads are consistent snapshots
        seen.append((task["status"], task["progress"]))
    statuses = [s for s, _ in seen]
    progress = [p for _, p in seen]
    assert statuses[0] == "IN_PROGRESS"
    assert progress == sorted(progress)
    assert all(1 <= p <= 99 for s, p in seen if s == "IN_PROGRESS")
    assert len(set(progress)) > 3

    clock.advance(5)
    done = get(api, task_id)
    assert done["status"] == "SUCCEEDED"
    assert done["progress"] == 100
    assert done["started_at"] == 1_800_000_005_000
    assert done["finished_at"] == 1_800_000_035_000
    assert set(done["model_urls"]) == {"glb", "obj", "mtl"}  # only what was asked (+ the MTL)
    assert done["thumbnail_url"].startswith(meshy.origin + "/assets/")
    assert done["consumed_credits"] == 20
    assert done["task_error"] == {"message": ""}
    assert "texture_urls" not in done  # a preview is untextured


def test_preceding_tasks_counts_down(api: httpx.Client, meshy: MeshyEmulator, clock: Clock) -> None:
    meshy.queue_seconds = 10
    first = preview(api)
    clock.advance(5)
    second = preview(api)
    assert get(api, second)["preceding_tasks"] == 1
    clock.advance(5)
    assert get(api, first)["status"] == "IN_PROGRESS"
    assert get(api, second)["preceding_tasks"] == 0


# --------------------------------------------------------------------------- credits


def test_costs_are_debited_at_create(api: httpx.Client, meshy: MeshyEmulator, clock: Clock) -> None:
    meshy.max_queue_tasks = None
    balance = lambda: api.get("/v1/balance", headers=AUTH).json()["balance"]  # noqa: E731
    assert balance() == 1000
    preview_id = preview(api)
    assert balance() == 980
    preview(api, ai_model="meshy-5")
    assert balance() == 975
    clock.advance(100)
    r = api.post(
        "/v2/text-to-3d",
        json={"mode": "refine", "preview_task_id": preview_id, "enable_pbr": True},
        headers=AUTH,
    )
    assert r.status_code == 202
    assert balance() == 965
    r = api.post("/v1/image-to-3d", json={"image_url": png_data_uri()}, headers=AUTH)
    assert r.status_code == 202
    assert balance() == 935
    body = {"image_urls": ["https://example.com/a.png", png_data_uri()], "should_texture": False}
    assert api.post("/v1/multi-image-to-3d", json=body, headers=AUTH).status_code == 202
    assert balance() == 915
    assert meshy.balance(KEY) == 915


def test_insufficient_credits_is_402_and_creates_nothing(
    api: httpx.Client, meshy: MeshyEmulator
) -> None:
    meshy.set_balance(KEY, 19)
    r = api.post("/v2/text-to-3d", json={"mode": "preview", "prompt": "cat"}, headers=AUTH)
    assert r.status_code == 402
    assert r.json() == {"message": "Insufficient credits"}
    assert meshy.create_count(KEY) == 0
    assert api.get("/v1/balance", headers=AUTH).json() == {"balance": 19}


def test_failed_task_refunds_and_reports_server_error(
    api: httpx.Client, meshy: MeshyEmulator, clock: Clock
) -> None:
    meshy.fail_prompts_containing("explode")
    task_id = preview(api, "an EXPLODED barrel")
    assert meshy.balance(KEY) == 980
    clock.advance(10)
    running = get(api, task_id)
    assert running["status"] == "IN_PROGRESS"
    clock.advance(100)
    failed = get(api, task_id)
    assert failed["status"] == "FAILED"
    assert failed["task_error"] == {"message": "Internal server error.", "type": "server_error"}
    assert failed["consumed_credits"] == 0
    assert failed["progress"] >= running["progress"]  # left where it stopped, never backwards
    assert failed["model_urls"] == {}
    assert api.get("/v1/balance", headers=AUTH).json() == {"balance": 1000}


def test_content_refusal_ends_the_task_failed(
    api: httpx.Client, meshy: MeshyEmulator, clock: Clock
) -> None:
    meshy.refuse_prompts_containing("forbidden")
    task_id = preview(api, "a forbidden thing")
    clock.advance(meshy.queue_seconds)
    task = get(api, task_id)
    assert task["status"] == "FAILED"
    assert task["task_error"]["type"] == "content_policy_violation"
    assert "content policy" in task["task_error"]["message"]
    assert task["consumed_credits"] == 0
    assert meshy.balance(KEY) == 1000


def test_content_refusal_at_create_is_400(api: httpx.Client, meshy: MeshyEmulator) -> None:
    meshy.refuse_prompts_containing("forbidden", at="create")
    r = api.post("/v2/text-to-3d", json={"mode": "preview", "prompt": "Forbidden"}, headers=AUTH)
    assert r.status_code == 400
    assert "content policy" in r.json()["message"]
    assert meshy.create_count() == 0
    assert meshy.balance(KEY) == 1000


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "preview", "prompt": "x" * 601},
        {"mode": "preview", "prompt": ""},
        {"mode": "preview"},
        {"prompt": "no mode"},
        {"mode": "draft", "prompt": "cat"},
        {"mode": "preview", "prompt": "cat", "ai_model": "meshy-4"},
        {"mode": "preview", "prompt": "cat", "target_polycount": 99},
        {"mode": "preview", "prompt": "cat", "target_polycount": 300_001},
        {"mode": "preview", "prompt": "cat", "target_formats": ["dae"]},
        {"mode": "refine", "preview_task_id": "018a210d-8ba4-705c-b111-1f1776f7f578"},
    ],
)
def test_text_to_3d_validation_is_400(api: httpx.Client, body: dict) -> None:
    r = api.post("/v2/text-to-3d", json=body, headers=AUTH)
    assert r.status_code == 400
    assert set(r.json()) == {"message"}


def test_prompt_of_600_characters_is_accepted(api: httpx.Client) -> None:
    preview(api, "x" * 600)


def test_malformed_json_is_400(api: httpx.Client) -> None:
    r = api.post("/v2/text-to-3d", content=b"{not json", headers=AUTH)
    assert r.status_code == 400
    assert "message" in r.json()


def test_refine_needs_a_succeeded_preview(
    api: httpx.Client, meshy: MeshyEmulator, clock: Clock
) -> None:
    preview_id = preview(api)
    body = {"mode": "refine", "preview_task_id": preview_id, "texture_prompt": "bronze"}
    r = api.post("/v2/text-to-3d", json=body, headers=AUTH)
    assert r.status_code == 400
    assert "SUCCEEDED" in r.json()["message"]
    clock.advance(meshy.queue_seconds + meshy.run_seconds)
    # Another key cannot refine it.
    assert api.post("/v2/text-to-3d", json=body, headers=AUTH2).status_code == 400
    r = api.post("/v2/text-to-3d", json={**body, "enable_pbr": True}, headers=AUTH)
    assert r.status_code == 202
    refine_id = r.json()["result"]
    task = get(api, refine_id)
    assert task["type"] == "text-to-3d-refine"
    assert task["preview_task_id"] == preview_id
    assert task["texture_prompt"] == "bronze"
    assert task["consumed_credits"] == 10
    clock.advance(meshy.queue_seconds + meshy.run_seconds)
    task = get(api, refine_id)
    assert task["status"] == "SUCCEEDED"
    assert set(task["texture_urls"][0]) == {"base_color", "metallic", "normal", "roughness"}
    assert set(task["model_urls"]) == {"glb", "obj", "mtl", "fbx", "stl", "usdz"}


@pytest.mark.parametrize(
    "image_url",
    [
        "ftp://example.com/a.png",
        "example.com/a.png",
        "data:image/gif;base64,R0lGODlhAQABAAAAACw=",
        "data:image/png;base64,",
        "data:image/png;base64,@@not-base64@@",
        "data:image/png,rawbytes",
        42,
    ],
)
def test_image_url_must_be_http_or_png_jpeg_data_uri(api: httpx.Client, image_url: object) -> None:
    r = api.post("/v1/image-to-3d", json={"image_url": image_url}, headers=AUTH)
    assert r.status_code == 400
    assert set(r.json()) == {"message"}


def test_image_to_3d_accepts_urls_and_data_uris(
    api: httpx.Client, meshy: MeshyEmulator, clock: Clock
) -> None:
    jpeg = "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8\xff\xe0jpeg").decode()
    ids = []
    for url in ("https://example.com/chair.jpg", png_data_uri(), jpeg):
        r = api.post("/v1/image-to-3d", json={"image_url": url, "enable_pbr": True}, headers=AUTH)
        assert r.status_code == 202, r.text
        ids.append(r.json()["result"])
    clock.advance(100)
    task = get(api, ids[0], "/v1/image-to-3d")
    assert task["type"] == "image-to-3d"
    assert task["status"] == "SUCCEEDED"
    assert task["consumed_credits"] == 30
    assert "metallic" in task["texture_urls"][0]


@pytest.mark.parametrize("count", [0, 5])
def test_multi_image_needs_one_to_four_images(api: httpx.Client, count: int) -> None:
    body = {"image_urls": [png_data_uri()] * count}
    r = api.post("/v1/multi-image-to-3d", json=body, headers=AUTH)
    assert r.status_code == 400


def test_multi_image_to_3d(api: httpx.Client, clock: Clock) -> None:
    body = {"image_urls": [png_data_uri(), "https://example.com/b.png", png_data_uri()]}
    r = api.post("/v1/multi-image-to-3d", json=body, headers=AUTH)
    assert r.status_code == 202
    clock.advance(100)
    task = get(api, r.json()["result"], "/v1/multi-image-to-3d")
    assert task["type"] == "multi-image-to-3d"
    assert task["status"] == "SUCCEEDED"
    assert task["consumed_credits"] == 30


# --------------------------------------------------------------------------- list & delete


def test_list_is_a_bare_array_paged_and_sorted(
    api: httpx.Client, meshy: MeshyEmulator, clock: Clock
) -> None:
    meshy.max_queue_tasks = None
    meshy.set_balance(KEY, 10_000)
    ids = []
    for i in range(55):
        ids.append(preview(api, f"thing {i}"))
        clock.advance(1)
    r = api.get("/v2/text-to-3d", headers=AUTH)
    assert isinstance(r.json(), list)
    assert [t["id"] for t in r.json()] == ids[::-1][:10]  # default: 10, newest first
    page = api.get("/v2/text-to-3d", params={"page_size": 100}, headers=AUTH).json()
    assert len(page) == 50  # capped
    asc = api.get(
        "/v2/text-to-3d",
        params={"page_num": 2, "page_size": 20, "sort_by": "+created_at"},
        headers=AUTH,
    ).json()
    assert [t["id"] for t in asc] == ids[20:40]
    desc = api.get(
        "/v2/text-to-3d",
        params={"page_num": 3, "page_size": 25, "sort_by": "-created_at"},
        headers=AUTH,
    ).json()
    assert [t["id"] for t in desc] == ids[::-1][50:]
    assert api.get("/v1/image-to-3d", headers=AUTH).json() == []
    bad = api.get("/v2/text-to-3d", params={"sort_by": "name"}, headers=AUTH)
    assert bad.status_code == 400


def test_delete_makes_later_reads_404(api: httpx.Client) -> None:
    task_id = preview(api)
    r = api.delete(f"/v2/text-to-3d/{task_id}", headers=AUTH)
    assert r.status_code == 200
    r = api.get(f"/v2/text-to-3d/{task_id}", headers=AUTH)
    assert r.status_code == 404
    assert r.json() == {"message": "Task not found"}
    assert api.delete(f"/v2/text-to-3d/{task_id}", headers=AUTH).status_code == 404
    assert api.get("/v2/text-to-3d", headers=AUTH).json() == []


def test_deleting_a_pending_task_refunds_it_a_started_one_keeps_its_credits(
    api: httpx.Client, meshy: MeshyEmulator
) -> None:
    waiting = preview(api)
    assert meshy.balance(KEY) == 980
    assert api.delete(f"/v2/text-to-3d/{waiting}", headers=AUTH).status_code == 200
    assert meshy.balance(KEY) == 1000  # PENDING: given back
    started = preview(api)
    meshy.clock.advance(meshy.queue_seconds + 1)
    assert get(api, started)["status"] == "IN_PROGRESS"
    assert api.delete(f"/v2/text-to-3d/{started}", headers=AUTH).status_code == 200
    assert meshy.balance(KEY) == 980  # started: kept
    assert api.get("/v1/balance", headers=AUTH).json() == {"balance": 980}


# --------------------------------------------------------------------------- 429 & 5xx


def test_rate_limit_next_with_retry_after(api: httpx.Client, meshy: MeshyEmulator) -> None:
    meshy.rate_limit_next(count=2, retry_after=7)
    for _ in range(2):
        r = api.get("/v1/balance", headers=AUTH)
        assert r.status_code == 429
        assert r.json() == {"message": "RateLimitExceeded"}
        assert r.headers["Retry-After"] == "7"
    assert api.get("/v1/balance", headers=AUTH).status_code == 200


def test_rate_limit_without_retry_after(api: httpx.Client, meshy: MeshyEmulator) -> None:
    meshy.rate_limit_next(retry_after=None, message="NoMoreConcurrentTasks")
    r = api.post("/v2/text-to-3d", json={"mode": "preview", "prompt": "cat"}, headers=AUTH)
    assert r.status_code == 429
    assert r.json() == {"message": "NoMoreConcurrentTasks"}
    assert "Retry-After" not in r.headers
    assert meshy.create_count() == 0


def test_queue_limit_gives_no_more_concurrent_tasks(
    api: httpx.Client, meshy: MeshyEmulator, clock: Clock
) -> None:
    meshy.max_queue_tasks = 2
    preview(api)
    preview(api)
    r = api.post("/v2/text-to-3d", json={"mode": "preview", "prompt": "cat"}, headers=AUTH)
    assert r.status_code == 429
    assert r.json() == {"message": "NoMoreConcurrentTasks"}
    assert "Retry-After" not in r.headers
    assert meshy.balance(KEY) == 960
    clock.advance(100)
    preview(api)


@pytest.mark.parametrize(
    ("status", "message"),
    [(500, "Internal server error."), (503, "The server is busy. Please try again later.")],
)
def test_fail_next_get_json(
    api: httpx.Client, meshy: MeshyEmulator, status: int, message: str
) -> None:
    task_id = preview(api)
    meshy.fail_next_get(status=status, count=1)
    r = api.get(f"/v2/text-to-3d/{task_id}", headers=AUTH)
    assert r.status_code == status
    assert r.json() == {"message": message}
    assert api.get(f"/v2/text-to-3d/{task_id}", headers=AUTH).status_code == 200


def test_fail_next_get_502_is_a_gateway_page_and_spares_posts(
    api: httpx.Client, meshy: MeshyEmulator
) -> None:
    meshy.fail_next_get(status=502, count=1)
    preview(api)  # POSTs are not affected
    r = api.get("/v1/balance", headers=AUTH)
    assert r.status_code == 502
    assert r.headers["content-type"].startswith("text/html")


# --------------------------------------------------------------------------- assets


def succeeded(api: httpx.Client, meshy: MeshyEmulator, clock: Clock) -> dict:
    task_id = preview(api)
    clock.advance(meshy.queue_seconds + meshy.run_seconds)
    return get(api, task_id)


def test_assets_are_real_files_on_the_emulator_origin(
    api: httpx.Client, meshy: MeshyEmulator, clock: Clock, tmp_path: Path
) -> None:
    from studio.meshes.loading import load

    task = succeeded(api, meshy, clock)
    url = task["model_urls"]["glb"]
    assert url.startswith(f"{meshy.origin}/assets/meshy/{task['id']}/model.glb?Expires=")
    expires = int(httpx.URL(url).params["Expires"])
    assert expires == int(clock.now() + meshy.link_ttl)
    r = httpx.get(url)
    assert r.status_code == 200
    assert r.headers["content-type"] == "model/gltf-binary"
    path = tmp_path / "model.glb"
    path.write_bytes(r.content)
    assert load(path).n_faces == 12
    thumb = httpx.get(task["thumbnail_url"])
    assert thumb.content.startswith(b"\x89PNG")
    assert Image.open(io.BytesIO(thumb.content)).size == (256, 256)


def test_expired_links_are_403_and_a_fresh_read_renews_them(
    api: httpx.Client, meshy: MeshyEmulator, clock: Clock
) -> None:
    meshy.link_ttl = 300
    task = succeeded(api, meshy, clock)
    url = task["model_urls"]["glb"]
    clock.advance(301)
    r = httpx.get(url)
    assert r.status_code == 403
    assert b"AccessDenied" in r.content
    fresh = get(api, task["id"])["model_urls"]["glb"]
    assert fresh != url
    assert httpx.get(fresh).status_code == 200


def test_tampered_link_is_403(api: httpx.Client, meshy: MeshyEmulator, clock: Clock) -> None:
    url = succeeded(api, meshy, clock)["model_urls"]["glb"]
    later = url.replace("Expires=", "Expires=9")
    assert httpx.get(later).status_code == 403


def test_asset_request_with_authorization_is_rejected_and_recorded(
    api: httpx.Client, meshy: MeshyEmulator, clock: Clock
) -> None:
    url = succeeded(api, meshy, clock)["model_urls"]["glb"]
    r = httpx.get(url, headers=AUTH)
    assert r.status_code == 403
    assert len(meshy.leaked_auth) == 1
    assert meshy.leaked_auth[0].authorization == f"Bearer {KEY}"
    assert meshy.leaked_auth[0].path.endswith("/model.glb")
    assert httpx.get(url).status_code == 200
    assert len(meshy.leaked_auth) == 1


def test_deleted_task_assets_are_gone(
    api: httpx.Client, meshy: MeshyEmulator, clock: Clock
) -> None:
    task = succeeded(api, meshy, clock)
    api.delete(f"/v2/text-to-3d/{task['id']}", headers=AUTH)
    assert httpx.get(task["model_urls"]["glb"]).status_code == 404


# --------------------------------------------------------------------------- SSE


def test_sse_sends_changes_keepalives_and_closes_at_terminal(
    api: httpx.Client, meshy: MeshyEmulator, clock: Clock
) -> None:
    meshy.queue_seconds, meshy.run_seconds = 20, 30
    task_id = preview(api)
    received = []
    with api.stream(
        "GET",
        f"/v2/text-to-3d/{task_id}/stream",
        headers={**AUTH, "Accept": "text/event-stream"},
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        steps = iter([10, 10, 10, 10, 100])  # keep-alive, start, progress, progress, done
        for name, data in events(r):
            received.append((name, data))
            step = next(steps, None)
            if step is not None:
                clock.advance(step)
    names = {name for name, _ in received}
    assert names == {"message"}
    statuses = [d["status"] for _, d in received]
    assert statuses[:2] == ["PENDING", "PENDING"]  # the same state re-sent after 10 s
    assert received[0][1] == received[1][1]
    assert "IN_PROGRESS" in statuses
    assert statuses[-1] == "SUCCEEDED"
    assert received[-1][1]["model_urls"]["glb"]
    progress = [d["progress"] for _, d in received]
    assert progress == sorted(progress)
    assert received[-1][1] == get(api, task_id)  # the full task object, as GET returns it


def test_sse_unknown_task_sends_error_event_after_200(api: httpx.Client) -> None:
    with api.stream("GET", "/v2/text-to-3d/nope/stream", headers=AUTH) as r:
        assert r.status_code == 200
        got = list(events(r))
    assert got == [("error", {"message": "Task not found", "status_code": 404})]


def test_sse_another_keys_task_sends_error_event(api: httpx.Client) -> None:
    task_id = preview(api)
    with api.stream("GET", f"/v2/text-to-3d/{task_id}/stream", headers=AUTH2) as r:
        got = list(events(r))
    assert got[0][0] == "error"


# --------------------------------------------------------------------------- ambiguity


def test_stalled_create_is_accepted_although_the_client_timed_out(
    api: httpx.Client, meshy: MeshyEmulator
) -> None:
    meshy.stall_next_create(seconds=1.5)
    with pytest.raises(httpx.ReadTimeout):
        api.post(
            "/v2/text-to-3d",
            json={"mode": "preview", "prompt": "cat"},
            headers=AUTH,
            timeout=httpx.Timeout(5, read=0.3),
        )
    assert meshy.create_count(KEY) == 1
    assert meshy.balance(KEY) == 980
    listed = api.get("/v2/text-to-3d", headers=AUTH).json()
    assert [t["id"] for t in listed] == [meshy.tasks[0].id]
    preview(api)  # the next create is not stalled


def test_drop_next_cuts_a_task_read(api: httpx.Client, meshy: MeshyEmulator) -> None:
    task_id = preview(api)
    meshy.drop_next(count=1, path_prefix="/openapi/v2/text-to-3d/")
    with pytest.raises(httpx.RemoteProtocolError):
        api.get(f"/v2/text-to-3d/{task_id}", headers=AUTH)
    assert get(api, task_id)["id"] == task_id


def test_drop_next_on_create_still_creates(api: httpx.Client, meshy: MeshyEmulator) -> None:
    meshy.drop_next(path_prefix="/openapi/v2/text-to-3d")
    with pytest.raises(httpx.TransportError):
        api.post("/v2/text-to-3d", json={"mode": "preview", "prompt": "cat"}, headers=AUTH)
    assert meshy.create_count(KEY) == 1


def test_drop_next_cuts_a_download(api: httpx.Client, meshy: MeshyEmulator, clock: Clock) -> None:
    url = succeeded(api, meshy, clock)["model_urls"]["glb"]
    meshy.drop_next(count=1, path_prefix="/assets")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url)
    assert httpx.get(url).status_code == 200


def test_drop_next_cuts_an_sse_stream_after_the_first_event(
    api: httpx.Client, meshy: MeshyEmulator, clock: Clock
) -> None:
    task_id = preview(api)
    meshy.drop_next(path_prefix=f"/openapi/v2/text-to-3d/{task_id}/stream")
    got = []

    def read_all() -> None:
        with api.stream("GET", f"/v2/text-to-3d/{task_id}/stream", headers=AUTH) as r:
            for event in events(r):
                got.append(event)
                clock.advance(10)

    with pytest.raises(httpx.RemoteProtocolError):
        read_all()
    assert [d["status"] for _, d in got] == ["PENDING"]


def test_requests_are_recorded(api: httpx.Client, meshy: MeshyEmulator) -> None:
    preview(api)
    api.get("/v1/balance", headers=AUTH)
    assert [(r.method, r.path, r.status) for r in meshy.requests] == [
        ("POST", "/openapi/v2/text-to-3d", 202),
        ("GET", "/openapi/v1/balance", 200),
    ]
    assert all(r.authorization for r in meshy.requests)
