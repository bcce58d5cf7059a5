"""Thumbnail pixmaps for library records, with a neutral placeholder."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui

PLACEHOLDER_COLOR = "#34373c"


def placeholder(size: int) -> QtGui.QPixmap:
    pixmap = QtGui.QPixmap(size, size)
    pixmap.fill(QtGui.QColor(PLACEHOLDER_COLOR))
    painter = QtGui.QPainter(pixmap)
    painter.setPen(QtGui.QColor("#6b7078"))
    painter.drawText(pixmap.rect(), QtCore.Qt.AlignmentFlag.AlignCenter, "3D")
    painter.end()
    return pixmap


def thumbnail(path: Path | None, size: int) -> QtGui.QPixmap:
    """The PNG at ``path`` scaled to ``size``, or the placeholder."""
    if path is not None:
        pixmap = QtGui.QPixmap(str(path))
        if not pixmap.isNull():
            return pixmap.scaled(
                size,
                size,
                QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                QtCore.Qt.TransformationMode.SmoothTransformation,
            )
    return placeholder(size)
