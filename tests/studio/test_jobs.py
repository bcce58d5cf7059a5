"""Generation jobs end to end: real clients, real HTTP to the local emulators, real library.

The emulators' task progress follows a fake clock; the jobs sleep on the same clock, so
polling runs instantly and every wait is checked, not slept through.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from studio import meshes
from studio.jobs import JobPaused, Jobs
from studio.library import Library
from studio.providers.base import (
    GenerationKind,
    GenerationRequest,
    Provider,
    Quality,
    TaskOutput,
)
from studio.providers.registry import make_provider
from studio.work import NEVER_CANCELLED, CancelToken, Progress, no_progress
from tests.emulators import Clock, MeshyEmulator, TripoEmulator

MESHY_KEY = "msy_jobs_test_key_000000000001"
TRIPO_KEY = "tsk_jobs_test_key_000000000001"
KEYS = {"meshy": MESHY_KEY, "tripo": TRIPO_KEY}


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, MeshyEmulator | TripoEmulator]]:
    clock = Clock(start=1_800_000_000.0)
    with MeshyEmulator(clock) as meshy, TripoEmulator(clock) as tripo:
        yield {"meshy": meshy, "tripo": tripo}


@pytest.fixture
def clock() -> Clock:
    return Clock(start=1_800_000_000.0)


@pytest.fixture(params=["meshy", "tripo"])
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def emulator(
    servers: dict[str, MeshyEmulator | TripoEmulator], provider: str, clock: Clock
) -> MeshyEmulator | TripoEmulator:
    emulator = servers[provider]
    emulator.reset(clock=clock)
    emulator.add_key(KEYS[provider], balance=1000)
    return emulator


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    with Library.open(tmp_path / "data") as lib:
        yield lib


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def make_jobs(
    library: Library,
    emulator: MeshyEmulator | TripoEmulator,
    clock: Clock,
    http: httpx.Client,
    *,
    key: str | None = None,
    wrap: type[Provider] | None = None,
) -> Jobs:
    def provider_for(name: str) -> Provider:
        client = make_provider(
            name,
            key or KEYS[name],
            client=http,
            base_url=emulator.base_url,
            sleep=clock.sleep,
            now=clock.now,
        )
        return wrap(client) if wrap is not None else client  # type: ignore[call-arg]

    return Jobs(library, provider_for, sleep=clock.sleep, now=clock.now)


def picture(path: Path, color: tuple[int, int, int] = (200, 120, 40)) -> Path:
    Image.new("RGB", (64, 64), color).save(path)
    return path


def text(prompt: str = "a ceramic teapot shaped like a snail", **kw: object) -> GenerationRequest:
    return GenerationRequest(GenerationKind.TEXT, prompt=prompt, **kw)  # type: ignore[arg-type]


def test_text_generation_becomes_a_version_with_provenance(
    library: Library,
    emulator: MeshyEmulator | TripoEmulator,
    clock: Clock,
    http: httpx.Client,
    provider: str,
) -> None:
    jobs = make_jobs(library, emulator, clock, http)
    reports: list[tuple[float, str]] = []
    gen = jobs.request(text(), provider)
    final = jobs.run(gen.id, progress=lambda f, s: reports.append((f, s)))
    assert final.status == "succeeded", final.error
    assert final.progress == 100
    assert final.result_version_id is not None
    model = library.list_models()[0]
    version = library.active_version(model.id)
    assert version.id == final.result_version_id
    assert version.source["kind"] == "generation"
    assert version.source["provider"] == provider
    assert version.source["prompt"] == "a ceramic teapot shaped like a snail"
    assert version.source["task_id"] == final.provider_task_id
    assert version.stats["faces"] > 0
    assert meshes.load(library.materialize(version)).n_faces == version.stats["faces"]
    assert model.name.startswith("a ceramic teapot")
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions)  # progress never went backwards
    assert emulator.create_count(KEYS[provider]) == 1
    assert emulator.leaked_auth == []


@pytest.mark.parametrize("kind", ["image", "multiview"])
def test_picture_generations(
    library: Library,
    emulator: MeshyEmulator | TripoEmulator,
    clock: Clock,
    http: httpx.Client,
    provider: str,
    tmp_path: Path,
    kind: str,
) -> None:
    jobs = make_jobs(library, emulator, clock, http)
    front = picture(tmp_path / "front.png")
    if kind == "image":
        request = GenerationRequest(GenerationKind.IMAGE, images=(front,))
    else:
        back = picture(tmp_path / "back.jpg", (40, 90, 200))
        request = GenerationRequest(GenerationKind.MULTIVIEW, images=(front, None, back, None))
    gen = jobs.request(request, provider)
    final = jobs.run(gen.id)
    assert final.status == "succeeded", final.error
    version = library.get_version_by_id(final.result_version_id or 0)
    stored = [i.sha256 for i in final.images]
    assert version.source["images"] == stored
    assert all(library.blob_path(sha).exists() for sha in stored)
    library.sweep()  # input pictures stay: a generation names them
    assert all(library.blob_path(sha).exists() for sha in stored)


def test_regenerate_adds_the_next_version(
    library: Library,
    emulator: MeshyEmulator | TripoEmulator,
    clock: Clock,
    http: httpx.Client,
    provider: str,
) -> None:
    jobs = make_jobs(library, emulator, clock, http)
    first = jobs.run(jobs.request(text(), provider).id)
    model_id = library.get_version_by_id(first.result_version_id or 0).model_id
    again = jobs.run(jobs.request(text("a taller snail teapot"), provider, model_id=model_id).id)
    assert again.status == "succeeded", again.error
    versions = library.versions(model_id)
    assert [v.number for v in versions] == [2, 1]
    assert versions[0].source["kind"] == "regeneration"
    assert library.get_model(model_id).active_version_number == 2
    assert len(library.list_models()) == 1


def test_meshy_ultra_is_preview_then_refine_as_one_job(
    library: Library,
    servers: dict[str, MeshyEmulator | TripoEmulator],
    clock: Clock,
    http: httpx.Client,
) -> None:
    meshy = servers["meshy"]
    meshy.reset(clock=clock)
    meshy.add_key(MESHY_KEY, balance=1000)
    jobs = make_jobs(library, meshy, clock, http)
    final = jobs.run(jobs.request(text(quality=Quality.ULTRA), "meshy").id)
    assert final.status == "succeeded", final.error
    assert final.stage == "refine"
    assert meshy.create_count(MESHY_KEY) == 2  # the preview, then one refine
    assert len(library.list_models()) == 1


def test_cancel(
    library: Library,
    emulator: MeshyEmulator | TripoEmulator,
    clock: Clock,
    http: httpx.Client,
    provider: str,
) -> None:
    jobs = make_jobs(library, emulator, clock, http)
    token = CancelToken()

    def cancel_once_running(fraction: float, stage: str) -> None:
        if fraction > 0.1:
            token.cancel()

    final = jobs.run(jobs.request(text(), provider).id, progress=cancel_once_running, cancel=token)
    assert final.status == "cancelled"
    assert library.list_models() == []
    if provider == "tripo":
        assert "may still" in (final.error or "")  # Tripo can't stop a task: say so
    else:
        assert final.error == "Cancelled."


def test_a_failed_task_fails_plainly_and_adds_nothing(
    library: Library,
    emulator: MeshyEmulator | TripoEmulator,
    clock: Clock,
    http: httpx.Client,
    provider: str,
) -> None:
    emulator.fail_prompts_containing("explode")
    jobs = make_jobs(library, emulator, clock, http)
    final = jobs.run(jobs.request(text("a vase that will explode"), provider).id)
    assert final.status == "failed"
    assert final.error
    assert "could not make this model" in final.error
    assert library.list_models() == []


def test_rate_limits_are_waited_out_as_told(
    library: Library,
    emulator: MeshyEmulator | TripoEmulator,
    clock: Clock,
    http: httpx.Client,
    provider: str,
) -> None:
    emulator.rate_limit_next(count=2, retry_after=7)
    jobs = make_jobs(library, emulator, clock, http)
    final = jobs.run(jobs.request(text(), provider).id)
    assert final.status == "succeeded", final.error
    assert any(s >= 7 for s in clock.sleeps)  # Retry-After obeyed
    assert emulator.create_count(KEYS[provider]) == 1


def test_server_errors_and_drops_while_following_are_recovered(
    library: Library,
    emulator: MeshyEmulator | TripoEmulator,
    clock: Clock,
    http: httpx.Client,
    provider: str,
) -> None:
    emulator.fail_next_get(status=503, count=2)
    emulator.drop_next(count=1, path_prefix="/assets")
    jobs = make_jobs(library, emulator, clock, http)
    final = jobs.run(jobs.request(text(), provider).id)
    assert final.status == "succeeded", final.error
    assert emulator.create_count(KEYS[provider]) == 1


def test_a_create_that_times_out_after_acceptance_is_not_sent_twice(
    library: Library,
    emulator: MeshyEmulator | TripoEmulator,
    clock: Clock,
    http: httpx.Client,
    provider: str,
) -> None:
    from studio.providers.http import TransportPolicy

    emulator.stall_next_create(seconds=2.0)
    policy = TransportPolicy(create_read_timeout=0.4)

    def provider_for(name: str) -> Provider:
        return make_provider(
            name,
            KEYS[name],
            client=http,
            base_url=emulator.base_url,
            sleep=clock.sleep,
            now=clock.now,
            policy=policy,
        )

    jobs = Jobs(library, provider_for, sleep=clock.sleep, now=clock.now)
    final = jobs.run(jobs.request(text(), provider).id)
    # Both providers list recent tasks (Meshy its task lists, Tripo V3 its account usage):
    # the job finds the task its create made and finishes it, without a second create.
    assert final.status == "succeeded", final.error
    assert emulator.create_count(KEYS[provider]) == 1
    assert len(library.list_models()) == 1


class SlowNetwork:
    """A real client whose first download starts after its links have expired."""

    def __init__(self, inner: Provider) -> None:
        self._inner = inner
        self.downloads = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def download(
        self,
        output: TaskOutput,
        dest: Path,
        *,
        progress: Progress = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> Path:
        SlowNetwork.calls += 1
        if SlowNetwork.calls == 1:
            SlowNetwork.clock.advance(10_000)  # far past any link's lifetime
        return self._inner.download(output, dest, progress=progress, cancel=cancel)

    calls = 0
    clock: Clock


def test_expired_result_links_are_fetched_again(
    library: Library,
    emulator: MeshyEmulator | TripoEmulator,
    clock: Clock,
    http: httpx.Client,
    provider: str,
) -> None:
    SlowNetwork.calls = 0
    SlowNetwork.clock = clock
    jobs = make_jobs(library, emulator, clock, http, wrap=SlowNetwork)  # type: ignore[arg-type]
    final = jobs.run(jobs.request(text(), provider).id)
    assert final.status == "succeeded", final.error
    assert SlowNetwork.calls >= 2  # the first link had expired; a fresh one worked


def test_a_wrong_key_fails_plainly_and_nothing_changes(
    library: Library,
    emulator: MeshyEmulator | TripoEmulator,
    clock: Clock,
    http: httpx.Client,
    provider: str,
) -> None:
    wrong = f"{KEYS[provider][:4]}not_the_right_key_at_all_123"
    jobs = make_jobs(library, emulator, clock, http, key=wrong)
    final = jobs.run(jobs.request(text(), provider).id)
    assert final.status == "failed"
    message = final.error or ""
    assert wrong not in message
    assert message.count(". ") <= 1
    assert "Traceback" not in message
    assert library.list_models() == []
    assert emulator.create_count() == 0


def test_network_down_pauses_and_resume_finishes_once(
    library: Library,
    emulator: MeshyEmulator | TripoEmulator,
    clock: Clock,
    http: httpx.Client,
    provider: str,
) -> None:
    jobs = make_jobs(library, emulator, clock, http)
    gen = jobs.request(text(), provider)
    jobs.submit(gen.id)
    # Every read fails for as long as the client retries: the job pauses, keeps its task.
    from studio.providers.http import TransportPolicy

    emulator.fail_next_get(status=503, count=TransportPolicy().max_tries)
    with pytest.raises(JobPaused):
        jobs.run(gen.id)
    paused = library.get_generation(gen.id)
    assert not paused.finished
    assert paused.provider_task_id is not None
    final = jobs.run(gen.id)  # the provider answers again
    assert final.status == "succeeded", final.error
    assert emulator.create_count(KEYS[provider]) == 1
    assert len(library.versions(library.list_models()[0].id)) == 1
    assert jobs.run(gen.id).status == "succeeded"  # running a finished job changes nothing
    assert len(library.versions(library.list_models()[0].id)) == 1


def test_meshy_ultra_progress_runs_through_both_stages_without_going_back(
    library: Library,
    servers: dict[str, MeshyEmulator | TripoEmulator],
    clock: Clock,
    http: httpx.Client,
) -> None:
    meshy = servers["meshy"]
    meshy.reset(clock=clock)
    meshy.add_key(MESHY_KEY, balance=1000)
    jobs = make_jobs(library, meshy, clock, http)
    gen = jobs.request(text(quality=Quality.ULTRA), "meshy")
    seen: list[int] = []
    library.changed.connect(
        lambda change: (
            seen.append(library.get_generation(gen.id).progress)
            if change.kind == "generation-changed"
            else None
        )
    )
    final = jobs.run(gen.id)
    assert final.status == "succeeded", final.error
    assert seen == sorted(seen)
    assert any(0 < p < 50 for p in seen)  # preview
    assert any(50 < p < 100 for p in seen)  # refine
