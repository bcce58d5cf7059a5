"""A one-line label that never clips its text: it elides it to the width it gets.

Progress and stage texts change while a panel is narrow; a plain ``QLabel`` either
pushes the panel wider or cuts letters off ("reparing the vie"). This one shows
"Preparing the…" with the whole text in its tooltip, and asks for little width.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets


class ElidedLabel(QtWidgets.QLabel):
    """``setText``/``text`` are the full text; what is painted is elided to fit (``…``)."""

    def __init__(self, text: str = "", parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setWordWrap(False)
        self.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        )
        self.setText(text)

    def text(self) -> str:
        """The text as set, before eliding (what is painted: :meth:`shown_text`)."""
        return self._full

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def shown_text(self) -> str:
        """The text on screen now (elided when the label is narrower than the text)."""
        return super().text()

    def minimumSizeHint(self) -> QtCore.QSize:
        hint = super().minimumSizeHint()
        return QtCore.QSize(self.fontMetrics().horizontalAdvance("…") * 3, hint.height())

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width()
        shown = self.fontMetrics().elidedText(
            self._full, QtCore.Qt.TextElideMode.ElideRight, max(0, width)
        )
        super().setText(shown if width > 0 else self._full)
