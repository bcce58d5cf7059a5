"""Product shots (``viewer.shots``): sizes, the viewport's camera, overlays, turntables."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pytestqt.qtbot import QtBot
from vtkmodules.vtkRenderingCore import vtkCamera

from studio.meshes import load
from studio.shot_sizes import parse_size
from tests.scenes import binary_stl_bytes, box_scene, sphere_triangles
from viewer import shots
from viewer.actors import OUTLINE_COLOR
from viewer.geometry import prepare_scene
from viewer.shots import (
    CameraPose,
    ShotCancelled,
    ShotError,
    ShotScene,
    ShotSettings,
    export_viewport,
    render_shot,
    sequence_paths,
    shot_of_viewport,
    write_shot,
)
from viewer.viewport import StandardView, ViewMode, Viewport

pytestmark = pytest.mark.gl

SAMPLE_GLB = Path(__file__).resolve().parents[2] / "resources" / "sample" / "kiln-vase.glb"


@pytest.fixture
def viewport_size() -> tuple[int, int]:
    return (480, 360)


def show(qtbot: QtBot, viewport: Viewport, scene: object) -> None:
    with qtbot.waitSignal(viewport.frame_rendered, timeout=10_000):
        viewport.show_scene(prepare_scene(scene))  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: not viewport.detail_pending, timeout=30_000)


def orange(image: np.ndarray) -> int:
    rgb = image[..., :3].astype(int)
    return int(np.count_nonzero(np.abs(rgb - np.array(OUTLINE_COLOR) * 255).max(axis=2) < 40))


@pytest.mark.parametrize(
    ("text", "size"),
    [("1080p", (1920, 1080)), ("4K", (3840, 2160)), ("640x480", (640, 480)), ("20 × 10", (20, 10))],
)
def test_sizes_by_name_or_numbers(text: str, size: tuple[int, int]) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "big", "0x10", "10x99999", "10x"])
def test_sizes_that_are_not(text: str) -> None:
    with pytest.raises(ValueError, match=r"size|pixels"):
        parse_size(text)


def test_a_narrower_picture_widens_the_view() -> None:
    camera = vtkCamera()
    pose = CameraPose((0, 0, 10.0), (0, 0, 0.0), (0, 1, 0.0), 30.0, False, 5.0)
    pose.apply(camera, from_aspect=16 / 9, to_aspect=16 / 9)
    assert camera.GetViewAngle() == pytest.approx(30.0)
    pose.apply(camera, from_aspect=2.0, to_aspect=1.0)
    # Half as wide: the horizontal extent seen stays the same.
    assert math.tan(math.radians(camera.GetViewAngle()) / 2) == pytest.approx(
        2 * math.tan(math.radians(15.0))
    )
    assert camera.GetParallelScale() == pytest.approx(10.0)
    pose.apply(camera, from_aspect=1.0, to_aspect=2.0)  # wider: nothing is cut off anyway
    assert camera.GetViewAngle() == pytest.approx(30.0)


def test_a_shot_of_the_viewport_is_its_picture_at_another_size(
    qtbot: QtBot, viewport: Viewport
) -> None:
    show(qtbot, viewport, box_scene())
    viewport.set_view(StandardView.FRONT)
    shot = shot_of_viewport(viewport)
    assert shot is not None
    assert shot.camera == CameraPose.of(viewport.camera())
    assert shot.overlays  # the grid and box are on screen...
    big = render_shot(shot, ShotSettings(size=(1280, 720)))
    assert big.shape == (720, 1280, 3)
    assert orange(big) == 0  # ...and left out of the shot
    assert orange(render_shot(shot, ShotSettings(size=(640, 360), overlays=True))) > 50
    clear = render_shot(shot, ShotSettings(size=(300, 300), transparent=True))
    assert clear.shape == (300, 300, 4)
    assert clear[0, 0, 3] == 0
    assert clear[150, 150, 3] == 255


def test_shots_are_smooth_and_follow_the_mode(
    qtbot: QtBot, viewport: Viewport, tmp_path: Path
) -> None:
    path = tmp_path / "sphere.stl"
    path.write_bytes(binary_stl_bytes(sphere_triangles(rings=12, segments=24)))
    show(qtbot, viewport, load(path))
    shot = shot_of_viewport(viewport)
    assert shot is not None
    assert shot.surfaces[0].GetPointData().GetNormals() is not None  # the welded surface
    smooth = render_shot(shot, ShotSettings(size=(200, 200))).astype(int)
    viewport.set_mode(ViewMode.FLAT)
    flat_shot = shot_of_viewport(viewport)
    assert flat_shot is not None
    flat = render_shot(flat_shot, ShotSettings(size=(200, 200))).astype(int)
    assert (np.abs(smooth - flat).max(axis=-1) > 4).mean() > 0.05


def test_a_pbr_shot_uses_the_environment(qtbot: QtBot, viewport: Viewport) -> None:
    show(qtbot, viewport, load(SAMPLE_GLB))
    shot = shot_of_viewport(viewport)
    assert shot is not None
    settings = ShotSettings(size=(240, 240))
    lit = render_shot(shot, settings).astype(int)
    shot.environment = False
    plain = render_shot(shot, settings).astype(int)
    assert np.abs(lit - plain).mean() > 1.0


def test_a_turntable_turns_about_the_up_axis(tmp_path: Path) -> None:
    shot = ShotScene.of_scene(box_scene((10.0, 20.0, 30.0)))
    written = write_shot(shot, ShotSettings(size=(120, 90), turntable=4), tmp_path / "t")
    assert written == sequence_paths(tmp_path / "t", 4)
    frames = [np.asarray(Image.open(p)).astype(int) for p in written]
    assert np.abs(frames[0] - frames[1]).sum() > 0

    # Z is up for an STL: the box's height on screen stays put as it turns.
    def height(image: np.ndarray) -> int:
        model = np.abs(image - image[:, :1]).max(axis=2) > 20
        rows = np.flatnonzero(model.any(axis=1))
        return int(rows[-1] - rows[0])

    assert max(height(f) for f in frames) - min(height(f) for f in frames) <= 6


def test_png_sequence_names() -> None:
    assert [p.name for p in sequence_paths(Path("out/turn.png"), 3)] == [
        "turn-001.png",
        "turn-002.png",
        "turn-003.png",
    ]
    assert sequence_paths(Path("out/frames"), 1000)[0] == Path("out/frames/frame-0001.png")


def test_stopping_a_turntable_leaves_nothing(tmp_path: Path) -> None:
    shot = ShotScene.of_scene(box_scene())
    with pytest.raises(ShotCancelled):
        write_shot(
            shot,
            ShotSettings(size=(64, 48), turntable=6),
            tmp_path / "frames",
            progress=lambda done, _total: done < 3,
        )
    assert list(tmp_path.rglob("*.png")) == []


def test_outputs_that_do_not_suit_the_shot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shot = ShotScene.of_scene(box_scene())
    with pytest.raises(ShotError, match="PNG"):
        write_shot(shot, ShotSettings(size=(64, 48)), tmp_path / "a.webp")
    with pytest.raises(ShotError, match=r"\.webp, \.gif or PNG frames"):
        write_shot(shot, ShotSettings(size=(64, 48), turntable=2), tmp_path / "a.mp4")
    monkeypatch.setattr(shots, "MAX_ANIMATION_BYTES", 1000)
    with pytest.raises(ShotError, match="too many for an animation"):
        write_shot(shot, ShotSettings(size=(64, 48), turntable=2), tmp_path / "a.gif")
    assert list(tmp_path.iterdir()) == []


def test_nothing_on_screen_is_no_shot(qtbot: QtBot, viewport: Viewport, tmp_path: Path) -> None:
    with pytest.raises(ShotError, match="no model on screen"):
        export_viewport(viewport, ShotSettings(size=(64, 48)), tmp_path / "a.png")


def test_shots_keep_the_ground_shadow_the_viewport_shows(qtbot: QtBot, viewport: Viewport) -> None:
    show(qtbot, viewport, load(SAMPLE_GLB))
    viewport.view.ground_shadow = True
    shot = shot_of_viewport(viewport)
    assert shot is not None
    assert shot.ground_shadow
    settings = ShotSettings(size=(240, 240))
    with_shadow = render_shot(shot, settings).astype(int)
    shot.ground_shadow = False
    without = render_shot(shot, settings).astype(int)
    assert ((without - with_shadow).sum(-1) > 15).mean() > 0.005
