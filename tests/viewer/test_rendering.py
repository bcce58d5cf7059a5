"""What a frame looks like: smooth vs flat, anti-aliasing, the environment, texture colour.

Each test renders for real (VTK under Xvfb) and compares pixels.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtWidgets
from pytestqt.qtbot import QtBot

from studio.meshes import load
from studio.meshes.scene import Material, MeshFormat, Part, Scene, Texture
from tests.scenes import binary_stl_bytes, sphere_triangles, textured_quad_scene
from viewer.geometry import prepare_scene
from viewer.lighting import is_software_renderer, opengl_renderer
from viewer.viewport import StandardView, ViewMode, Viewport

pytestmark = pytest.mark.gl

REPO = Path(__file__).resolve().parents[2]
SAMPLE_GLB = REPO / "resources" / "sample" / "kiln-vase.glb"


@pytest.fixture
def viewport(qtbot: QtBot) -> Iterator[Viewport]:
    window = QtWidgets.QMainWindow()
    qtbot.addWidget(window)
    view = Viewport(window)
    window.setCentralWidget(view)
    window.resize(640, 480)
    window.show()
    qtbot.waitExposed(window)
    view.set_grid_visible(False)
    view.set_bounds_visible(False)
    view.set_axes_visible(False)
    yield view
    view.close_viewport()
    window.close()


def pixels(viewport: Viewport) -> np.ndarray:
    return np.asarray(viewport.grab_image()).astype(int)


def show_and_settle(qtbot: QtBot, viewport: Viewport, scene: Scene) -> None:
    """Show ``scene`` and wait for what follows its first frame (normals, environment)."""
    with qtbot.waitSignal(viewport.frame_rendered, timeout=10_000):
        viewport.show_scene(prepare_scene(scene))
    qtbot.waitUntil(lambda: not viewport.detail_pending, timeout=30_000)


def stl_sphere(tmp_path: Path) -> Scene:
    path = tmp_path / "sphere.stl"
    path.write_bytes(binary_stl_bytes(sphere_triangles(rings=16, segments=32)))
    scene = load(path)
    assert scene.parts[0].is_soup  # a binary STL is a triangle soup: no normals of its own
    return scene


def differ(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """Share of model pixels that visibly change between two pictures."""
    return float((np.abs(a[..., :3] - b[..., :3]).max(-1)[mask] > 4).mean())


def facet_edges(image: np.ndarray, mask: np.ndarray) -> float:
    """Share of model pixels where the shade jumps between neighbours (facet borders)."""
    grey = image[..., :3].mean(axis=-1)
    jump = np.abs(np.diff(grey, axis=1)) > 6
    inside = mask[:, 1:] & mask[:, :-1]
    return float(jump[inside].mean())


def model_mask(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pixels that are the model in both images. The background is a vertical gradient,
    so each row's leftmost pixel is that row's background."""

    def model(image: np.ndarray) -> np.ndarray:
        return np.asarray(np.abs(image[..., :3] - image[:, :1, :3]).max(-1) > 20)

    return model(a) & model(b)


def test_an_stl_soup_is_faceted_first_then_smooth(
    qtbot: QtBot, viewport: Viewport, tmp_path: Path
) -> None:
    scene = stl_sphere(tmp_path)
    with qtbot.waitSignal(viewport.frame_rendered, timeout=10_000):
        viewport.show_scene(prepare_scene(scene))
    # The first frame went out with the soup as loaded: smoothing waits for it.
    actor = viewport._actors[0]
    assert actor.GetMapper().GetInput().GetPointData().GetNormals() is None
    assert viewport.detail_pending
    first = pixels(viewport)
    with qtbot.waitSignal(viewport.detail_ready, timeout=30_000):
        pass
    smooth = pixels(viewport)
    viewport.set_mode(ViewMode.FLAT)
    flat = pixels(viewport)
    mask = model_mask(smooth, flat)
    assert mask.mean() > 0.1
    # Smooth ≠ flat, and the flat picture is the faceted first frame.
    assert differ(smooth, flat, mask) > 0.2
    assert differ(first, flat, mask) < 0.01
    assert facet_edges(flat, mask) > 3 * facet_edges(smooth, mask)
    # Welded: about one vertex per two triangles instead of three corners per triangle.
    welded = viewport._surfaces[actor].smooth
    assert welded.GetNumberOfPoints() < scene.parts[0].n_vertices / 4


