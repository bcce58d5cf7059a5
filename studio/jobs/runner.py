"""A generation from request to library version, persisted at every step.

States (``generations.status``)::

    requested -> submitting -> queued/running -> downloading -> importing -> succeeded
    (any step before succeeded may end in failed, cancelled or expired)

- The row exists before anything is sent. ``submitting`` is written *before* the create
  call, so a crash during it is seen on restart as "may have been accepted": the job then
  looks for the task (Meshy can list tasks) and never submits again (a replay bills twice).
- Outputs are downloaded as soon as the task succeeds (links expire), re-polling for
  fresh links when one has expired.
- The new version and the generation's ``result_version_id`` are committed together, so
  a job resumed after its import never imports twice.
- Credits: held before submitting, captured on success, released on every other end.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from studio import meshes
from studio.errors import Cancelled, KilnError
from studio.jobs.cancelling import StopResult, cancel_consequence, cancel_outcome
from studio.jobs.gate import CreditGate, NoAccountGate
from studio.jobs.naming import generation_name
from studio.jobs.twins import TWIN_WINDOW, fingerprint, stored_fingerprint
from studio.library import GenerationRecord, Library
from studio.providers.base import (
    VIEW_NAMES,
    GenerationKind,
    GenerationRequest,
    Provider,
    ProviderTask,
    Quality,
    TaskOutput,
    TaskStatus,
)
from studio.providers.errors import (
    AmbiguousSubmissionError,
    GenerationFailedError,
    LinkExpiredError,
    ProviderError,
)
from studio.work import NEVER_CANCELLED, CancelToken, Progress, no_progress

log = logging.getLogger(__name__)

#: ``provider_for(name) -> Provider``; raises a KilnError (no key, say) when it can't.
ProviderFactory = Callable[[str], Provider]

FIRST_POLL_INTERVAL = 2.0
MAX_POLL_INTERVAL = 20.0
#: How often an expired result link is refreshed before giving up.
LINK_REFRESHES = 3
#: An ambiguous create is looked for among tasks made this long before it was sent.
SUBMIT_CLOCK_SLACK = 60.0
PROVIDER_LABEL = {"meshy": "Meshy", "tripo": "Tripo"}


class JobPaused(KilnError):
    """The job can't go on now (network down, say) but is not lost: it resumes later."""


