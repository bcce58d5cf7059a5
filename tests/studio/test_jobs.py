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
from studio.jobs.cancelling import StopResult, cancel_consequence, cancel_outcome
from studio.library import GenerationRecord, Library
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


class RecordingGate:
    """A credit gate that holds in memory (the account service's gate is tested with the
    real service in tests/e2e/test_charging.py); it remembers what it was asked."""

    def __init__(self, price: int) -> None:
        self._price = price
        self.holds: list[tuple[str, int]] = []
        self.captured: list[str] = []
        self.released: list[str] = []

    def price(self, request: GenerationRequest, provider: str) -> int | None:
        return self._price

    def hold(self, generation: GenerationRecord, amount: int) -> str | None:
        self.holds.append((generation.uid, amount))
        return f"hold-{generation.uid}"

    def capture(self, generation: GenerationRecord) -> int | None:
        self.captured.append(generation.uid)
        return generation.credits_held

    def release(self, generation: GenerationRecord) -> None:
        if generation.hold_id is not None:
            self.released.append(generation.uid)


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


def test_cancel_once_running_says_what_the_provider_charged(
    library: Library,
    emulator: MeshyEmulator | TripoEmulator,
    clock: Clock,
    http: httpx.Client,
    provider: str,
) -> None:
    jobs = make_jobs(library, emulator, clock, http)
    token = CancelToken()
    gen = jobs.request(text(), provider)
    before: list[str] = []

    def cancel_once_running(fraction: float, stage: str) -> None:
        if fraction > 0.1 and not token.cancelled:
            # What the panel shows next to Cancel at this moment, before the click.
            before.append(jobs.cancel_consequence(library.get_generation(gen.id)))
            token.cancel()

    final = jobs.run(gen.id, progress=cancel_once_running, cancel=token)
    assert final.status == "cancelled"
    assert library.list_models() == []
    assert final.error is not None
    assert final.error.startswith("Cancelled. ")
    assert before == [cancel_consequence(provider, "running")]
    assert emulator.balance(KEYS[provider]) == 980  # both keep the credits of a started task
    if provider == "tripo":
        # Tripo can't stop a task: said before the click and after it.
        assert "can't stop a task" in before[0]
        assert "can't stop a task" in final.error
        assert "charges your Tripo credits" in final.error
    else:
        assert emulator.tasks[0].deleted
        assert "keeps the credits" in before[0]
        assert "Meshy stopped the task and keeps the credits" in final.error


def test_cancel_while_meshy_still_queues_it_gives_the_credits_back(
    library: Library,
    servers: dict[str, MeshyEmulator | TripoEmulator],
    clock: Clock,
    http: httpx.Client,
) -> None:
    meshy = servers["meshy"]
    meshy.reset(clock=clock)
    meshy.add_key(MESHY_KEY, balance=1000)
    jobs = make_jobs(library, meshy, clock, http)
    token = CancelToken()
    gen = jobs.request(text(), "meshy")
    before: list[str] = []

    def cancel_while_queued(fraction: float, stage: str) -> None:
        record = library.get_generation(gen.id)
        if record.status == "queued" and not token.cancelled:
            before.append(jobs.cancel_consequence(record))
            token.cancel()

    final = jobs.run(gen.id, progress=cancel_while_queued, cancel=token)
    assert final.status == "cancelled"
    assert before
    assert "Meshy gives its credits back" in before[0]
    assert (
        final.error
        == "Cancelled. Meshy deleted the task from its queue and gives its credits back."
    )
    assert meshy.balance(MESHY_KEY) == 1000
    assert meshy.create_count(MESHY_KEY) == 1


def test_cancel_before_anything_is_sent_costs_nothing(
    library: Library,
    emulator: MeshyEmulator | TripoEmulator,
    clock: Clock,
    http: httpx.Client,
    provider: str,
) -> None:
    gate = RecordingGate(price=10)
    jobs = make_jobs(library, emulator, clock, http)
    jobs.gate = gate
    gen = jobs.request(text(), provider)
    shown = jobs.cancel_consequence(gen)
    assert "Nothing has been sent" in shown
    final = jobs.cancel_pending(gen.id)
    assert final.status == "cancelled"
    assert final.error is not None
    assert "so it charged nothing" in final.error
    assert emulator.create_count() == 0
    assert gate.released == []  # nothing was held yet


