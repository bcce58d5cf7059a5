"""The Meshy client: wire shapes, statuses, errors (MockTransport), then the emulator."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from studio.providers.base import (
    GenerationKind,
    GenerationRequest,
    ProviderTask,
    Quality,
    TaskOutput,
    TaskStatus,
)
from studio.providers.errors import (
    AmbiguousSubmissionError,
    AuthError,
    BadInputError,
    ContentRefusedError,
    LinkExpiredError,
    NetworkError,
    NoCreditsError,
    NotFoundError,
    ProviderError,
    RateLimitedError,
    ServerError,
)
from studio.providers.meshy import MeshyClient
from studio.providers.registry import make_provider
from tests.emulators import Clock, MeshyEmulator
from tests.emulators.fixtures import connect, fetch_model, follow

KEY = "msy_SECRET_meshy_test_key_0123456789"
BASE = "https://meshy.test/openapi"
NOW = 1_800_000_000.0

Handler = Callable[[httpx.Request], httpx.Response]


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def meshy(handler: Handler, **kwargs: Any) -> tuple[MeshyClient, Sleeps]:
    sleeps = Sleeps()
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return MeshyClient(
        KEY, client=client, base_url=BASE, sleep=sleeps, now=lambda: NOW, **kwargs
    ), sleeps


def picture(path: Path, fmt: str = "PNG") -> Path:
    Image.new("RGB", (32, 32), (200, 80, 40)).save(path, format=fmt)
    return path


def task_json(task_id: str = "t1", **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": task_id,
        "type": "text-to-3d-preview",
        "status": "PENDING",
        "progress": 0,
        "created_at": int(NOW * 1000),
        "task_error": {"message": ""},
    }
    data.update(fields)
    return data


def text(prompt: str = "a bronze owl", quality: Quality = Quality.STANDARD) -> GenerationRequest:
    return GenerationRequest(GenerationKind.TEXT, prompt=prompt, quality=quality)


def nothing_sent(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"nothing should be sent, yet {request.method} {request.url.path} was")


def no_key_in(*texts: str) -> None:
    for item in texts:
        assert KEY not in item
        assert "Bearer" not in item


# -- submit ----------------------------------------------------------------------------


def test_text_submit_sends_a_preview_with_sensible_defaults() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"result": "0190-abc"})

    client, _ = meshy(handler)
    task = client.submit(text("  a bronze owl  "))
    assert task == ProviderTask(
        provider="meshy",
        task_id="0190-abc",
        status=TaskStatus.QUEUED,
        progress=0,
        raw_status="PENDING",
        stage="preview",
    )
    request = seen[0]
    assert request.method == "POST"
    assert request.url == f"{BASE}/v2/text-to-3d"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    body = json.loads(request.content)
    assert body == {
        "mode": "preview",
        "prompt": "a bronze owl",
        "ai_model": "latest",
        "should_remesh": True,
        "topology": "triangle",
        "target_polycount": 30000,
    }


def test_image_submit_sends_a_data_uri(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"result": "img-1"})

    client, _ = meshy(handler)
    photo = picture(tmp_path / "chair.jpg", "JPEG")
    task = client.submit(GenerationRequest(GenerationKind.IMAGE, images=(photo,)))
    assert task.stage == ""
    assert seen[0].url == f"{BASE}/v1/image-to-3d"
    body = json.loads(seen[0].content)
    assert body["image_url"] == (
        "data:image/jpeg;base64," + base64.b64encode(photo.read_bytes()).decode()
    )
    assert body["should_texture"] is True
    assert body["enable_pbr"] is False


def test_webp_is_sent_as_png_because_meshy_takes_no_webp(tmp_path: Path) -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(202, json={"result": "img-2"})

    client, _ = meshy(handler)
    photo = picture(tmp_path / "chair.webp", "WEBP")
    client.submit(GenerationRequest(GenerationKind.IMAGE, images=(photo,), quality=Quality.ULTRA))
    uri = bodies[0]["image_url"]
    assert uri.startswith("data:image/png;base64,")
    decoded = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert decoded.format == "PNG"
    assert bodies[0]["enable_pbr"] is True


def test_multiview_submit_sends_the_given_views_in_order(tmp_path: Path) -> None:
    bodies: list[dict[str, Any]] = []
    urls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        bodies.append(json.loads(request.content))
        return httpx.Response(202, json={"result": "multi-1"})

    client, _ = meshy(handler)
    front = picture(tmp_path / "front.png")
    back = picture(tmp_path / "back.jpeg", "JPEG")
    client.submit(GenerationRequest(GenerationKind.MULTIVIEW, images=(front, None, back, None)))
    assert urls == [f"{BASE}/v1/multi-image-to-3d"]
    assert [u.split(";")[0] for u in bodies[0]["image_urls"]] == [
        "data:image/png",
        "data:image/jpeg",
    ]


def test_bad_requests_are_refused_before_anything_is_sent(tmp_path: Path) -> None:
    client, _ = meshy(nothing_sent)
    with pytest.raises(BadInputError):
        client.submit(text(""))
    with pytest.raises(BadInputError, match="limit is 600"):
        client.submit(text("x" * 601))
    with pytest.raises(BadInputError, match="front view"):
        client.submit(
            GenerationRequest(GenerationKind.MULTIVIEW, images=(None, picture(tmp_path / "l.png")))
        )


# -- poll ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("PENDING", TaskStatus.QUEUED),
        ("IN_PROGRESS", TaskStatus.RUNNING),
        ("SUCCEEDED", TaskStatus.SUCCEEDED),
        ("FAILED", TaskStatus.FAILED),
        ("CANCELED", TaskStatus.CANCELLED),
        ("EXPIRED", TaskStatus.EXPIRED),
        ("SOMETHING_NEW", TaskStatus.RUNNING),
    ],
)
def test_statuses_map_to_the_shared_vocabulary(raw: str, status: TaskStatus) -> None:
    client, _ = meshy(lambda r: httpx.Response(200, json=task_json(status=raw, progress=40)))
    task = client.poll("t1")
    assert task.status is status
    assert task.raw_status == raw


def test_a_succeeded_task_offers_glb_first_and_a_preview() -> None:
    data = task_json(
        status="SUCCEEDED",
        progress=100,
        consumed_credits=20,
        model_urls={
            "fbx": "https://assets.test/t1/model.fbx?Expires=9",
            "obj": "https://assets.test/t1/model.obj?Expires=9",
            "glb": "https://assets.test/t1/model.glb?Expires=9",
            "mtl": "https://assets.test/t1/model.mtl?Expires=9",
            "stl": "",
        },
        thumbnail_url="https://assets.test/t1/preview.png?Expires=9",
        texture_urls=[{"base_color": "https://assets.test/t1/base.png?Expires=9"}],
    )
    client, _ = meshy(lambda r: httpx.Response(200, json=data))
    task = client.poll("t1")
    assert task.credits_used == 20
    assert task.progress == 100
    assert task.stage == "preview"
    assert [(m.format, m.url) for m in task.models][:1] == [
        ("glb", "https://assets.test/t1/model.glb?Expires=9")
    ]
    assert [m.format for m in task.models] == ["glb", "fbx", "obj"]
    assert task.preview == TaskOutput(
        "preview", "png", "https://assets.test/t1/preview.png?Expires=9"
    )
    textures = [o for o in task.outputs if o.kind == "texture"]
    assert {(o.format, o.name) for o in textures} == {("mtl", "model.mtl"), ("png", "base_color")}


def test_progress_never_goes_backwards_for_one_task() -> None:
    answers = iter([30, 55, 20, 60, 0])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=task_json(status="IN_PROGRESS", progress=next(answers)))

    client, _ = meshy(handler)
    assert [client.poll("t1").progress for _ in range(5)] == [30, 55, 55, 60, 60]


def test_a_failed_task_carries_meshys_reason() -> None:
    data = task_json(
        status="FAILED",
        progress=37,
        consumed_credits=0,
        task_error={"message": "The server is busy. Please try again later.", "type": "x"},
    )
    client, _ = meshy(lambda r: httpx.Response(200, json=data))
    task = client.poll("t1")
    assert task.status is TaskStatus.FAILED
    assert task.error == "The server is busy. Please try again later."
    assert task.outputs == ()
    assert task.credits_used == 0


def test_poll_finds_the_route_of_a_task_it_did_not_submit() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path.startswith("/openapi/v1/image-to-3d/"):
            return httpx.Response(
                200, json=task_json("img-9", type="image-to-3d", status="IN_PROGRESS")
            )
        return httpx.Response(404, json={"message": "Task not found"})

    client, _ = meshy(handler)
    assert client.poll("img-9").status is TaskStatus.RUNNING
    assert client.poll("img-9").stage == ""
    assert paths == [
        "/openapi/v2/text-to-3d/img-9",
        "/openapi/v1/image-to-3d/img-9",
        "/openapi/v1/image-to-3d/img-9",
    ]


def test_unknown_and_odd_task_ids_are_not_found() -> None:
    client, _ = meshy(lambda r: httpx.Response(404, json={"message": "Task not found"}))
    with pytest.raises(NotFoundError, match="Meshy has no such task"):
        client.poll("nope")
    with pytest.raises(NotFoundError):
        client.poll("../v1/balance")


def test_polling_survives_passing_failures() -> None:
    replies = iter(
        [
            httpx.Response(503),
            httpx.Response(
                429, headers={"Retry-After": "7"}, json={"message": "RateLimitExceeded"}
            ),
            httpx.Response(200, json=task_json(status="IN_PROGRESS", progress=12)),
        ]
    )
    client, sleeps = meshy(lambda r: next(replies))
    assert client.poll("t1").progress == 12
    assert sleeps == [1.0, 7.0]


# -- errors ----------------------------------------------------------------------------


def _error_cases() -> list[tuple[int, dict[str, Any], type[ProviderError], str]]:
    return [
        (
            401,
            {"message": "Invalid API key"},
            AuthError,
            "Meshy refused the API key. Check it in Settings › Providers.",
        ),
        (
            402,
            {"message": "Insufficient credits"},
            NoCreditsError,
            "Your Meshy account has too few credits for this (needs about 20). "
            "Top it up on meshy.ai and try again.",
        ),
        (
            429,
            {"message": "RateLimitExceeded"},
            RateLimitedError,
            "Meshy is busy (too many requests); trying again in 7 s.",
        ),
        (
            429,
            {"message": "NoMoreConcurrentTasks"},
            RateLimitedError,
            "Meshy is already running as many tasks as your plan allows; trying again in 7 s.",
        ),
        (
            400,
            {"message": f"prompt invalid {KEY}"},
            BadInputError,
            "Meshy rejected the request as invalid. Change the prompt or pictures and try again.",
        ),
        (
            400,
            {"message": "Blocked by content moderation"},
            ContentRefusedError,
            "Meshy refused this prompt or picture under its content rules. "
            "Change it and try again.",
        ),
        (
            500,
            {"message": "Internal server error."},
            ServerError,
            "Meshy had a problem on its side (HTTP 500). Try again in a few minutes.",
        ),
    ]


@pytest.mark.parametrize(("status", "body", "kind", "message"), _error_cases())
def test_create_errors_are_one_plain_sentence(
    status: int,
    body: dict[str, Any],
    kind: type[ProviderError],
    message: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body, headers={"Retry-After": "7"})

    client, _ = meshy(handler, policy=None)
    with pytest.raises(kind) as info:
        client.submit(text())
    assert str(info.value) == message
    assert info.value.provider == "meshy"
    no_key_in(str(info.value), caplog.text)
    if status == 429:
        assert isinstance(info.value, RateLimitedError)
        assert info.value.retry_after == 7.0
        assert len(seen) == 3  # refused creates are asked again (nothing was made)
    else:
        assert len(seen) == 1  # never replayed


def test_no_key_and_a_mangled_key_are_auth_errors_without_a_request() -> None:
    client = MeshyClient("  ", client=httpx.Client(transport=httpx.MockTransport(nothing_sent)))
    with pytest.raises(AuthError, match="No Meshy API key is set"):
        client.balance()
    mangled = MeshyClient(
        "msy_abc\ndef", client=httpx.Client(transport=httpx.MockTransport(nothing_sent))
    )
    with pytest.raises(AuthError, match="Paste it again") as info:
        mangled.balance()
    assert "abc" not in str(info.value)


def test_a_create_timeout_is_ambiguous_and_sent_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout(f"read timed out for Bearer {KEY}")

    client, sleeps = meshy(handler)
    with pytest.raises(AmbiguousSubmissionError) as info:
        client.submit(text())
    assert len(calls) == 1
    assert sleeps == []
    assert "Meshy" in str(info.value)
    no_key_in(str(info.value), caplog.text)


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(504),
        httpx.Response(202, json={}),
        httpx.Response(202, text="<html>"),
    ],
)
def test_an_accepted_create_without_a_usable_answer_is_ambiguous(reply: httpx.Response) -> None:
    client, _ = meshy(lambda r: reply)
    with pytest.raises(AmbiguousSubmissionError):
        client.submit(text())


def test_a_wrong_key_on_poll_is_an_auth_error_and_the_key_stays_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client, _ = meshy(lambda r: httpx.Response(401, json={"message": f"bad key {KEY}"}))
    with pytest.raises(AuthError) as info:
        client.poll("t1")
    no_key_in(str(info.value), repr(info.value), caplog.text, repr(client))


# -- balance, cancel, find_submitted -------------------------------------------------------


def test_balance() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json={"balance": 1234})

    client, _ = meshy(handler)
    balance = client.balance()
    assert balance.credits == 1234
    assert balance.reserved is None
    assert seen == ["/openapi/v1/balance"]


def test_cancel_deletes_the_task() -> None:
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        if request.method == "POST":
            return httpx.Response(202, json={"result": "t5"})
        return httpx.Response(200, json={})

    client, _ = meshy(handler)
    task = client.submit(text())
    assert client.cancel(task.task_id) is True
    assert seen[-1] == ("DELETE", "/openapi/v2/text-to-3d/t5")


def _lister(items: list[dict[str, Any]], seen: list[httpx.Request]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "GET" and request.url.path == "/openapi/v2/text-to-3d":
            return httpx.Response(200, json=items)
        if request.method == "POST":
            return httpx.Response(202, json={"result": "new-refine"})
        return httpx.Response(404, json={"message": "nope"})

    return handler


def test_find_submitted_matches_prompt_and_time_newest_first() -> None:
    ms = int(NOW * 1000)
    items = [
        task_json("other-prompt", prompt="a cat", created_at=ms + 3000),
        task_json("refine", type="text-to-3d-refine", prompt="a bronze owl", created_at=ms + 2000),
        task_json("wanted", prompt="a bronze owl", created_at=ms + 1000),
        task_json("too-old", prompt="a bronze owl", created_at=ms - 5000),
    ]
    seen: list[httpx.Request] = []
    client, _ = meshy(_lister(items, seen))
    found = client.find_submitted(text("a bronze owl"), NOW)
    assert found is not None
    assert found.task_id == "wanted"
    assert seen[0].url.params["sort_by"] == "-created_at"
    assert client.find_submitted(text("a bronze owl"), NOW + 10) is None
    assert client.find_submitted(text("a fox"), NOW) is None


def test_find_submitted_never_hands_out_a_task_this_client_made() -> None:
    ms = int(NOW * 1000)
    seen: list[httpx.Request] = []
    client, _ = meshy(
        _lister([task_json("new-refine", prompt="a bronze owl", created_at=ms)], seen)
    )
    client.submit(text("a bronze owl"))  # the handler answers "new-refine"
    assert client.find_submitted(text("a bronze owl"), NOW - 1) is None


# -- ultra: preview then refine ----------------------------------------------------------


def _succeeded_preview(client: MeshyClient) -> ProviderTask:
    return ProviderTask(
        provider="meshy",
        task_id="prev-1",
        status=TaskStatus.SUCCEEDED,
        progress=100,
        raw_status="SUCCEEDED",
        stage="preview",
    )


def test_advance_starts_the_refine_with_pbr() -> None:
    seen: list[httpx.Request] = []
    client, _ = meshy(_lister([], seen))
    ultra = text(quality=Quality.ULTRA)
    refine = client.advance(_succeeded_preview(client), ultra)
    assert refine.task_id == "new-refine"
    assert refine.stage == "refine"
    assert refine.status is TaskStatus.QUEUED
    posts = [r for r in seen if r.method == "POST"]
    assert len(posts) == 1
    assert json.loads(posts[0].content) == {
        "mode": "refine",
        "preview_task_id": "prev-1",
        "enable_pbr": True,
        "ai_model": "latest",
    }


def test_advance_finds_an_existing_refine_instead_of_making_another() -> None:
    items = [
        task_json(
            "refine-x",
            type="text-to-3d-refine",
            preview_task_id="prev-1",
            status="IN_PROGRESS",
            progress=10,
        ),
        task_json("prev-1", status="SUCCEEDED", progress=100),
    ]
    seen: list[httpx.Request] = []
    client, _ = meshy(_lister(items, seen))
    refine = client.advance(_succeeded_preview(client), text(quality=Quality.ULTRA))
    assert refine.task_id == "refine-x"
    assert refine.stage == "refine"
    assert refine.status is TaskStatus.RUNNING
    assert not [r for r in seen if r.method == "POST"]


@pytest.mark.parametrize(
    ("quality", "status", "stage"),
    [
        (Quality.STANDARD, TaskStatus.SUCCEEDED, "preview"),
        (Quality.ULTRA, TaskStatus.RUNNING, "preview"),
        (Quality.ULTRA, TaskStatus.SUCCEEDED, "refine"),
    ],
)
def test_advance_has_nothing_to_chain(quality: Quality, status: TaskStatus, stage: str) -> None:
    client, _ = meshy(nothing_sent)
    task = ProviderTask("meshy", "t1", status, 100, "x", stage=stage)
    assert client.advance(task, text(quality=quality)) is task


# -- streaming ---------------------------------------------------------------------------


def _sse(*events: tuple[str, dict[str, Any]]) -> bytes:
    return b"".join(
        f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events
    )


class Body(httpx.SyncByteStream):
    def __init__(self, data: bytes, *, then: Exception | None = None) -> None:
        self.data = data
        self.then = then

    def __iter__(self) -> Iterator[bytes]:
        # Split mid-line to exercise the parser's buffering.
        yield self.data[: len(self.data) // 2]
        yield self.data[len(self.data) // 2 :]
        if self.then is not None:
            raise self.then


def test_stream_task_yields_each_change_until_finished() -> None:
    body = b": hello\n\n" + _sse(
        ("message", task_json(status="PENDING")),
        ("message", task_json(status="IN_PROGRESS", progress=40)),
        ("message", task_json(status="IN_PROGRESS", progress=30)),
        ("message", task_json(status="SUCCEEDED", progress=100)),
    )
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(202, json={"result": "t1"})
        seen.append(request)
        assert request.url.path == "/openapi/v2/text-to-3d/t1/stream"
        return httpx.Response(200, headers={"Content-Type": "text/event-stream"}, stream=Body(body))

    client, _ = meshy(handler)
    client.submit(text())  # the client now knows the task's route
    tasks = list(client.stream_task("t1"))
    assert [(t.status, t.progress) for t in tasks] == [
        (TaskStatus.QUEUED, 0),
        (TaskStatus.RUNNING, 40),
        (TaskStatus.RUNNING, 40),
        (TaskStatus.SUCCEEDED, 100),
    ]
    assert seen[0].headers["Accept"] == "text/event-stream"


def test_stream_error_event_after_200_is_the_error_it_names() -> None:
    body = _sse(("error", {"message": "Invalid API key", "status_code": 401}))

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/stream"):
            return httpx.Response(200, stream=Body(body))
        return httpx.Response(200, json=task_json(status="IN_PROGRESS"))

    client, _ = meshy(handler)
    with pytest.raises(AuthError, match="Meshy refused the API key"):
        list(client.stream_task("t1"))


def test_stream_falls_back_to_polling_when_it_drops_or_reports_a_passing_error() -> None:
    polls = iter(
        [
            task_json(status="PENDING"),  # the first GET finds which route the task is on
            task_json(status="IN_PROGRESS", progress=70),
            task_json(status="SUCCEEDED"),
        ]
    )
    streams = iter(
        [
            Body(
                _sse(("message", task_json(status="IN_PROGRESS", progress=50))),
                then=httpx.ReadError("reset"),
            ),
            Body(_sse(("error", {"message": "busy", "status_code": 503}))),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/stream"):
            return httpx.Response(200, stream=next(streams))
        return httpx.Response(200, json=next(polls))

    client, sleeps = meshy(handler)
    tasks = list(client.stream_task("t1", interval=4.0))
    assert [(t.status, t.progress) for t in tasks] == [
        (TaskStatus.RUNNING, 50),
        (TaskStatus.RUNNING, 70),
        (TaskStatus.SUCCEEDED, 100),
    ]
    assert sleeps == [4.0]

    # The 503 event: straight to polling.
    polls = iter([task_json("t2", status="PENDING"), task_json("t2", status="SUCCEEDED")])
    assert [t.status for t in client.stream_task("t2")] == [TaskStatus.SUCCEEDED]


def test_poll_with_stream_reads_events_then_gets_after_a_drop() -> None:
    stream_calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/stream"):
            stream_calls.append(1)
            return httpx.Response(
                200,
                stream=Body(
                    _sse(
                        ("message", task_json(status="IN_PROGRESS", progress=10)),
                        ("message", task_json(status="IN_PROGRESS", progress=20)),
                    ),
                    then=httpx.RemoteProtocolError("peer closed"),
                ),
            )
        return httpx.Response(200, json=task_json(status="IN_PROGRESS", progress=next(gets)))

    gets = iter([5, 25, 25])  # the first GET finds which route the task is on
    client, _ = meshy(handler, stream=True)
    assert [client.poll("t1").progress for _ in range(4)] == [10, 20, 25, 25]
    assert len(stream_calls) == 1
    client.close()


# -- registry --------------------------------------------------------------------------


def test_registry_makes_clients_by_name() -> None:
    client = httpx.Client(transport=httpx.MockTransport(nothing_sent))
    made = make_provider("meshy", KEY, client=client)
    assert isinstance(made, MeshyClient)
    assert made.base_url == "https://api.meshy.ai/openapi"
    other = make_provider("meshy", KEY, client=client, base_url="http://127.0.0.1:9/openapi/")
    assert isinstance(other, MeshyClient)
    assert other.base_url == "http://127.0.0.1:9/openapi"
    with pytest.raises(BadInputError, match="doesn't know a provider"):
        make_provider("hunyuan", KEY, client=client)


def test_network_failure_on_balance_is_plain() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route")

    client, sleeps = meshy(handler)
    with pytest.raises(NetworkError, match="Meshy can't be reached"):
        client.balance()
    assert len(sleeps) == 5


# ======================================================================================
# End to end against the local Meshy emulator (real HTTP on 127.0.0.1, fake clock)
# ======================================================================================


@pytest.fixture
def emu(meshy_server: MeshyEmulator, clock: Clock) -> MeshyEmulator:
    meshy_server.reset(clock=clock)
    meshy_server.add_key(KEY, balance=1000)
    return meshy_server


@pytest.fixture
def live(emu: MeshyEmulator, clock: Clock, http_client: httpx.Client) -> MeshyClient:
    made = connect("meshy", KEY, emu, clock, http_client)
    assert isinstance(made, MeshyClient)
    return made


def test_e2e_text_standard_submit_poll_download(
    live: MeshyClient, emu: MeshyEmulator, clock: Clock, tmp_path: Path
) -> None:
    task = live.submit(text("a small stone lantern"))
    history = follow(live, task, clock)
    statuses = [t.status for t in history]
    assert statuses[0] is TaskStatus.QUEUED
    assert TaskStatus.RUNNING in statuses
    assert statuses[-1] is TaskStatus.SUCCEEDED
    progress = [t.progress for t in history]
    assert progress == sorted(progress)
    assert progress[-1] == 100
    done = history[-1]
    assert done.stage == "preview"
    assert done.credits_used == 20
    fetch_model(live, done, tmp_path)
    assert done.preview is not None
    assert live.download(done.preview, tmp_path / "preview.png").read_bytes()[:4] == b"\x89PNG"
    # Standard quality: nothing to chain.
    assert live.advance(done, text("a small stone lantern")) is done
    assert live.balance().credits == 980
    assert emu.leaked_auth == []
    assert clock.sleeps == []


def test_e2e_image_and_multiview(
    live: MeshyClient, emu: MeshyEmulator, clock: Clock, tmp_path: Path
) -> None:
    photo = picture(tmp_path / "chair.png")
    image = live.submit(GenerationRequest(GenerationKind.IMAGE, images=(photo,)))
    done = follow(live, image, clock)[-1]
    assert done.status is TaskStatus.SUCCEEDED
    assert done.credits_used == 30
    fetch_model(live, done, tmp_path / "image")

    front = picture(tmp_path / "front.jpg", "JPEG")
    side = picture(tmp_path / "left.webp", "WEBP")
    multi = live.submit(
        GenerationRequest(GenerationKind.MULTIVIEW, images=(front, side, None, None))
    )
    done = follow(live, multi, clock)[-1]
    assert done.status is TaskStatus.SUCCEEDED
    fetch_model(live, done, tmp_path / "multi")
    assert len(emu.task(multi.task_id).body["image_urls"]) == 2
    assert emu.leaked_auth == []


def test_e2e_ultra_chains_preview_then_refine_once(
    live: MeshyClient, emu: MeshyEmulator, clock: Clock, tmp_path: Path
) -> None:
    ultra = text("a carved wooden fox", Quality.ULTRA)
    preview = follow(live, live.submit(ultra), clock)[-1]
    assert (preview.status, preview.stage) == (TaskStatus.SUCCEEDED, "preview")
    refine = live.advance(preview, ultra)
    assert refine.task_id != preview.task_id
    assert refine.stage == "refine"
    # Asked again (a retry, a restarted job, a second client): the same refine, not a new one.
    assert live.advance(preview, ultra).task_id == refine.task_id
    other = MeshyClient(KEY, client=httpx.Client(), base_url=emu.base_url, sleep=clock.sleep)
    assert other.advance(preview, ultra).task_id == refine.task_id
    assert emu.create_count(KEY) == 2
    done = follow(live, refine, clock)[-1]
    assert (done.status, done.stage) == (TaskStatus.SUCCEEDED, "refine")
    assert live.advance(done, ultra) is done
    fetch_model(live, done, tmp_path)
    assert {o.name for o in done.outputs if o.kind == "texture"} >= {"base_color", "metallic"}
    assert live.balance().credits == 1000 - 20 - 10


def test_e2e_an_ambiguous_refine_is_found_not_repeated(
    live: MeshyClient, emu: MeshyEmulator, clock: Clock
) -> None:
    ultra = text("a glass teapot", Quality.ULTRA)
    preview = follow(live, live.submit(ultra), clock)[-1]
    emu.stall_next_create(seconds=1.0)
    with pytest.raises(AmbiguousSubmissionError):
        live.advance(preview, ultra)
    refine = live.advance(preview, ultra)
    assert refine.stage == "refine"
    assert emu.create_count(KEY) == 2
    assert refine.task_id == emu.tasks[-1].id


def test_e2e_cancel(live: MeshyClient, emu: MeshyEmulator, clock: Clock) -> None:
    task = live.submit(text("a brass key"))
    clock.advance(6)
    assert live.poll(task.task_id).status is TaskStatus.RUNNING
    assert live.cancel(task.task_id) is True
    assert emu.task(task.task_id).deleted
    with pytest.raises(NotFoundError):
        live.poll(task.task_id)


def test_e2e_failed_and_refused_tasks(live: MeshyClient, emu: MeshyEmulator, clock: Clock) -> None:
    emu.fail_prompts_containing("explode")
    failed = follow(live, live.submit(text("an exploded engine, explode")), clock)[-1]
    assert failed.status is TaskStatus.FAILED
    assert failed.error == "Internal server error."
    assert failed.credits_used == 0
    assert failed.outputs == ()
    emu.refuse_prompts_containing("forbidden", at="create")
    with pytest.raises(ContentRefusedError, match="content rules"):
        live.submit(text("a forbidden thing"))
    assert live.balance().credits == 1000  # the failed task was refunded, the refusal free


def test_e2e_429_retry_after_is_obeyed(live: MeshyClient, emu: MeshyEmulator, clock: Clock) -> None:
    task = live.submit(text("a paper crane"))
    emu.rate_limit_next(count=1, retry_after=7)
    assert live.poll(task.task_id).task_id == task.task_id
    assert clock.sleeps == [7.0]
    emu.rate_limit_next(count=1, retry_after=3)
    again = live.submit(text("a paper boat"))  # a refused create is asked again
    assert again.task_id != task.task_id
    assert clock.sleeps == [7.0, 3.0]
    assert emu.create_count(KEY) == 2


def test_e2e_5xx_and_drops_while_polling_and_downloading_are_recovered(
    live: MeshyClient, emu: MeshyEmulator, clock: Clock, tmp_path: Path
) -> None:
    task = live.submit(text("a ceramic vase"))
    emu.fail_next_get(status=503, count=1)
    emu.fail_next_get(status=502, count=1)
    clock.advance(10)
    assert live.poll(task.task_id).status is TaskStatus.RUNNING
    assert clock.sleeps == [1.0, 2.0]
    emu.drop_next(count=1, path_prefix="/openapi/v2/text-to-3d/")
    assert live.poll(task.task_id).status is TaskStatus.RUNNING
    done = follow(live, task, clock)[-1]
    emu.drop_next(count=2, path_prefix="/assets")
    fetch_model(live, done, tmp_path)
    assert emu.leaked_auth == []


def test_e2e_stalled_create_is_ambiguous_then_found(
    live: MeshyClient, emu: MeshyEmulator, clock: Clock
) -> None:
    request = text("a bronze owl on a branch")
    since = clock.now()
    emu.stall_next_create(seconds=1.0)
    with pytest.raises(AmbiguousSubmissionError) as info:
        live.submit(request)
    assert "Meshy" in str(info.value)
    assert emu.create_count(KEY) == 1  # sent once, never replayed
    found = live.find_submitted(request, since)
    assert found is not None
    assert found.task_id == emu.tasks[0].id
    assert live.find_submitted(request, since) is None  # never handed out twice
    assert live.find_submitted(text("something else"), since) is None
    assert follow(live, found, clock)[-1].status is TaskStatus.SUCCEEDED


def test_e2e_expired_links_then_fresh_ones(
    live: MeshyClient, emu: MeshyEmulator, clock: Clock, tmp_path: Path
) -> None:
    emu.link_ttl = 60
    done = follow(live, live.submit(text("a tin robot")), clock)[-1]
    clock.advance(120)
    with pytest.raises(LinkExpiredError):
        live.download(done.models[0], tmp_path / "model.glb")
    assert not (tmp_path / "model.glb").exists()
    fresh = live.poll(done.task_id)
    fetch_model(live, fresh, tmp_path)


def test_e2e_wrong_key_is_a_plain_auth_error(
    emu: MeshyEmulator, clock: Clock, http_client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "msy_WRONG_key_not_on_the_emulator_42"
    client = MeshyClient(wrong, client=http_client, base_url=emu.base_url, sleep=clock.sleep)
    for call in (client.balance, lambda: client.submit(text())):
        with pytest.raises(AuthError) as info:
            call()
        assert str(info.value) == "Meshy refused the API key. Check it in Settings › Providers."
        assert wrong not in str(info.value)
    assert wrong not in caplog.text
    assert emu.create_count() == 0


def test_e2e_no_credits(live: MeshyClient, emu: MeshyEmulator) -> None:
    emu.set_balance(KEY, 5)
    with pytest.raises(NoCreditsError) as info:
        live.submit(text())
    assert "needs about 20" in str(info.value)


def test_e2e_stream_follows_the_task_and_falls_back_to_polling(
    live: MeshyClient, emu: MeshyEmulator, clock: Clock
) -> None:
    task = live.submit(text("a clay pot"))
    seen: list[ProviderTask] = []
    for update in live.stream_task(task.task_id):
        seen.append(update)
        clock.advance(5)  # the emulator sends the next event once the clock moves
    assert seen[0].status is TaskStatus.QUEUED
    assert seen[-1].status is TaskStatus.SUCCEEDED
    assert [t.progress for t in seen] == sorted(t.progress for t in seen)
    assert clock.sleeps == []

    other = live.submit(text("a clay cup"))
    emu.drop_next(count=1, path_prefix=f"/openapi/v2/text-to-3d/{other.task_id}/stream")
    updates = []
    for update in live.stream_task(other.task_id):
        updates.append(update)
        clock.advance(5)  # the emulator cuts the stream as it sends the second event
    assert updates[-1].status is TaskStatus.SUCCEEDED
    assert [t.progress for t in updates] == sorted(t.progress for t in updates)
    assert clock.sleeps  # fell back to polling, waiting on the fake clock
    streams = [r for r in emu.requests if r.path.endswith(f"{other.task_id}/stream")]
    polls = [r for r in emu.requests if r.path.endswith(other.task_id) and r.method == "GET"]
    assert len(streams) == 1
    assert polls


def test_e2e_poll_with_stream_option(
    emu: MeshyEmulator, clock: Clock, http_client: httpx.Client
) -> None:
    client = MeshyClient(
        KEY,
        client=http_client,
        base_url=emu.base_url,
        sleep=clock.sleep,
        now=clock.now,
        stream=True,
    )
    task = client.submit(text("a wax candle"))
    history = follow(client, task, clock, step=7.0)
    assert history[-1].status is TaskStatus.SUCCEEDED
    client.close()