def test_smooth_and_flat_differ_on_the_sample_glb(qtbot: QtBot, viewport: Viewport) -> None:
    show_and_settle(qtbot, viewport, load(SAMPLE_GLB))
    # PBR and smooth point normals: flat shading must drop them (PBR has no flat switch).
    actor = viewport._actors[0]
    assert actor.GetProperty().GetInterpolation() == 3  # VTK_PBR
    assert actor.GetMapper().GetInput().GetPointData().GetNormals() is not None
    viewport.set_view(StandardView.FRONT)
    smooth = pixels(viewport)
    viewport.set_mode(ViewMode.FLAT)
    flat = pixels(viewport)
    mask = model_mask(smooth, flat)
    assert mask.mean() > 0.05
    assert differ(smooth, flat, mask) > 0.1  # on main, 0: flat did nothing to PBR
    viewport.set_mode(ViewMode.SMOOTH)
    assert differ(pixels(viewport), smooth, mask) < 0.01


def test_the_environment_lights_pbr_and_toggles(qtbot: QtBot, viewport: Viewport) -> None:
    show_and_settle(qtbot, viewport, load(SAMPLE_GLB))
    assert viewport.environment_active  # on by default, for a PBR model
    lit = pixels(viewport)
    viewport.view.environment_lighting = False
    assert not viewport.environment_active
    plain = pixels(viewport)
    mask = model_mask(lit, plain)
    assert np.abs(lit - plain)[mask].mean() > 3.0
    viewport.view.environment_lighting = True
    assert viewport.environment_active
    assert np.abs(pixels(viewport) - lit)[mask].mean() < 1.0


def test_the_environment_waits_for_the_first_frame_of_a_pbr_model(
    qtbot: QtBot, viewport: Viewport
) -> None:
    with qtbot.waitSignal(viewport.frame_rendered, timeout=10_000):
        viewport.show_scene(prepare_scene(load(SAMPLE_GLB)))
    assert not viewport.environment_active  # not prefiltered yet: the first frame goes without
    qtbot.waitUntil(lambda: not viewport.detail_pending, timeout=30_000)
    assert viewport.environment_active
    # Prefiltered once: the next PBR model has it from its first frame.
    viewport.show_scene(prepare_scene(load(SAMPLE_GLB)))
    assert viewport.environment_active


def test_plain_models_do_not_use_the_environment(
    qtbot: QtBot, viewport: Viewport, tmp_path: Path
) -> None:
    show_and_settle(qtbot, viewport, stl_sphere(tmp_path))
    assert not viewport.environment_active


def test_a_metallic_material_without_textures_is_pbr(qtbot: QtBot, viewport: Viewport) -> None:
    scene = Scene(
        parts=[
            Part(
                vertices=sphere_triangles().reshape(-1, 3),
                material=Material(base_color=(0.9, 0.9, 0.9, 1.0), metallic=1.0, roughness=0.3),
            )
        ],
        format=MeshFormat.GLB,
    )
    show_and_settle(qtbot, viewport, scene)
    assert viewport._actors[0].GetProperty().GetInterpolation() == 3  # VTK_PBR
    assert viewport.environment_active


def test_anti_aliasing_is_fxaa_on_a_software_renderer(qtbot: QtBot, viewport: Viewport) -> None:
    show_and_settle(qtbot, viewport, textured_quad_scene())
    assert viewport.plotter.renderer.GetUseFXAA()
    name = opengl_renderer(viewport.plotter.ren_win)
    assert "llvmpipe" in name  # this machine (Xvfb + Mesa)
    assert viewport.multi_samples == 0  # MSAA only on a GPU