class Jobs:
    """Creates and runs generations. No threads here: the UI runs :meth:`run` on a worker,
    the CLI calls it directly."""

    def __init__(
        self,
        library: Library,
        provider_for: ProviderFactory,
        gate: CreditGate | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.library = library
        self.provider_for = provider_for
        self.gate: CreditGate = gate or NoAccountGate()
        self._sleep = sleep
        self._now = now

    # ------------------------------------------------------------------ requests
    def request(
        self,
        request: GenerationRequest,
        provider: str,
        *,
        model_id: int | None = None,
        name: str = "",
    ) -> GenerationRecord:
        """Check ``request`` and remember it as a ``requested`` generation (nothing sent).

        ``model_id`` makes the result the model's next version (regenerate). ``name`` is
        the new model's name; empty: a few words of the prompt (:func:`short_name`).
        """
        request.check(max_prompt=self.provider_for(provider).max_prompt)
        images: list[tuple[str, Path]] = []
        if request.kind is GenerationKind.IMAGE:
            images = [("image", p) for p in request.images if p is not None]
        elif request.kind is GenerationKind.MULTIVIEW:
            images = [(slot, p) for slot, p in zip(VIEW_NAMES, request.images, strict=False) if p]
        return self.library.create_generation(
            provider=provider,
            kind=request.kind.value,
            quality=request.quality.value,
            prompt=request.prompt.strip(),
            model_id=model_id,
            images=images,
            name=name,
        )

    def request_of(self, generation: GenerationRecord) -> GenerationRequest:
        """Rebuild the request of a stored generation (its pictures from the store)."""
        kind = GenerationKind(generation.kind)
        by_slot = self.library.generation_images(generation)
        images: tuple[Path | None, ...] = ()
        if kind is GenerationKind.IMAGE:
            images = (by_slot["image"],)
        elif kind is GenerationKind.MULTIVIEW:
            images = tuple(by_slot.get(slot) for slot in VIEW_NAMES)
        return GenerationRequest(
            kind=kind, prompt=generation.prompt, images=images, quality=Quality(generation.quality)
        )

    def unfinished(self) -> list[GenerationRecord]:
        return self.library.unfinished_generations()

    def recent_twin(
        self,
        request: GenerationRequest,
        provider: str,
        *,
        within: float = TWIN_WINDOW,
        now: datetime | None = None,
    ) -> GenerationRecord | None:
        """The newest generation asked for in the last ``within`` seconds with the same
        provider, kind, description, pictures and quality, or ``None``.

        The window asks "did you mean to pay twice?" before a second identical request
        goes out. One that ended before reaching the provider (refused, cancelled unsent)
        cost nothing and does not count.
        """
        moment = now or datetime.now(UTC)
        wanted = fingerprint(request, provider)
        for gen in self.library.generations(limit=50):
            if (moment - gen.created_at).total_seconds() > within:
                break  # newest first: the rest are older still
            if gen.finished and gen.provider_task_id is None and gen.status != "succeeded":
                continue
            if stored_fingerprint(gen) == wanted:
                return gen
        return None

    def generation_for_hold(self, hold_id: str) -> GenerationRecord | None:
        """The generation a Kiln credit hold paid for (to name its ledger rows)."""
        for gen in self.library.generations(limit=1000):
            if gen.hold_id == hold_id:
                return gen
        return None

    def cancel_consequence(self, gen: GenerationRecord) -> str:
        """What Cancel would do to credits for ``gen`` right now (see :mod:`cancelling`)."""
        return cancel_consequence(gen.provider, gen.status, kiln_held=gen.credits_held)

    # ------------------------------------------------------------------ running
    def run(
        self,
        generation_id: int,
        *,
        progress: Progress = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
        stop: CancelToken = NEVER_CANCELLED,
    ) -> GenerationRecord:
        """Take the generation as far as it goes: to ``succeeded`` or another end.

        Safe to call again on a generation interrupted at any point (crash, network).
        Returns the final record; a failure is recorded on it (``error``) rather than
        raised. ``cancel`` is the designer's cancel (the provider is asked to stop);
        ``stop`` only stops following (the app is closing) and raises :class:`JobPaused`,
        as does a network outage: the generation resumes later.
        """
        gen = self.library.get_generation(generation_id)
        if gen.finished:
            return gen
        progress = _never_backwards(progress)
        try:
            provider = self.provider_for(gen.provider)
            request = self.request_of(gen)
            gen = self._submit(gen, provider, request, cancel)
            if not gen.finished:
                name = PROVIDER_LABEL.get(gen.provider, gen.provider)
                progress(job_fraction(gen), f"Sent to {name}")
                gen = self._follow(gen, provider, request, progress, cancel, stop)
        except Cancelled:
            return self._cancel(self.library.get_generation(generation_id))
        except ProviderError as exc:
            if exc.retryable:  # network down, provider overloaded: not lost, only paused
                name = PROVIDER_LABEL.get(gen.provider, gen.provider)
                raise JobPaused(
                    f"{exc} The generation carries on when Kiln Studio can reach {name} again."
                ) from exc
            return self._end(self.library.get_generation(generation_id), "failed", str(exc))
        except JobPaused:
            raise
        except KilnError as exc:  # no credits, a damaged result file, a full disk...
            return self._end(self.library.get_generation(generation_id), "failed", str(exc))
        return gen

    def submit(self, generation_id: int) -> GenerationRecord:
        """Only send the request (for ``generate --no-wait``); :meth:`run` follows it later."""
        gen = self.library.get_generation(generation_id)
        try:
            return self._submit(
                gen, self.provider_for(gen.provider), self.request_of(gen), NEVER_CANCELLED
            )
        except ProviderError as exc:
            if exc.retryable:
                raise
            return self._end(self.library.get_generation(generation_id), "failed", str(exc))

    def cancel_pending(self, generation_id: int) -> GenerationRecord:
        """Cancel a generation that is not running in any worker (e.g. after a restart)."""
        gen = self.library.get_generation(generation_id)
        if gen.finished:
            return gen
        return self._cancel(gen)

    # ------------------------------------------------------------------ steps
    def _submit(
        self,
        gen: GenerationRecord,
        provider: Provider,
        request: GenerationRequest,
        cancel: CancelToken,
    ) -> GenerationRecord:
        if gen.status == "requested":
            cancel.raise_if_cancelled()
            if gen.hold_id is None and gen.credits_held is None:
                price = self.gate.price(request, gen.provider)
                if price is not None:
                    hold_id = self.gate.hold(gen, price)
                    gen = self.library.update_generation(
                        gen.id, hold_id=hold_id, credits_held=price
                    )
            # Written before the create goes out: a crash from here on may have made a task.
            gen = self.library.update_generation(
                gen.id, status="submitting", submitted_at=_utc(self._now())
            )
            try:
                task = provider.submit(request)
            except AmbiguousSubmissionError:
                return self._reconcile(gen, provider, request)
            except ProviderError as exc:
                if exc.retryable:
                    # Refused before it was accepted (429/5xx on create): safe to ask again.
                    self.library.update_generation(gen.id, status="requested")
                raise
            return self._record_task(gen, task)
        if gen.status == "submitting":
            return self._reconcile(gen, provider, request)
        return gen

    def _reconcile(
        self, gen: GenerationRecord, provider: Provider, request: GenerationRequest
    ) -> GenerationRecord:
        """A create may or may not have been accepted: find its task, never resubmit."""
        sent = gen.submitted_at.timestamp() if gen.submitted_at else self._now()
        found = provider.find_submitted(request, sent - SUBMIT_CLOCK_SLACK)
        if found is not None:
            log.info("generation %s: found the task its interrupted create made", gen.id)
            return self._record_task(gen, found)
        name = PROVIDER_LABEL.get(gen.provider, gen.provider)
        raise AmbiguousSubmissionError(
            f"The connection to {name} broke while the generation was being sent, so it may "
            f"have started there. Kiln Studio did not send it again, to avoid paying twice; "
            f"check your {name} dashboard.",
            provider=gen.provider,
        )

    def _record_task(self, gen: GenerationRecord, task: ProviderTask) -> GenerationRecord:
        return self.library.update_generation(
            gen.id,
            provider_task_id=task.task_id,
            status=_running_status(task),
            stage=task.stage,
            raw_status=task.raw_status,
            progress=_overall_progress(gen, task),
        )

    def _follow(
        self,
        gen: GenerationRecord,
        provider: Provider,
        request: GenerationRequest,
        progress: Progress,
        cancel: CancelToken,
        stop: CancelToken,
    ) -> GenerationRecord:
        interval = FIRST_POLL_INTERVAL
        while True:
            if gen.result_version_id is not None:
                return self._settle(gen)
            if gen.status in ("downloading", "importing"):
                return self._finish(gen, provider, progress, cancel)
            if cancel.cancelled:
                raise Cancelled()
            if stop.cancelled:
                raise JobPaused("Stopped following the generation; it carries on next time.")
            assert gen.provider_task_id is not None
            task = provider.poll(gen.provider_task_id)
            gen = self._record_task(gen, task) if not task.status.finished else gen
            progress(job_fraction(gen), _stage_text(gen, task))
            if task.status is TaskStatus.SUCCEEDED:
                chained = provider.advance(task, request)
                if chained.task_id != task.task_id:
                    gen = self._record_task(gen, chained)
                    interval = FIRST_POLL_INTERVAL
                    continue
                gen = self.library.update_generation(
                    gen.id, status="downloading", raw_status=task.raw_status, progress=100
                )
                return self._finish(gen, provider, progress, cancel, task)
            if task.status is TaskStatus.CANCELLED:
                return self._end(gen, "cancelled", "The generation was cancelled.")
            if task.status is TaskStatus.EXPIRED:
                return self._end(gen, "expired", task.error or "The provider let the task expire.")
            if task.status is TaskStatus.FAILED:
                name = PROVIDER_LABEL.get(gen.provider, gen.provider)
                reason = task.error or "it gave no reason"
                return self._end(gen, "failed", f"{name} could not make this model: {reason}")
            self._wait(interval, cancel, stop)
            interval = min(interval * 1.5, MAX_POLL_INTERVAL)

    def _wait(self, seconds: float, cancel: CancelToken, stop: CancelToken) -> None:
        # Short slices, so a cancel is noticed promptly even between slow polls.
        end = self._now() + seconds
        while not cancel.cancelled and not stop.cancelled:
            left = end - self._now()
            if left <= 0:
                return
            self._sleep(min(left, 0.5))

    def _finish(
        self,
        gen: GenerationRecord,
        provider: Provider,
        progress: Progress,
        cancel: CancelToken,
        task: ProviderTask | None = None,
    ) -> GenerationRecord:
        assert gen.provider_task_id is not None
        with tempfile.TemporaryDirectory(prefix="kiln-generation-") as tmp:
            folder = Path(tmp)
            for attempt in range(LINK_REFRESHES + 1):
                if task is None or attempt > 0:
                    task = provider.poll(gen.provider_task_id)  # fresh links
                try:
                    model, preview = self._download(task, provider, folder, progress, cancel)
                    break
                except LinkExpiredError:
                    if attempt == LINK_REFRESHES:
                        raise
                    log.info("generation %s: a result link expired; fetching fresh ones", gen.id)
            gen = self.library.update_generation(gen.id, status="importing")
            progress(job_fraction(gen), "Adding to the library")
            gen = self._import(gen, model, preview, cancel)
        return self._settle(gen)

    def _download(
        self,
        task: ProviderTask,
        provider: Provider,
        folder: Path,
        progress: Progress,
        cancel: CancelToken,
    ) -> tuple[Path, Path | None]:
        models = task.models
        if not models:
            raise GenerationFailedError(
                "The provider finished but offered no model file.", provider=task.provider
            )
        chosen: TaskOutput = models[0]
        target = folder / f"model.{chosen.format}"

        def report(fraction: float, _stage: str) -> None:
            progress(PROVIDER_SHARE + DOWNLOAD_SHARE * fraction, "Downloading the model")

        provider.download(chosen, target, progress=report, cancel=cancel)
        preview: Path | None = None
        if task.preview is not None:
            try:
                preview = provider.download(task.preview, folder / "preview.png", cancel=cancel)
            except ProviderError as exc:
                log.info("no provider preview image: %s", exc)  # a local render replaces it
        return target, preview

    def _import(
        self, gen: GenerationRecord, model: Path, preview: Path | None, cancel: CancelToken
    ) -> GenerationRecord:
        scene = meshes.load(model, cancel=cancel)
        stats = meshes.compute_stats(scene, cancel=cancel)
        name = _model_name(gen)
        kind = "regeneration" if gen.model_id is not None else "generation"
        result = self.library.add_version(
            gen.model_id,
            {f"{_file_stem(name)}{model.suffix}": model},
            main=f"{_file_stem(name)}{model.suffix}",
            format=scene.format,
            stats=stats.to_dict(),
            source={
                "kind": kind,
                "provider": gen.provider,
                "generation": gen.uid,
                "task_id": gen.provider_task_id,
                "prompt": gen.prompt,
                "quality": gen.quality,
                "images": [i.sha256 for i in gen.images],
            },
            name=name,
            generation_id=gen.id,
        )
        if preview is not None and preview.stat().st_size:
            try:
                self.library.set_thumbnail(result.version.id, preview.read_bytes())
            except KilnError as exc:
                log.info("provider preview not kept as thumbnail: %s", exc)
        return self.library.get_generation(gen.id)

    def _settle(self, gen: GenerationRecord) -> GenerationRecord:
        charged = self.gate.capture(gen)
        return self.library.update_generation(
            gen.id, status="succeeded", progress=100, credits_charged=charged
        )

    def _cancel(self, gen: GenerationRecord) -> GenerationRecord:
        """Stop the task where the provider can, and say what that did to credits."""
        status = gen.status
        stop = StopResult.NOT_ASKED
        if gen.provider_task_id and status in ("submitting", "queued", "running"):
            provider = self.provider_for(gen.provider)
            status = self._status_now(gen, provider)
            if status in ("queued", "running"):
                stop = self._ask_to_stop(gen, provider)
        # "submitting" without a task id (a create cut off by a restart): nothing to stop,
        # and the outcome says the provider may have it.
        message = cancel_outcome(gen.provider, status, stop, kiln_released=gen.credits_held)
        return self._end(gen, "cancelled", message)

    def _status_now(self, gen: GenerationRecord, provider: Provider) -> str:
        """Queued or running *now* (the last poll may be seconds old); finished counts as
        done there. The stored status when the provider can't be read."""
        assert gen.provider_task_id is not None
        try:
            task = provider.poll(gen.provider_task_id)
        except ProviderError as exc:
            log.info("generation %s: could not read the task before cancelling: %s", gen.id, exc)
            return "running" if gen.status == "submitting" else gen.status
        if task.status is TaskStatus.QUEUED:
            return "queued"
        if task.status is TaskStatus.RUNNING:
            return "running"
        if task.status is TaskStatus.SUCCEEDED:
            return "downloading"  # made and charged: nothing left to stop
        return gen.status

    def _ask_to_stop(self, gen: GenerationRecord, provider: Provider) -> StopResult:
        assert gen.provider_task_id is not None
        try:
            stopped = provider.cancel(gen.provider_task_id)
        except ProviderError as exc:
            log.info("generation %s: the provider did not take the cancel: %s", gen.id, exc)
            return StopResult.UNREACHABLE
        return StopResult.STOPPED if stopped else StopResult.CANNOT_STOP

    def _end(self, gen: GenerationRecord, status: str, message: str) -> GenerationRecord:
        if gen.finished:
            return gen
        self.gate.release(gen)
        return self.library.update_generation(gen.id, status=status, error=message)


#: How a job's bar divides: the provider's work, then downloading, then importing.
PROVIDER_SHARE = 0.9
DOWNLOAD_SHARE = 0.05


def job_fraction(gen: GenerationRecord) -> float:
    """How far along the whole job is, 0..1: one figure for every view of it."""
    if gen.status == "succeeded":
        return 1.0
    if gen.status == "importing":
        return PROVIDER_SHARE + DOWNLOAD_SHARE
    if gen.status == "downloading":
        return PROVIDER_SHARE
    return PROVIDER_SHARE * gen.progress / 100


def _never_backwards(progress: Progress) -> Progress:
    """Wrap ``progress`` so the fraction reported never decreases."""
    highest = [0.0]

    def report(fraction: float, stage: str) -> None:
        highest[0] = max(highest[0], fraction)
        progress(highest[0], stage)

    return report


def _overall_progress(gen: GenerationRecord, task: ProviderTask) -> int:
    """The job's progress: a chained job (Meshy ultra: preview, then a refine task that
    starts again at 0) spends the first half in the preview and the second in the refine."""
    if gen.quality != Quality.ULTRA.value or task.stage not in ("preview", "refine"):
        return task.progress
    if gen.kind != GenerationKind.TEXT.value:
        return task.progress
    return task.progress // 2 + (50 if task.stage == "refine" else 0)


def _running_status(task: ProviderTask) -> str:
    return "queued" if task.status is TaskStatus.QUEUED else "running"


def _stage_text(gen: GenerationRecord, task: ProviderTask) -> str:
    name = PROVIDER_LABEL.get(gen.provider, gen.provider)
    if task.status is TaskStatus.QUEUED:
        return f"Waiting in {name}'s queue"
    if task.stage == "refine":
        return f"{name} is painting the textures"
    return f"{name} is generating"


def _model_name(gen: GenerationRecord) -> str:
    return generation_name(gen.prompt, [i.filename for i in gen.images], gen.name)


def _file_stem(name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.lower())
    return "-".join(part for part in safe.split("-") if part)[:50] or "model"


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