def test_a_cancelled_kiln_hold_is_released_and_said(
    library: Library,
    emulator: MeshyEmulator | TripoEmulator,
    clock: Clock,
    http: httpx.Client,
    provider: str,
) -> None:
    gate = RecordingGate(price=10)
    jobs = make_jobs(library, emulator, clock, http)
    jobs.gate = gate
    gen = jobs.request(text(), provider)
    jobs.submit(gen.id)
    held = library.get_generation(gen.id)
    assert held.credits_held == 10
    assert "Your 10 Kiln credits on hold are given back." in jobs.cancel_consequence(held)
    final = jobs.cancel_pending(gen.id)
    assert gate.released == [gen.uid]
    assert gate.captured == []
    assert final.error is not None
    assert final.error.endswith("Your 10 Kiln credits on hold were released, not charged.")


def test_the_cancel_table_covers_every_provider_and_stage() -> None:
    from studio.providers.registry import PROVIDER_NAMES

    for provider in PROVIDER_NAMES:
        for status in ("requested", "submitting", "queued", "running", "downloading"):
            before = cancel_consequence(provider, status)
            label = provider.capitalize()
            assert label in before, (provider, status)
            for stop in StopResult:
                after = cancel_outcome(provider, status, stop, kiln_released=10)
                assert after.startswith("Cancelled. ")
                assert after.endswith("Your 10 Kiln credits on hold were released, not charged.")
        assert cancel_consequence(provider, "succeeded") == ""  # nothing left to cancel
    # What the providers really do differs, and the text says so.
    assert "gives its credits back" in cancel_consequence("meshy", "queued")
    assert "keeps the credits" in cancel_consequence("meshy", "running")
    assert "can't stop a task" in cancel_consequence("tripo", "queued")
    assert "can't stop a task" in cancel_consequence("tripo", "running")
    unreachable = cancel_outcome("meshy", "running", StopResult.UNREACHABLE)
    assert "could not reach Meshy" in unreachable


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


def test_an_identical_request_within_a_minute_is_found_as_a_twin(
    library: Library,
    emulator: MeshyEmulator | TripoEmulator,
    clock: Clock,
    http: httpx.Client,
    provider: str,
    tmp_path: Path,
) -> None:
    from datetime import timedelta

    jobs = make_jobs(library, emulator, clock, http)
    first = jobs.request(text("a ceramic  teapot"), provider)
    twin = jobs.recent_twin(text("A ceramic teapot "), provider)  # spacing and case alike
    assert twin is not None
    assert twin.id == first.id
    assert jobs.recent_twin(text("a ceramic teapot", quality=Quality.ULTRA), provider) is None
    other = "tripo" if provider == "meshy" else "meshy"
    assert jobs.recent_twin(text("a ceramic teapot"), other) is None
    assert jobs.recent_twin(text("a ceramic teacup"), provider) is None
    later = first.created_at + timedelta(seconds=61)
    assert jobs.recent_twin(text("a ceramic teapot"), provider, now=later) is None
    # Pictures are compared by their content, not their file names.
    cup = picture(tmp_path / "cup.png")
    same = tmp_path / "copy-of-cup.png"
    same.write_bytes(cup.read_bytes())
    different = picture(tmp_path / "bowl.png", (10, 200, 90))
    jobs.request(GenerationRequest(GenerationKind.IMAGE, images=(cup,)), provider)
    found = jobs.recent_twin(GenerationRequest(GenerationKind.IMAGE, images=(same,)), provider)
    assert found is not None
    assert found.kind == "image"
    assert (
        jobs.recent_twin(GenerationRequest(GenerationKind.IMAGE, images=(different,)), provider)
        is None
    )
    views = (cup, different, None, None)
    jobs.request(GenerationRequest(GenerationKind.MULTIVIEW, images=views), provider)
    assert jobs.recent_twin(GenerationRequest(GenerationKind.MULTIVIEW, images=views), provider)
    swapped = (different, cup, None, None)
    assert (
        jobs.recent_twin(GenerationRequest(GenerationKind.MULTIVIEW, images=swapped), provider)
        is None
    )


