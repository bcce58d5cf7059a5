"""File › Export image…: the dialog writes real files of the size and kind asked for."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6 import QtCore, QtWidgets
from pytestqt.qtbot import QtBot

from tests.scenes import box_scene
from ui import export_image_dialog
from ui.export_image_dialog import ExportImageDialog, export_image
from viewer.actors import OUTLINE_COLOR
from viewer.geometry import prepare_scene
from viewer.viewport import Viewport

pytestmark = pytest.mark.gl


@pytest.fixture
def viewport(qtbot: QtBot) -> Iterator[Viewport]:
    window = QtWidgets.QMainWindow()
    qtbot.addWidget(window)
    view = Viewport(window)
    window.setCentralWidget(view)
    window.resize(500, 400)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(view.frame_rendered, timeout=10_000):
        view.show_scene(prepare_scene(box_scene()))
    assert view.view.show_grid  # the aids are on screen
    assert view.view.show_bounds
    yield view
    view.close_viewport()
    window.close()


@pytest.fixture
def dialog(qtbot: QtBot, viewport: Viewport) -> ExportImageDialog:
    dialog = ExportImageDialog(viewport)
    qtbot.addWidget(dialog)
    return dialog


def orange_pixels(image: Image.Image) -> int:
    rgb = np.asarray(image.convert("RGB")).astype(int)
    return int(np.count_nonzero(np.abs(rgb - np.array(OUTLINE_COLOR) * 255).max(axis=2) < 40))


def test_a_custom_size_png_without_overlays(
    qtbot: QtBot, dialog: ExportImageDialog, tmp_path: Path
) -> None:
    assert not dialog.overlays.isChecked()  # off by default
    assert not dialog.transparent.isChecked()
    dialog.select_size("Custom")
    dialog.width_box.setValue(320)
    dialog.height_box.setValue(200)
    out = tmp_path / "shot.png"
    dialog.path.setText(str(out))
    qtbot.mouseClick(dialog.export_button, QtCore.Qt.MouseButton.LeftButton)
    assert dialog.result() == QtWidgets.QDialog.DialogCode.Accepted
    assert dialog.written == [out]
    with Image.open(out) as image:
        assert image.size == (320, 200)
        assert image.mode == "RGB"
        assert orange_pixels(image) == 0  # the viewport shows its box; the shot does not


def test_presets_follow_the_viewport_and_full_hd(
    dialog: ExportImageDialog, viewport: Viewport, tmp_path: Path
) -> None:
    assert (dialog.width_box.value(), dialog.height_box.value()) == viewport.render_size
    assert not dialog.width_box.isEnabled()
    dialog.select_size("1920")
    assert dialog.settings().size == (1920, 1080)
    dialog.select_size("3840")
    assert dialog.settings().size == (3840, 2160)
    dialog.select_size("Viewport")
    out = tmp_path / "viewport.png"
    dialog.path.setText(str(out))
    dialog.export()
    with Image.open(out) as image:
        assert image.size == viewport.render_size


def test_transparent_with_overlays(dialog: ExportImageDialog, tmp_path: Path) -> None:
    dialog.select_size("Custom")
    dialog.width_box.setValue(400)
    dialog.height_box.setValue(300)
    dialog.transparent.setChecked(True)
    dialog.overlays.setChecked(True)
    out = tmp_path / "clear.png"
    dialog.path.setText(str(out))
    dialog.export()
    with Image.open(out) as image:
        assert image.mode == "RGBA"
        alpha = np.asarray(image)[..., 3]
        assert alpha[0, 0] == 0
        assert alpha.max() == 255
        assert orange_pixels(image) > 50


def test_a_turntable_webp(dialog: ExportImageDialog, tmp_path: Path) -> None:
    dialog.select_size("Custom")
    dialog.width_box.setValue(160)
    dialog.height_box.setValue(120)
    dialog.path.setText(str(tmp_path / "turn.png"))
    dialog.turntable.setChecked(True)
    assert dialog.path.text().endswith("turn.webp")  # a turntable defaults to WebP
    dialog.frames.setValue(5)
    dialog.export()
    with Image.open(tmp_path / "turn.webp") as animation:
        assert animation.n_frames == 5
        assert animation.size == (160, 120)


def test_a_problem_is_one_sentence_and_the_dialog_stays(
    dialog: ExportImageDialog, tmp_path: Path
) -> None:
    dialog.path.setText(str(tmp_path / "shot.jpg"))
    dialog.export()
    assert dialog.result() != QtWidgets.QDialog.DialogCode.Accepted
    assert dialog.message.text() == "Still images are PNG: name the output “shot.png”."
    assert not (tmp_path / "shot.jpg").exists()


def test_export_image_runs_the_dialog(
    qtbot: QtBot, viewport: Viewport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "from-the-menu.png"

    def exec_(self: ExportImageDialog) -> int:
        self.path.setText(str(out))
        self.select_size("Custom")
        self.width_box.setValue(256)
        self.height_box.setValue(144)
        self.export()
        return int(self.result())

    monkeypatch.setattr(ExportImageDialog, "exec", exec_)
    export_image(viewport.window(), viewport)
    with Image.open(out) as image:
        assert image.size == (256, 144)


def test_nothing_on_screen_says_so(
    qtbot: QtBot, viewport: Viewport, monkeypatch: pytest.MonkeyPatch
) -> None:
    said: list[str] = []
    monkeypatch.setattr(
        export_image_dialog.QtWidgets.QMessageBox,
        "information",
        lambda _parent, _title, text: said.append(text),
    )
    viewport.clear()
    export_image(viewport.window(), viewport)
    assert said == ["There is no model on screen yet: open or select one first."]
