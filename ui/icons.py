"""Toolbar and side-bar icons from the Phosphor icon font (MIT), drawn in the theme's colour.

Icons are vectors, so they stay crisp at any device pixel ratio. They are drawn in the
palette's text colour when asked for; :func:`refresh` redraws every icon made here after a
theme change.
"""

from __future__ import annotations

import weakref
from typing import Any

import qtawesome  # type: ignore[import-untyped]  # no type hints shipped
import shiboken6
from PySide6 import QtGui, QtWidgets

#: What each action shows: a Phosphor icon name (``ph.<name>``).
NAMES = {
    "open": "folder-open",
    "export": "export",
    "screenshot": "camera",
    "export-image": "image",
    "generate": "sparkle",
    "fit": "arrows-out",
    "ortho": "square-half",
    "grid": "grid-four",
    "bounds": "bounding-box",
    "axes": "globe-simple",
    "smooth": "circle-half",
    "flat": "cube",
    "wireframe": "intersect",
    "edges": "selection-all",
    "points": "dots-nine",
    "settings": "gear",
    "help": "question",
    "library": "books",
    "versions": "stack",
    "inspector": "info",
    "account": "user-circle",
    "sync": "arrows-clockwise",
    "repair": "wrench",
    "ruler": "ruler",
    "view": "eye",
    "activate": "check-circle",
    "delete": "trash",
    "rename": "pencil-simple",
    "tag": "tag",
    "reveal": "folder-notch-open",
}

#: Every action or button given an icon here, with the icon it shows.
_given: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def _color(role: QtGui.QPalette.ColorRole = QtGui.QPalette.ColorRole.ButtonText) -> QtGui.QColor:
    app = QtWidgets.QApplication.instance()
    if isinstance(app, QtWidgets.QApplication):
        return app.palette().color(role)
    return QtGui.QColor("#e6e6e6")


def icon(kind: str) -> QtGui.QIcon:
    name = NAMES.get(kind, kind)
    disabled = _color()
    disabled.setAlphaF(0.35)
    made: QtGui.QIcon = qtawesome.icon(f"ph.{name}", color=_color(), color_disabled=disabled)
    return made


def give(target: QtGui.QAction | QtWidgets.QAbstractButton, kind: str) -> None:
    """Set ``target``'s icon and remember it, so a theme change can redraw it."""
    target.setIcon(icon(kind))
    _given[target] = kind


def refresh() -> None:
    for target, kind in list(_given.items()):
        if shiboken6.isValid(target):  # else its widget is gone
            target.setIcon(icon(kind))
        else:
            del _given[target]
