"""The window's look: Qt's Fusion style with a calm dark palette for 3D work."""

from __future__ import annotations

from PySide6 import QtGui, QtWidgets

ACCENT = "#e8964a"  # kiln orange: active badges, progress, selection


def apply_theme(app: QtWidgets.QApplication) -> None:
    app.setStyle("Fusion")
    palette = QtGui.QPalette()
    role = QtGui.QPalette.ColorRole
    colors = {
        role.Window: "#25272b",
        role.WindowText: "#e6e6e6",
        role.Base: "#1d1f22",
        role.AlternateBase: "#2a2d31",
        role.ToolTipBase: "#2a2d31",
        role.ToolTipText: "#e6e6e6",
        role.Text: "#e6e6e6",
        role.Button: "#2f3236",
        role.ButtonText: "#e6e6e6",
        role.BrightText: "#ffffff",
        role.Highlight: ACCENT,
        role.HighlightedText: "#1d1f22",
        role.Link: ACCENT,
        role.PlaceholderText: "#8a8f98",
    }
    for key, value in colors.items():
        palette.setColor(key, QtGui.QColor(value))
    disabled = QtGui.QPalette.ColorGroup.Disabled
    palette.setColor(disabled, role.Text, QtGui.QColor("#6b7078"))
    palette.setColor(disabled, role.ButtonText, QtGui.QColor("#6b7078"))
    app.setPalette(palette)
    app.setStyleSheet(
        "QDockWidget::title { padding: 6px; background: #2a2d31; font-weight: 600; }"
        "QToolBar { border: none; spacing: 4px; }"
        "QListWidget::item:selected, QTreeWidget::item:selected"
        " { background: #5b3f28; color: #ffffff; }"
        f"QProgressBar {{ border: 1px solid #3a3d42; border-radius: 3px; text-align: center;"
        f" height: 14px; }} QProgressBar::chunk {{ background: {ACCENT}; }}"
    )
