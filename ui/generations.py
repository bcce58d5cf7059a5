"""Runs generation jobs on workers and tells the window how they go.

Each running generation has its own worker (they mostly wait on the provider). Closing the
window only stops *following* them; they are not cancelled at the provider and resume
on the next start.
"""

from __future__ import annotations

import logging

from PySide6 import QtCore

from studio.jobs import JobPaused, Jobs
from studio.library import GenerationRecord
from studio.providers.base import Balance, GenerationRequest
from studio.work import CancelToken
from ui.worker import Job, JobRunner

log = logging.getLogger(__name__)

#: Generations that may be followed at once (each waits on its provider most of the time).
MAX_RUNNING = 4


class _Relay(QtCore.QObject):
    """Carries one job's signals to the controller together with its generation id."""

    def __init__(self, controller: GenerationController, generation_id: int) -> None:
        super().__init__(controller)
        self._controller = controller
        self._id = generation_id

    @QtCore.Slot(float, str)
    def on_progress(self, fraction: float, stage: str) -> None:
        self._controller._note_sent(self._id)
        self._controller.progress.emit(self._id, fraction, stage)

    @QtCore.Slot(object)
    def on_finished(self, record: GenerationRecord) -> None:
        self._controller._on_job_done(self._id, record, None)
        self.deleteLater()

    @QtCore.Slot(object)
    def on_failed(self, exc: BaseException) -> None:
        self._controller._on_job_done(self._id, None, exc)
        self.deleteLater()


class GenerationController(QtCore.QObject):
    """The window's handle on :class:`studio.jobs.Jobs`."""

    #: (generation id, fraction 0..1, stage text)
    progress = QtCore.Signal(int, float, str)
    #: A generation reached an end (succeeded, failed, cancelled, expired): the record.
    finished = QtCore.Signal(object)
    #: A generation paused (network down, app closing): (id, plain sentence).
    paused = QtCore.Signal(int, str)
    #: A job hit a bug: the exception, for the window's error reporter.
    crashed = QtCore.Signal(object)
    #: (provider, Balance or None, message when it could not be read)
    balance = QtCore.Signal(str, object, str)
    #: Whether a request is on its way to a provider (Generate waits while it is).
    sending_changed = QtCore.Signal(bool)

    def __init__(self, jobs: Jobs, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self._runner = JobRunner(self, max_threads=MAX_RUNNING)
        self._running: dict[int, Job] = {}
        #: Generations not yet accepted by their provider (status requested / submitting).
        self._sending: set[int] = set()
        self._stop = CancelToken()

    # ------------------------------------------------------------------ generations
    def generate(
        self,
        request: GenerationRequest,
        provider: str,
        *,
        model_id: int | None = None,
        name: str = "",
    ) -> GenerationRecord:
        """Record the request and start following it. Bad input raises a plain KilnError.

        Until the provider has accepted it, :attr:`sending` is true (and
        :attr:`sending_changed` said so): the panel keeps Generate disabled meanwhile, so
        a second click can't send a second paid request.
        """
        generation = self.jobs.request(request, provider, model_id=model_id, name=name)
        self._sending.add(generation.id)
        if len(self._sending) == 1:
            self.sending_changed.emit(True)
        self._start(generation.id)
        return generation

    def retry(self, generation_id: int) -> GenerationRecord:
        """Ask again, as a new generation, for what a finished one asked."""
        old = self.jobs.library.get_generation(generation_id)
        return self.generate(
            self.jobs.request_of(old), old.provider, model_id=old.model_id, name=old.name
        )

    @property
    def sending(self) -> bool:
        """True while a request is on its way to a provider."""
        return bool(self._sending)

    def recent_twin(self, request: GenerationRequest, provider: str) -> GenerationRecord | None:
        """An identical request made in the last minute (see :meth:`Jobs.recent_twin`)."""
        return self.jobs.recent_twin(request, provider)

    def cancel_consequence(self, generation: GenerationRecord) -> str:
        """What Cancel would do to credits for this generation now, in one sentence or two."""
        return self.jobs.cancel_consequence(generation)

    def resume_unfinished(self) -> list[int]:
        """Follow every generation a previous run left unfinished."""
        ids = [g.id for g in self.jobs.unfinished() if g.id not in self._running]
        for generation_id in ids:
            self._start(generation_id)
        return ids

    def cancel(self, generation_id: int) -> None:
        job = self._running.get(generation_id)
        if job is not None:
            job.cancel()
            return
        record = self.jobs.cancel_pending(generation_id)
        self.finished.emit(record)

    @property
    def running(self) -> set[int]:
        return set(self._running)

    def _start(self, generation_id: int) -> None:
        job = Job(
            self.jobs.run, generation_id, stop=self._stop, title=f"Generation {generation_id}"
        )
        relay = _Relay(self, generation_id)
        job.progress.connect(relay.on_progress)
        job.finished.connect(relay.on_finished)
        job.failed.connect(relay.on_failed)
        self._running[generation_id] = job
        self._runner.start(job)

    def _note_sent(self, generation_id: int) -> None:
        """Stop counting ``generation_id`` as sending once its provider has it (or it ended)."""
        if generation_id not in self._sending:
            return
        status = self.jobs.library.get_generation(generation_id).status
        if status not in ("requested", "submitting"):
            self._done_sending(generation_id)

    def _done_sending(self, generation_id: int) -> None:
        if generation_id in self._sending:
            self._sending.discard(generation_id)
            if not self._sending:
                self.sending_changed.emit(False)

    def _on_job_done(
        self, generation_id: int, record: GenerationRecord | None, exc: BaseException | None
    ) -> None:
        self._running.pop(generation_id, None)
        self._done_sending(generation_id)  # finished, paused or crashed: not on its way now
        if record is not None:
            self.finished.emit(record)
        elif isinstance(exc, JobPaused):
            self.paused.emit(generation_id, str(exc))
        elif exc is not None:
            self.crashed.emit(exc)

    # ------------------------------------------------------------------ balances
    def fetch_balance(self, provider: str) -> None:
        """Read the provider balance on a worker; answers through :attr:`balance`."""
        job = Job(_read_balance, self.jobs, provider, takes_progress=False, title="Balance")
        relay = _BalanceRelay(self, provider)
        job.finished.connect(relay.on_finished)
        job.failed.connect(relay.on_failed)
        self._runner.start(job)

    def shutdown(self, wait_ms: int = 10_000) -> None:
        """Stop following (not cancelling) every generation and wait for the workers."""
        self._stop.cancel()
        self._runner.shutdown(wait_ms, cancel=False)


class _BalanceRelay(QtCore.QObject):
    def __init__(self, controller: GenerationController, provider: str) -> None:
        super().__init__(controller)
        self._controller = controller
        self._provider = provider

    @QtCore.Slot(object)
    def on_finished(self, balance: Balance) -> None:
        self._controller.balance.emit(self._provider, balance, "")
        self.deleteLater()

    @QtCore.Slot(object)
    def on_failed(self, exc: BaseException) -> None:
        self._controller.balance.emit(self._provider, None, str(exc))
        self.deleteLater()


def _read_balance(jobs: Jobs, provider: str) -> Balance:
    return jobs.provider_for(provider).balance()
