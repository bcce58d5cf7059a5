"""The status bar: one message line that stays true, and the progress of the current job.

A message may carry a *topic* ("generation", "account", "open"…): a newer message on the same
topic replaces it, and :meth:`StatusArea.clear` removes it once it stops being true (a missing
API key is no longer news while a generation runs). The progress text sits in its own elided
label beside a text-less bar, so a long stage name never clips mid-word.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

from ui.elided import ElidedLabel
from ui.worker import Job

#: Work that takes longer than this shows the progress bar.
PROGRESS_DELAY_MS = 300


class StatusArea(QtCore.QObject):
    """Owns the window's status bar widgets."""

    cancel_requested = QtCore.Signal()

    def __init__(self, bar: QtWidgets.QStatusBar) -> None:
        super().__init__(bar)
        self.label = ElidedLabel()
        self.label.setObjectName("statusLabel")
        self.progress_label = ElidedLabel()
        self.progress_label.setObjectName("progressLabel")
        self.progress_label.setMaximumWidth(320)
        self.progress_bar = QtWidgets.QProgressBar()
        self.progress_bar.setObjectName("progressBar")
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setFixedWidth(140)
        self.progress_bar.setTextVisible(False)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.offer_button = QtWidgets.QPushButton("")
        self.offer_button.setObjectName("offerButton")
        self.offer_button.setFlat(True)
        self.offer_button.hide()
        self.offer_button.clicked.connect(self._take_offer)
        self._offer: Callable[[], None] | None = None
        self._offer_timer = QtCore.QTimer(self)
        self._offer_timer.setSingleShot(True)
        self._offer_timer.timeout.connect(self.withdraw_offer)
        bar.addWidget(self.label, 1)
        bar.addWidget(self.offer_button)
        bar.addPermanentWidget(self.progress_label)
        bar.addPermanentWidget(self.progress_bar)
        bar.addPermanentWidget(self.cancel_button)
        for widget in (self.progress_label, self.progress_bar, self.cancel_button):
            widget.hide()
        self._topic = ""
        self._job: Job | None = None
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PROGRESS_DELAY_MS)
        self._timer.timeout.connect(self._reveal)

    # ------------------------------------------------------------------ messages
    @property
    def text(self) -> str:
        return self.label.text()

    @QtCore.Slot(str)
    def show_message(self, text: str, topic: str = "") -> None:
        self._topic = topic
        self.label.setText(text)

    def clear(self, topic: str) -> None:
        """Remove the message if it is still the one about ``topic``."""
        if self._topic == topic:
            self._topic = ""
            self.label.setText("")

    def offer(
        self, text: str, label: str, take: Callable[[], None], *, for_ms: int = 30_000
    ) -> None:
        """Show ``text`` with a button (e.g. "Undo") that runs ``take`` for a while."""
        self.show_message(text, "offer")
        self._offer = take
        self.offer_button.setText(label)
        self.offer_button.show()
        self._offer_timer.start(for_ms)

    def withdraw_offer(self) -> None:
        self._offer = None
        self.offer_button.hide()
        self._offer_timer.stop()
        self.clear("offer")

    def _take_offer(self) -> None:
        take, self._offer = self._offer, None
        self.withdraw_offer()
        if take is not None:
            take()

    # ------------------------------------------------------------------ progress
    @property
    def job(self) -> Job | None:
        return self._job

    def track(self, job: Job, *, cancellable: bool) -> None:
        self._job = job
        job.progress.connect(self._on_progress)
        self.show_message(job.title, "work")
        self.progress_bar.setValue(0)
        self.progress_label.setText(job.title)
        self.cancel_button.setEnabled(cancellable)
        self._timer.start()

    def end(self) -> None:
        self._timer.stop()
        for widget in (self.progress_label, self.progress_bar, self.cancel_button):
            widget.hide()
        self._job = None
        self.clear("work")

    @QtCore.Slot()
    def _reveal(self) -> None:
        if self._job is not None and not self._job.done:
            for widget in (self.progress_label, self.progress_bar, self.cancel_button):
                widget.show()

    @QtCore.Slot(float, str)
    def _on_progress(self, fraction: float, stage: str) -> None:
        self.progress_bar.setValue(int(fraction * 1000))
        self.progress_label.setText(stage)
