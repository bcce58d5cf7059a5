"""The window's look: Qt's Fusion style with a calm dark or light palette for 3D work.

"system" follows the operating system's colour scheme (and its changes while the app runs);
"dark" and "light" pin one. Icons are redrawn in the new text colour on every change.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from ui import icons

ACCENT = "#e8964a"  # kiln orange: the active badge, progress, the Generate button

PALETTES = {
    "dark": {
        "window": "#25272b",
        "text": "#e6e6e6",
        "base": "#1d1f22",
        "alternate": "#2a2d31",
        "button": "#2f3236",
        "muted": "#8a8f98",
        "disabled": "#6b7078",
        "selection": "#3d5a80",
        "strip": "#1f2124",
        "banner": "#4a3b22",
        "warning": "#f0b36b",
    },
    "light": {
        "window": "#f2f2f4",
        "text": "#1e1f22",
        "base": "#ffffff",
        "alternate": "#ebebee",
        "button": "#e4e4e8",
        "muted": "#666a72",
        "disabled": "#a0a3a8",
        "selection": "#bcd3f0",
        "strip": "#e2e2e6",
        "banner": "#fbe7c6",
        "warning": "#9a5b00",
    },
}


def effective_theme(choice: str) -> str:
    """ "dark" or "light" for the designer's choice ("system" asks the OS)."""
    if choice in PALETTES:
        return choice
    hints = QtGui.QGuiApplication.styleHints()
    scheme = hints.colorScheme() if hints is not None else QtCore.Qt.ColorScheme.Unknown
    return "light" if scheme == QtCore.Qt.ColorScheme.Light else "dark"


def apply_theme(app: QtWidgets.QApplication, choice: str = "system") -> str:
    """Apply the palette and style sheet; returns the theme in effect."""
    theme = effective_theme(choice)
    c = PALETTES[theme]
    app.setStyle("Fusion")
    palette = QtGui.QPalette()
    role = QtGui.QPalette.ColorRole
    colors = {
        role.Window: c["window"],
        role.WindowText: c["text"],
        role.Base: c["base"],
        role.AlternateBase: c["alternate"],
        role.ToolTipBase: c["alternate"],
        role.ToolTipText: c["text"],
        role.Text: c["text"],
        role.Button: c["button"],
        role.ButtonText: c["text"],
        role.BrightText: "#ffffff",
        role.Highlight: c["selection"],
        role.HighlightedText: c["text"],
        role.Link: ACCENT,
        role.PlaceholderText: c["muted"],
    }
    for key, value in colors.items():
        palette.setColor(key, QtGui.QColor(value))
    disabled = QtGui.QPalette.ColorGroup.Disabled
    for key in (role.Text, role.ButtonText, role.WindowText):
        palette.setColor(disabled, key, QtGui.QColor(c["disabled"]))
    app.setPalette(palette)
    app.setStyleSheet(
        f"QToolBar {{ border: none; spacing: 4px; padding: 2px; }}"
        f"QLabel[role='muted'] {{ color: {c['muted']}; padding: 0 6px; }}"
        f"QLabel[role='strong'] {{ font-weight: 600; padding: 0 8px; }}"
        f"QLabel[role='pageTitle'] {{ font-weight: 600; padding: 8px 8px 4px 8px; }}"
        f"QLabel[role='hint'] {{ color: {c['muted']}; padding: 12px; }}"
        f"QLabel[role='warning'] {{ color: {c['warning']}; padding: 4px; }}"
        f"QWidget[role='strip'] {{ background: {c['strip']}; }}"
        f"QFrame[role='banner'] {{ background: {c['banner']}; border-bottom: 1px solid {ACCENT}; }}"
        f"QToolButton[role='primary'] {{ background: {ACCENT}; color: #1d1f22; font-weight: 600;"
        f" border-radius: 4px; padding: 4px 12px; }}"
        f"QToolButton[role='primary']:hover {{ background: #f0a862; }}"
        f"QProgressBar {{ border: 1px solid {c['disabled']}; border-radius: 3px; height: 10px; }}"
        f"QProgressBar::chunk {{ background: {ACCENT}; }}"
    )
    icons.refresh()
    return theme