@pytest.mark.parametrize(
    ("renderer", "software"),
    [
        ("llvmpipe (LLVM 15.0.6, 256 bits)", True),
        ("softpipe", True),
        ("Microsoft Basic Render Driver", True),
        ("SwiftShader Device (Subzero)", True),
        ("", True),
        ("NVIDIA GeForce RTX 3060/PCIe/SSE2", False),
        ("AMD Radeon RX 6700 XT (radeonsi, navi22, LLVM 15.0.6, DRM 3.49)", False),
        ("Mesa Intel(R) UHD Graphics 620 (KBL GT2)", False),
        ("Apple M1", False),
    ],
)
def test_software_renderers_are_told_from_gpus(renderer: str, software: bool) -> None:
    assert is_software_renderer(renderer) is software


def test_fxaa_smooths_edges(qtbot: QtBot, viewport: Viewport, tmp_path: Path) -> None:
    show_and_settle(qtbot, viewport, stl_sphere(tmp_path))
    renderer = viewport.plotter.renderer
    soft = pixels(viewport)
    renderer.UseFXAAOff()
    jagged = pixels(viewport)
    renderer.UseFXAAOn()

    def in_between(image: np.ndarray) -> int:
        """Pixels on the silhouette that are neither background nor model (blended)."""
        grey = image[..., :3].mean(-1)
        background = grey[:, :4].mean(axis=1, keepdims=True)
        return int(np.count_nonzero((np.abs(grey - background) > 8) & (grey < 60)))

    assert np.abs(soft - jagged).sum() > 0
    assert in_between(soft) > in_between(jagged)


def test_phong_textures_keep_their_brightness(qtbot: QtBot, viewport: Viewport) -> None:
    """A mid-grey texture renders as bright as the same grey as a plain colour."""
    grey = 128
    textured = textured_quad_scene()
    material = textured.parts[0].material
    assert material is not None
    material.base_color_texture = Texture(image=np.full((8, 8, 3), grey, dtype=np.uint8))
    show_and_settle(qtbot, viewport, textured)
    viewport.set_view(StandardView.TOP)
    with_texture = pixels(viewport)
    plain = textured_quad_scene()
    plain.parts[0].material = Material(base_color=(grey / 255, grey / 255, grey / 255, 1.0))
    plain.parts[0].uv = None
    show_and_settle(qtbot, viewport, plain)
    viewport.set_view(StandardView.TOP)
    with_colour = pixels(viewport)
    centre = (slice(200, 280), slice(280, 360))
    a = with_texture[centre][..., :3].mean()
    b = with_colour[centre][..., :3].mean()
    assert b > 60
    assert a == pytest.approx(b, rel=0.1)


def test_the_ground_shadow_is_off_by_default_and_darkens_the_floor(
    qtbot: QtBot, viewport: Viewport
) -> None:
    show_and_settle(qtbot, viewport, load(SAMPLE_GLB))
    assert not viewport.view.ground_shadow
    assert not viewport.shadow_shown
    viewport.set_view(StandardView.FRONT)
    viewport.camera().Elevation(20)
    without = pixels(viewport)
    viewport.view.ground_shadow = True
    assert viewport.shadow_shown
    with_shadow = pixels(viewport)
    darker = (without[..., :3].sum(-1) - with_shadow[..., :3].sum(-1)) > 15
    assert darker.mean() > 0.01
    assert not ((with_shadow[..., :3].sum(-1) - without[..., :3].sum(-1)) > 15).any()
    # Another model gets its own shadow; turning it off removes it.
    viewport.show_scene(prepare_scene(textured_quad_scene()))
    qtbot.waitUntil(lambda: viewport.shadow_shown, timeout=10_000)
    viewport.view.ground_shadow = False
    assert not viewport.shadow_shown
