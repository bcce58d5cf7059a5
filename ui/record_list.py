"""Lists of library records as Qt item models, drawn as two-line cards.

A card shows a thumbnail, a title line with an optional badge (the *active* pill, in the
accent colour with dark text, never the selection's colour), and a detail line; both lines
elide to the list's width, so a list never needs a horizontal scrollbar. The whole record
is in the tooltip.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6 import QtCore, QtGui, QtWidgets

from ui.theme import ACCENT

T = TypeVar("T")

RECORD_ROLE = QtCore.Qt.ItemDataRole.UserRole
BADGE_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1
DETAIL_ROLE = QtCore.Qt.ItemDataRole.UserRole + 2

ICON_SIZE = 44
ROW_PADDING = 6


@dataclass(frozen=True)
class Card:
    title: str
    detail: str
    badge: str = ""
    tooltip: str = ""
    icon: QtGui.QIcon | None = None


class RecordListModel(QtCore.QAbstractListModel, Generic[T]):
    """Rows of records, each described by ``describe(record) -> Card``."""

    def __init__(self, describe: Callable[[T], Card], parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._describe = describe
        self._records: list[T] = []
        self._cards: list[Card] = []

    def set_records(self, records: Sequence[T]) -> None:
        self.beginResetModel()
        self._records = list(records)
        self._cards = [self._describe(r) for r in self._records]
        self.endResetModel()

    def records(self) -> list[T]:
        return list(self._records)

    def rowCount(self, parent: Any = None) -> int:
        if parent is not None and parent.isValid():
            return 0
        return len(self._records)

    def data(self, index: Any, role: int = QtCore.Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._records):
            return None
        card = self._cards[index.row()]
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return card.title
        if role == QtCore.Qt.ItemDataRole.ToolTipRole:
            return card.tooltip or f"{card.title}\n{card.detail}"
        if role == QtCore.Qt.ItemDataRole.DecorationRole:
            return card.icon
        if role == RECORD_ROLE:
            return self._records[index.row()]
        if role == BADGE_ROLE:
            return card.badge
        if role == DETAIL_ROLE:
            return card.detail
        return None


class CardDelegate(QtWidgets.QStyledItemDelegate):
    """Paints a :class:`Card`: icon, title + badge, muted detail line, all elided."""

    def sizeHint(self, option: Any, index: Any) -> QtCore.QSize:
        height = max(ICON_SIZE, 2 * option.fontMetrics.height() + 4) + 2 * ROW_PADDING
        return QtCore.QSize(120, height)

    def paint(self, painter: QtGui.QPainter, option: Any, index: Any) -> None:
        style_option = QtWidgets.QStyleOptionViewItem(option)
        self.initStyleOption(style_option, index)
        widget = style_option.widget
        style = widget.style() if widget is not None else QtWidgets.QApplication.style()
        # Background and selection, as the style draws them, without the text.
        style_option.text = ""
        style_option.icon = QtGui.QIcon()
        style.drawControl(
            QtWidgets.QStyle.ControlElement.CE_ItemViewItem, style_option, painter, widget
        )
        rect = option.rect.adjusted(ROW_PADDING, ROW_PADDING, -ROW_PADDING, -ROW_PADDING)
        icon = index.data(QtCore.Qt.ItemDataRole.DecorationRole)
        x = rect.left()
        if isinstance(icon, QtGui.QIcon) and not icon.isNull():
            icon_rect = QtCore.QRect(x, rect.top(), ICON_SIZE, ICON_SIZE)
            icon.paint(painter, icon_rect)
            x += ICON_SIZE + 8
        palette = option.palette
        selected = bool(option.state & QtWidgets.QStyle.StateFlag.State_Selected)
        text_color = palette.color(
            QtGui.QPalette.ColorRole.HighlightedText if selected else QtGui.QPalette.ColorRole.Text
        )
        muted = QtGui.QColor(text_color)
        muted.setAlphaF(0.65)
        metrics = option.fontMetrics
        line = metrics.height()
        title = str(index.data(QtCore.Qt.ItemDataRole.DisplayRole) or "")
        badge = str(index.data(BADGE_ROLE) or "")
        detail = str(index.data(DETAIL_ROLE) or "")
        right = rect.right()
        painter.save()
        bold = QtGui.QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        bold_metrics = QtGui.QFontMetrics(bold)
        badge_width = metrics.horizontalAdvance(badge) + 14 if badge else 0
        title_width = max(0, right - x - badge_width - (6 if badge else 0))
        shown_title = bold_metrics.elidedText(
            title, QtCore.Qt.TextElideMode.ElideRight, title_width
        )
        painter.setPen(text_color)
        top = rect.top() + 1
        painter.drawText(QtCore.QRect(x, top, title_width, line), 0, shown_title)
        if badge:
            bx = x + bold_metrics.horizontalAdvance(shown_title) + 6
            pill = QtCore.QRectF(bx, top + 1, badge_width, line - 2)
            painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
            painter.setPen(QtCore.Qt.PenStyle.NoPen)
            painter.setBrush(QtGui.QColor(ACCENT))
            painter.drawRoundedRect(pill, pill.height() / 2, pill.height() / 2)
            painter.setPen(QtGui.QColor("#1d1f22"))
            painter.setFont(option.font)
            painter.drawText(pill, QtCore.Qt.AlignmentFlag.AlignCenter, badge)
        painter.setFont(option.font)
        painter.setPen(muted)
        shown_detail = metrics.elidedText(detail, QtCore.Qt.TextElideMode.ElideRight, right - x)
        painter.drawText(QtCore.QRect(x, top + line + 2, right - x, line), 0, shown_detail)
        painter.restore()


def card_view(name: str, model: QtCore.QAbstractItemModel) -> QtWidgets.QListView:
    """A list view for cards: no horizontal scrollbar, uniform rows, right-click menus."""
    view = QtWidgets.QListView()
    view.setObjectName(name)
    view.setModel(model)
    view.setItemDelegate(CardDelegate(view))
    view.setUniformItemSizes(True)
    view.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
    view.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
    view.setTextElideMode(QtCore.Qt.TextElideMode.ElideRight)
    return view
