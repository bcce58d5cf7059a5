"""Failures reach the designer once, through one handler.

Expected failures (:class:`studio.errors.KilnError`) show their plain sentence. Anything
else is a bug: it is logged with its traceback and a crash dialog offers the details and
the log file's location.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from types import TracebackType

from PySide6 import QtCore, QtWidgets

from studio.errors import Cancelled, KilnError

log = logging.getLogger(__name__)


class CrashDialog(QtWidgets.QDialog):
    """Shows that something went wrong on our side, with the details to send us."""

    def __init__(
        self, exc: BaseException, log_path: Path | None, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("crashDialog")
        self.setWindowTitle("Kiln Studio hit a problem")
        layout = QtWidgets.QVBoxLayout(self)
        where = f"<br>The log is at <code>{log_path}</code>." if log_path else ""
        message = QtWidgets.QLabel(
            "Something went wrong inside Kiln Studio. Your library is safe; the last action "
            f"may not have finished.{where}"
        )
        message.setWordWrap(True)
        message.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(message)
        details = QtWidgets.QPlainTextEdit()
        details.setObjectName("crashDetails")
        details.setReadOnly(True)
        details.setPlainText("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        layout.addWidget(details)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(640, 360)


class ErrorReporter(QtCore.QObject):
    """The single sink for failures from actions and workers."""

    #: Emitted with the sentence shown, for the status bar and for tests.
    reported = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget, log_path: Path | None) -> None:
        super().__init__(parent)
        self._parent = parent
        self._log_path = log_path
        self.last_message = ""
        #: Tests and --screenshot runs set this so no modal dialog blocks.
        self.interactive = True

    @QtCore.Slot(object)
    def report(self, exc: BaseException, context: str = "") -> None:
        if isinstance(exc, Cancelled):
            self._show_plain("Cancelled.", modal=False)
            return
        if isinstance(exc, KilnError):
            text = f"{context} {exc.message}".strip() if context else exc.message
            log.info("expected failure: %s", text)
            self._show_plain(text, modal=True)
            return
        log.error("unexpected error", exc_info=(type(exc), exc, exc.__traceback__))
        self.last_message = "Something went wrong inside Kiln Studio."
        self.reported.emit(self.last_message)
        if self.interactive:
            CrashDialog(exc, self._log_path, self._parent).exec()

    def report_plain(self, text: str) -> None:
        """Tell the designer something they can fix, without an exception behind it."""
        self._show_plain(text, modal=True)

    def _show_plain(self, text: str, *, modal: bool) -> None:
        self.last_message = text
        self.reported.emit(text)
        if modal and self.interactive:
            QtWidgets.QMessageBox.warning(self._parent, "Kiln Studio", text)

    def install_excepthook(self) -> None:
        """Route uncaught exceptions on the GUI thread to the crash dialog."""

        def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
            if issubclass(kind, KeyboardInterrupt):
                sys.__excepthook__(kind, exc, tb)
                return
            self.report(exc)

        sys.excepthook = hook
