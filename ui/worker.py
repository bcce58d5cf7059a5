"""The one place long work leaves the GUI thread.

A :class:`Job` runs a plain core function on the thread pool with ``progress`` and
``cancel`` wired in, and always reports back exactly once: ``finished(result)`` or
``failed(exception)``. Signals are delivered to bound slots on GUI-thread objects
(queued), never to lambdas, which would run in the worker's thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6 import QtCore

from studio.work import CancelToken

log = logging.getLogger(__name__)


class Job(QtCore.QObject):
    """A unit of background work with ``started / progress / finished / failed``."""

    started = QtCore.Signal()
    progress = QtCore.Signal(float, str)
    finished = QtCore.Signal(object)
    failed = QtCore.Signal(object)

    def __init__(
        self,
        fn: Callable[..., Any],
        *args: Any,
        title: str = "",
        takes_progress: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.title = title
        self.cancel_token = CancelToken()
        self._takes_progress = takes_progress
        self.done = False
        #: Set when the owner is closing: the result is no longer wanted, and no signal
        #: may reach objects that are being torn down.
        self.dropped = False

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def _report(self, fraction: float, stage: str) -> None:
        self.progress.emit(float(fraction), stage)

    def run(self) -> None:
        """Runs on a pool thread."""
        self.started.emit()
        try:
            if self._takes_progress:
                result = self.fn(
                    *self.args, progress=self._report, cancel=self.cancel_token, **self.kwargs
                )
            else:
                result = self.fn(*self.args, **self.kwargs)
        except BaseException as exc:  # every failure comes back to the GUI thread
            if not isinstance(exc, Exception):
                raise
            log.debug("job %r failed", self.title, exc_info=True)
            self.done = True
            if not self.dropped:
                self.failed.emit(exc)
            return
        self.done = True
        if not self.dropped:
            self.finished.emit(result)


class _Runnable(QtCore.QRunnable):
    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job
        self.setAutoDelete(True)

    def run(self) -> None:
        self.job.run()


class JobRunner(QtCore.QObject):
    """Starts jobs on a thread pool and keeps them alive until they report."""

    def __init__(self, parent: QtCore.QObject | None = None, max_threads: int = 2) -> None:
        super().__init__(parent)
        self._pool = QtCore.QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._jobs: set[Job] = set()
        self._closed = False

    def start(self, job: Job) -> Job:
        if self._closed:  # the owner is closing: nothing new runs, nothing reports back
            job.dropped = True
            return job
        self._jobs.add(job)
        job.finished.connect(self._forget)
        job.failed.connect(self._forget)
        self._pool.start(_Runnable(job))
        return job

    @QtCore.Slot(object)
    def _forget(self, _result: object) -> None:
        self._jobs = {job for job in self._jobs if not job.done}

    @property
    def active(self) -> int:
        return len([job for job in self._jobs if not job.done])

    def shutdown(self, msecs: int = 10_000, *, cancel: bool = True) -> bool:
        """Start nothing more, drop every result, and wait for the threads to finish.

        ``cancel`` also cancels the running jobs; without it they are only left to end
        (generations must not be cancelled at the provider because the app closes).
        """
        self._closed = True
        for job in list(self._jobs):
            job.dropped = True
            if cancel:
                job.cancel()
        return self.wait(msecs)

    def wait(self, msecs: int = -1) -> bool:
        """Block until every job finished (used at shutdown and by tests)."""
        return bool(self._pool.waitForDone(msecs))
