"""The Tripo V3 client: wire shapes, statuses, errors (MockTransport), then the emulator."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
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
from studio.providers.registry import make_provider
from studio.providers.tripo import TripoClient
from tests.emulators import Clock, TripoEmulator
from tests.emulators.fixtures import START, connect, fetch_model, follow

KEY = "tsk_SECRET_tripo_test_key_0123456789"
BASE = "https://tripo.test/v3"
NOW = 1_800_000_000.0
ISO_NOW = "2027-01-15T08:00:00Z"  # 1_800_000_000 in UTC

Handler = Callable[[httpx.Request], httpx.Response]


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def tripo(handler: Handler) -> tuple[TripoClient, Sleeps]:
    sleeps = Sleeps()
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return TripoClient(KEY, client=client, base_url=BASE, sleep=sleeps, now=lambda: NOW), sleeps


def ok(data: Any) -> httpx.Response:
    return httpx.Response(200, json={"code": 0, "status": "success", "data": data})


def fail(status: int, code: int, **headers: str) -> httpx.Response:
    body = {
        "code": code,
        "message": f"something {KEY}",
        "suggestion": "x",
        "request_id": "r1",
    }
    return httpx.Response(status, json=body, headers=headers)


def picture(path: Path, fmt: str = "PNG") -> Path:
    Image.new("RGB", (32, 32), (20, 80, 140)).save(path, format=fmt)
    return path


def task_json(task_id: str = "t-1", **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "task_id": task_id,
        "type": "text_to_model",
        "status": "queued",
        "progress": 0,
        "input": {"prompt": "a bronze owl"},
        "output": {},
        "created_at": ISO_NOW,
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


def test_text_submit_goes_to_the_v3_route_with_a_model_version() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok({"task_id": "t-1"})

    client, _ = tripo(handler)
    task = client.submit(text("  a bronze owl "))
    assert task == ProviderTask(
        provider="tripo", task_id="t-1", status=TaskStatus.QUEUED, progress=0, raw_status="queued"
    )
    assert seen[0].url == f"{BASE}/generation/text-to-model"
    assert seen[0].headers["Authorization"] == f"Bearer {KEY}"
    assert json.loads(seen[0].content) == {
        "prompt": "a bronze owl",
        "model": "v2.5-20250123",
        "texture": True,
        "pbr": True,
    }
    client.submit(text(quality=Quality.ULTRA))
    ultra = json.loads(seen[1].content)
    assert ultra["model"] == "v3.0-20250812"
    assert ultra["texture_quality"] == "detailed"


def test_image_submit_uploads_first_then_sends_the_file_token(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/v3/files":
            return ok({"file_token": "file_abc"})
        return ok({"task_id": "t-2"})

    client, _ = tripo(handler)
    photo = picture(tmp_path / "chair.webp", "WEBP")
    client.submit(GenerationRequest(GenerationKind.IMAGE, images=(photo,)))
    upload, create = seen
    assert upload.method == "POST"
    assert upload.headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="file"; filename="chair.webp"' in upload.content
    assert b"Content-Type: image/webp" in upload.content
    assert photo.read_bytes() in upload.content
    assert create.url.path == "/v3/generation/image-to-model"
    assert json.loads(create.content)["input"] == "file_abc"


def test_multiview_uploads_each_view_and_keeps_the_four_slots(tmp_path: Path) -> None:
    tokens = iter(["file_front", "file_right"])
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v3/files":
            return ok({"file_token": next(tokens)})
        bodies.append(json.loads(request.content))
        assert request.url.path == "/v3/generation/multiview-to-model"
        return ok({"task_id": "t-3"})

    client, _ = tripo(handler)
    front = picture(tmp_path / "front.png")
    right = picture(tmp_path / "right.jpg", "JPEG")
    client.submit(GenerationRequest(GenerationKind.MULTIVIEW, images=(front, None, None, right)))
    assert bodies[0]["inputs"] == ["file_front", None, None, "file_right"]


def test_a_cut_upload_is_retryable_and_nothing_is_created(tmp_path: Path) -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        raise httpx.ReadTimeout("timed out")

    client, _ = tripo(handler)
    with pytest.raises(NetworkError) as info:
        client.submit(
            GenerationRequest(GenerationKind.IMAGE, images=(picture(tmp_path / "a.png"),))
        )
    assert info.value.retryable
    assert paths == ["/v3/files"]


# -- poll ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code", "status", "error"),
    [
        ("queued", None, TaskStatus.QUEUED, None),
        ("running", None, TaskStatus.RUNNING, None),
        ("success", None, TaskStatus.SUCCEEDED, None),
        ("failed", 1001, TaskStatus.FAILED, "Tripo reported error 1001."),
        (
            "failed",
            2008,
            TaskStatus.FAILED,
            "Tripo refused this prompt or picture under its content rules. "
            "Change it and try again.",
        ),
        ("failed", 2018, TaskStatus.EXPIRED, "Tripo let the task expire before it finished."),
        ("cancelled", None, TaskStatus.CANCELLED, "The task was cancelled on Tripo."),
        (
            "banned",
            None,
            TaskStatus.FAILED,
            "Tripo refused this prompt or picture under its content rules. "
            "Change it and try again.",
        ),
        ("expired", None, TaskStatus.EXPIRED, "Tripo let the task expire before it finished."),
        ("unknown", None, TaskStatus.FAILED, "Tripo lost track of the task."),
    ],
)
def test_statuses_map_per_v3(
    raw: str, code: int | None, status: TaskStatus, error: str | None
) -> None:
    data = task_json(status=raw, progress=50, error_code=code)
    client, _ = tripo(lambda r: ok(data))
    task = client.poll("t-1")
    assert task.status is status
    assert task.raw_status == raw
    assert task.error == error


def test_a_success_offers_the_model_and_rendered_image() -> None:
    data = task_json(
        status="success",
        progress=100,
        credits_consumed=20.0,
        output={
            "model_url": "https://cdn.test/t-1/model.glb?sig=1",
            "pbr_model": "https://cdn.test/t-1/model.glb?sig=1",
            "base_model": "https://cdn.test/t-1/base.fbx?sig=1",
            "rendered_image_url": "https://cdn.test/t-1/render.webp?sig=1",
        },
    )
    client, _ = tripo(lambda r: ok(data))
    task = client.poll("t-1")
    assert task.credits_used == 20
    assert task.progress == 100
    assert [(m.format, m.url) for m in task.models] == [
        ("glb", "https://cdn.test/t-1/model.glb?sig=1"),
        ("fbx", "https://cdn.test/t-1/base.fbx?sig=1"),
    ]
    assert task.preview is not None
    assert task.preview.format == "webp"


def test_progress_never_goes_backwards() -> None:
    answers = iter(
        [("queued", 0), ("running", 40), ("running", 10), ("failed", 0), ("running", 80)]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        status, progress = next(answers)
        return ok(task_json(status=status, progress=progress))

    client, _ = tripo(handler)
    assert [client.poll("t-1").progress for _ in range(5)] == [0, 40, 40, 40, 80]


def test_a_failed_task_keeps_tripos_reason() -> None:
    data = task_json(status="failed", error_code=1001, error_msg="Generation failed.")
    client, _ = tripo(lambda r: ok(data))
    assert client.poll("t-1").error == "Generation failed."


def test_polling_survives_passing_failures() -> None:
    replies = iter(
        [
            fail(503, 1000),
            fail(429, 2000, **{"Retry-After": "7"}),
            httpx.Response(502),
            ok(task_json(status="running", progress=33)),
        ]
    )
    client, sleeps = tripo(lambda r: next(replies))
    assert client.poll("t-1").progress == 33
    assert sleeps == [1.0, 7.0, 4.0]


# -- errors ----------------------------------------------------------------------------


def _error_cases() -> list[tuple[httpx.Response, type[ProviderError], str]]:
    return [
        (
            fail(401, 2),
            AuthError,
            "Tripo refused the API key. Check it in Settings › Providers.",
        ),
        (
            fail(403, 2010),
            NoCreditsError,
            "Your Tripo account has too few credits for this (needs about 20). "
            "Top it up on tripo3d.ai and try again.",
        ),
        (
            fail(429, 2000, **{"Retry-After": "7"}),
            RateLimitedError,
            "Tripo is already running as many tasks as your account allows; trying again in 7 s.",
        ),
        (
            fail(400, 2008),
            ContentRefusedError,
            "Tripo refused this prompt or picture under its content rules. "
            "Change it and try again.",
        ),
        (
            fail(400, 1004),
            BadInputError,
            "Tripo rejected the request as invalid (error 1004). Change the prompt or pictures "
            "and try again.",
        ),
        (
            fail(500, 1001),
            ServerError,
            "Tripo had a problem on its side (HTTP 500). Try again in a few minutes.",
        ),
        (
            fail(403, 1005),
            AuthError,
            "Tripo doesn't let this API key do that. Check your Tripo plan and the key in "
            "Settings › Providers.",
        ),
    ]


@pytest.mark.parametrize(("reply", "kind", "message"), _error_cases())
def test_create_errors_are_one_plain_sentence(
    reply: httpx.Response,
    kind: type[ProviderError],
    message: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return reply

    client, sleeps = tripo(handler)
    with pytest.raises(kind) as info:
        client.submit(text())
    assert str(info.value) == message
    assert info.value.provider == "tripo"
    no_key_in(str(info.value), caplog.text)
    if reply.status_code == 429:
        assert isinstance(info.value, RateLimitedError)
        assert info.value.retry_after == 7.0
        assert sleeps == [7.0, 7.0]
    else:
        assert len(seen) == 1


def test_a_business_error_inside_a_200_is_still_an_error() -> None:
    client, _ = tripo(lambda r: httpx.Response(200, json={"code": 2010, "message": "no credits"}))
    with pytest.raises(NoCreditsError):
        client.submit(text())


def test_a_create_timeout_is_ambiguous_and_sent_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ReadTimeout(f"timed out Bearer {KEY}")

    client, sleeps = tripo(handler)
    with pytest.raises(AmbiguousSubmissionError) as info:
        client.submit(text())
    assert len(seen) == 1
    assert sleeps == []
    no_key_in(str(info.value), caplog.text)


def test_not_found_and_odd_ids() -> None:
    client, _ = tripo(lambda r: fail(404, 2001))
    with pytest.raises(NotFoundError, match="Tripo has no such task"):
        client.poll("t-404")
    with pytest.raises(NotFoundError):
        client.poll("../account/balance")


# -- balance, cancel, find_submitted -------------------------------------------------------


def test_balance_reports_frozen_credits() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return ok({"balance": "150.5", "frozen": 20})

    client, _ = tripo(handler)
    balance = client.balance()
    assert (balance.credits, balance.reserved) == (150.5, 20.0)
    assert seen == ["/v3/account/balance"]


def test_cancel_is_not_possible_on_v3_and_sends_nothing() -> None:
    client, _ = tripo(nothing_sent)
    assert client.cancel("t-1") is False


def test_advance_has_nothing_to_chain() -> None:
    client, _ = tripo(nothing_sent)
    task = ProviderTask("tripo", "t-1", TaskStatus.SUCCEEDED, 100, "success")
    assert client.advance(task, text(quality=Quality.ULTRA)) is task


def test_find_submitted_uses_the_usage_list_and_checks_the_prompt() -> None:
    usage = {
        "items": [
            {"task_id": "t-old", "type": "text_to_model", "created_at": "2027-01-15T07:59:00Z"},
            {"task_id": "t-cat", "type": "text_to_model", "created_at": "2027-01-15T08:00:05Z"},
            {"task_id": "t-img", "type": "image_to_model", "created_at": "2027-01-15T08:00:06Z"},
            {"task_id": "t-owl", "type": "text_to_model", "created_at": "2027-01-15T08:00:02Z"},
        ]
    }
    tasks = {
        "t-cat": task_json("t-cat", input={"prompt": "a cat"}),
        "t-owl": task_json("t-owl", status="running", progress=5),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v3/account/usage":
            return ok(usage)
        return ok(tasks[request.url.path.rsplit("/", 1)[1]])

    client, _ = tripo(handler)
    found = client.find_submitted(text("a bronze owl"), NOW)
    assert found is not None
    assert found.task_id == "t-owl"
    assert found.status is TaskStatus.RUNNING
    assert client.find_submitted(text("a bronze owl"), NOW) is None  # handed out once


def test_find_submitted_is_none_without_a_usage_list() -> None:
    client, _ = tripo(lambda r: httpx.Response(404, json={"code": 1004, "message": "nope"}))
    assert client.find_submitted(text(), NOW) is None


def test_registry_makes_a_tripo_client() -> None:
    client = httpx.Client(transport=httpx.MockTransport(nothing_sent))
    made = make_provider("tripo", KEY, client=client, base_url="")
    assert isinstance(made, TripoClient)
    assert made.base_url == "https://openapi.tripo3d.ai/v3"
    assert made.max_prompt == 1024


# ======================================================================================
# End to end against the local Tripo V3 emulator (real HTTP on 127.0.0.1, fake clock)
# ======================================================================================


@pytest.fixture
def emu(tripo_server: TripoEmulator, clock: Clock) -> TripoEmulator:
    tripo_server.reset(clock=clock)
    tripo_server.add_key(KEY, balance=1000)
    return tripo_server


@pytest.fixture
def live(emu: TripoEmulator, clock: Clock, http_client: httpx.Client) -> TripoClient:
    made = connect("tripo", KEY, emu, clock, http_client)
    assert isinstance(made, TripoClient)
    return made


def test_e2e_text_submit_poll_download(
    live: TripoClient, emu: TripoEmulator, clock: Clock, tmp_path: Path
) -> None:
    task = live.submit(text("a small stone lantern"))
    history = follow(live, task, clock)
    statuses = [t.status for t in history]
    assert statuses[0] is TaskStatus.QUEUED
    assert TaskStatus.RUNNING in statuses
    assert statuses[-1] is TaskStatus.SUCCEEDED
    assert [t.progress for t in history] == sorted(t.progress for t in history)
    done = history[-1]
    assert done.credits_used == 20
    fetch_model(live, done, tmp_path)
    assert done.preview is not None
    assert live.download(done.preview, tmp_path / "preview.png").read_bytes()[:4] == b"\x89PNG"
    assert live.balance().credits == 980
    assert emu.leaked_auth == []
    assert clock.sleeps == []


def test_e2e_balance_shows_frozen_credits_while_running(live: TripoClient) -> None:
    live.submit(text("a tin can", Quality.ULTRA))
    balance = live.balance()
    assert balance.credits == 970
    assert balance.reserved == 30


def test_e2e_image_and_multiview_upload_first(
    live: TripoClient, emu: TripoEmulator, clock: Clock, tmp_path: Path
) -> None:
    photo = picture(tmp_path / "chair.webp", "WEBP")
    image = live.submit(GenerationRequest(GenerationKind.IMAGE, images=(photo,)))
    assert emu.task(image.task_id).body["input"] in emu.files
    done = follow(live, image, clock)[-1]
    assert done.status is TaskStatus.SUCCEEDED
    fetch_model(live, done, tmp_path / "image")

    front = picture(tmp_path / "front.png")
    back = picture(tmp_path / "back.jpg", "JPEG")
    multi = live.submit(
        GenerationRequest(GenerationKind.MULTIVIEW, images=(front, None, back, None))
    )
    inputs = emu.task(multi.task_id).body["inputs"]
    assert [slot is None for slot in inputs] == [False, True, False, True]
    assert {emu.files[token][1] for token in inputs if token} == {"png", "jpeg"}
    done = follow(live, multi, clock)[-1]
    assert done.status is TaskStatus.SUCCEEDED
    fetch_model(live, done, tmp_path / "multi")
    assert emu.leaked_auth == []


def test_e2e_cancel_is_not_offered(live: TripoClient, emu: TripoEmulator) -> None:
    task = live.submit(text("a brass key"))
    before = len(emu.requests)
    assert live.cancel(task.task_id) is False
    assert len(emu.requests) == before


def test_e2e_failed_and_refused_tasks(live: TripoClient, emu: TripoEmulator, clock: Clock) -> None:
    emu.fail_prompts_containing("explode")
    failed = follow(live, live.submit(text("an engine that will explode")), clock)[-1]
    assert failed.status is TaskStatus.FAILED
    assert failed.error == "Task failed due to an internal error. Please retry."
    assert failed.credits_used == 0
    emu.refuse_prompts_containing("forbidden")
    refused = follow(live, live.submit(text("a forbidden thing")), clock)[-1]
    assert refused.status is TaskStatus.FAILED
    assert refused.error is not None
    assert "content rules" in refused.error
    emu.refuse_prompts_containing("banned", at="create")
    with pytest.raises(ContentRefusedError):
        live.submit(text("a banned thing"))
    assert live.balance().credits == 1000


def test_e2e_429_retry_after_is_obeyed(live: TripoClient, emu: TripoEmulator, clock: Clock) -> None:
    task = live.submit(text("a paper crane"))
    emu.rate_limit_next(count=1, retry_after=7)
    assert live.poll(task.task_id).task_id == task.task_id
    assert clock.sleeps == [7.0]
    emu.rate_limit_next(count=1, retry_after=3, code=1007)
    live.submit(text("a paper boat"))
    assert clock.sleeps == [7.0, 3.0]
    assert emu.create_count(KEY) == 2


def test_e2e_concurrency_limit_is_rate_limited_with_retry_after(
    live: TripoClient, emu: TripoEmulator, clock: Clock
) -> None:
    emu.max_concurrent_tasks = 1
    live.submit(text("one"))
    with pytest.raises(RateLimitedError) as info:
        live.submit(text("two"))
    assert info.value.retry_after == 10.0
    assert str(info.value) == (
        "Tripo is already running as many tasks as your account allows; trying again in 10 s."
    )
    assert clock.sleeps == [10.0, 10.0]  # refused creates asked again, then given up
    assert emu.create_count(KEY) == 1


def test_e2e_5xx_and_drops_while_polling_and_downloading_are_recovered(
    live: TripoClient, emu: TripoEmulator, clock: Clock, tmp_path: Path
) -> None:
    task = live.submit(text("a ceramic vase"))
    emu.fail_next_get(status=503, count=1)
    emu.fail_next_get(status=504, count=1)
    clock.advance(10)
    assert live.poll(task.task_id).status is TaskStatus.RUNNING
    assert clock.sleeps == [1.0, 2.0]
    emu.drop_next(count=1, path_prefix="/v3/tasks/")
    assert live.poll(task.task_id).status is TaskStatus.RUNNING
    done = follow(live, task, clock)[-1]
    emu.drop_next(count=2, path_prefix="/assets")
    fetch_model(live, done, tmp_path)
    assert emu.leaked_auth == []


def test_e2e_stalled_create_is_ambiguous_sent_once_and_found(
    live: TripoClient, emu: TripoEmulator, clock: Clock
) -> None:
    request = text("a bronze owl on a branch")
    since = clock.now()
    live.submit(text("an earlier, different job"))
    emu.stall_next_create(seconds=1.0)
    with pytest.raises(AmbiguousSubmissionError) as info:
        live.submit(request)
    assert "Tripo" in str(info.value)
    assert emu.create_count(KEY) == 2  # the stalled create was sent once, never replayed
    found = live.find_submitted(request, since)
    assert found is not None
    assert found.task_id == emu.tasks[-1].id
    assert live.find_submitted(request, since) is None  # never handed out twice
    assert follow(live, found, clock)[-1].status is TaskStatus.SUCCEEDED


def test_e2e_a_dropped_create_is_ambiguous_too(live: TripoClient, emu: TripoEmulator) -> None:
    emu.drop_next(count=1, path_prefix="/v3/generation/")
    with pytest.raises(AmbiguousSubmissionError):
        live.submit(text("a glass teapot"))
    assert emu.create_count(KEY) == 1


def test_e2e_expired_links_then_fresh_ones(
    live: TripoClient, emu: TripoEmulator, clock: Clock, tmp_path: Path
) -> None:
    emu.link_ttl = 60
    done = follow(live, live.submit(text("a tin robot")), clock)[-1]
    clock.advance(120)
    with pytest.raises(LinkExpiredError):
        live.download(done.models[0], tmp_path / "model.glb")
    fresh = live.poll(done.task_id)
    fetch_model(live, fresh, tmp_path)


def test_e2e_wrong_key_is_a_plain_auth_error(
    emu: TripoEmulator, clock: Clock, http_client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "tsk_WRONG_key_not_on_the_emulator_42"
    client = TripoClient(wrong, client=http_client, base_url=emu.base_url, sleep=clock.sleep)
    for call in (client.balance, lambda: client.submit(text())):
        with pytest.raises(AuthError) as info:
            call()
        assert str(info.value) == "Tripo refused the API key. Check it in Settings › Providers."
        assert wrong not in str(info.value)
    assert wrong not in caplog.text
    assert emu.create_count() == 0


def test_e2e_no_credits_names_the_cost(live: TripoClient, emu: TripoEmulator) -> None:
    emu.set_balance(KEY, 5)
    with pytest.raises(NoCreditsError) as info:
        live.submit(text())
    assert str(info.value) == (
        "Your Tripo account has too few credits for this (needs about 20). "
        "Top it up on tripo3d.ai and try again."
    )


def test_e2e_tasks_belong_to_their_key(
    live: TripoClient, emu: TripoEmulator, clock: Clock, http_client: httpx.Client
) -> None:
    task = live.submit(text("a lamp"))
    other_key = "tsk_OTHER_account_key_0000000"
    emu.add_key(other_key)
    other = TripoClient(other_key, client=http_client, base_url=emu.base_url, sleep=clock.sleep)
    with pytest.raises(NotFoundError):
        other.poll(task.task_id)
    assert other.find_submitted(text("a lamp"), START) is None