def test_a_request_that_never_reached_the_provider_is_no_twin(
    library: Library,
    emulator: MeshyEmulator | TripoEmulator,
    clock: Clock,
    http: httpx.Client,
    provider: str,
) -> None:
    jobs = make_jobs(library, emulator, clock, http)
    unsent = jobs.request(text(), provider)
    jobs.cancel_pending(unsent.id)  # cancelled before it was sent: it cost nothing
    assert jobs.recent_twin(text(), provider) is None
    sent = jobs.request(text(), provider)
    jobs.submit(sent.id)
    jobs.cancel_pending(sent.id)  # it reached the provider: it may be costing money
    found = jobs.recent_twin(text(), provider)
    assert found is not None
    assert found.id == sent.id


def test_the_model_gets_the_name_chosen_before_generating(
    library: Library,
    emulator: MeshyEmulator | TripoEmulator,
    clock: Clock,
    http: httpx.Client,
    provider: str,
) -> None:
    jobs = make_jobs(library, emulator, clock, http)
    prompt = "a ceramic teapot shaped like a snail, glazed in a deep cobalt blue with gold rims"
    plain = jobs.run(jobs.request(text(prompt), provider).id)
    named = jobs.run(jobs.request(text(prompt), provider, name="  Snail teapot ").id)
    assert named.name == "Snail teapot"

    def model_name(gen: GenerationRecord) -> str:
        version = library.get_version_by_id(gen.result_version_id or 0)
        return library.get_model(version.model_id).name

    assert model_name(plain) == "a ceramic teapot shaped like a snail"  # not the whole prompt
    assert model_name(named) == "Snail teapot"


def test_short_names_are_a_few_words_cut_at_a_word() -> None:
    from studio.jobs.naming import NAME_LIMIT, generation_name, picture_name, short_name

    assert short_name("a ceramic teapot shaped like a snail, glazed in deep blue") == (
        "a ceramic teapot shaped like a snail"
    )
    assert short_name('"A chair" made of oak. It has four legs') == "A chair made of oak"
    assert short_name("a vase with a handle and a lid and a base of the") == (
        "a vase with a handle and a lid"
    )  # never ends on "and"/"a"
    long_word = "x" * 70
    assert short_name(long_word) == "x" * NAME_LIMIT
    for prompt in ("a " * 60, "lorem ipsum dolor sit amet " * 9, "one two three"):
        name = short_name(prompt)
        assert len(name) <= NAME_LIMIT
        assert prompt.startswith(name) or " ".join(prompt.split()).startswith(name)
    assert short_name("   ...  ") == ""
    assert picture_name("/photos/IMG_2034-front.png") == "IMG 2034 front"
    assert generation_name("", ["side_view.jpg"]) == "side view"
    assert generation_name("", []) == "Generated model"
    assert generation_name("a cup", [], chosen=" Mug ") == "Mug"


def test_a_hold_names_the_generation_it_paid_for(
    library: Library,
    emulator: MeshyEmulator | TripoEmulator,
    clock: Clock,
    http: httpx.Client,
    provider: str,
) -> None:
    jobs = make_jobs(library, emulator, clock, http)
    jobs.gate = RecordingGate(price=10)
    gen = jobs.request(text(), provider, name="Snail teapot")
    jobs.submit(gen.id)
    held = library.get_generation(gen.id)
    assert held.hold_id is not None
    found = jobs.generation_for_hold(held.hold_id)
    assert found is not None
    assert found.id == gen.id
    assert found.name == "Snail teapot"
    assert jobs.generation_for_hold("no-such-hold") is None
