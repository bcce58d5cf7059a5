"""The viewport renders for real (VTK under Xvfb) and every view setting changes the picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pytestqt.qtbot import QtBot

from studio.meshes.scene import MeshFormat, Part, Scene
from tests.scenes import box_scene, textured_quad_scene
from viewer.actors import BACKGROUND_BOTTOM, BACKGROUND_TOP
from viewer.geometry import prepare_scene
from viewer.offscreen import render_image, render_png
from viewer.viewport import StandardView, ViewMode, Viewport

pytestmark = pytest.mark.gl


def shown(qtbot: QtBot, viewport: Viewport, scene: Scene) -> None:
    with qtbot.waitSignal(viewport.frame_rendered, timeout=10_000):
        viewport.show_scene(prepare_scene(scene))


def image(viewport: Viewport) -> np.ndarray:
    return np.asarray(viewport.grab_image())


def model_mask(pixels: np.ndarray) -> np.ndarray:
    """Pixels that are not the background gradient (which is grey-blue and dark)."""
    rgb = pixels[..., :3].astype(int)
    lo = np.array(BACKGROUND_BOTTOM) * 255 - 6
    hi = np.array(BACKGROUND_TOP) * 255 + 6
    background = np.all((rgb >= lo) & (rgb <= hi), axis=-1)
    return ~background


def extent(mask: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def bare(viewport: Viewport) -> None:
    """Hide overlays so pixel measurements see only the model."""
    viewport.set_grid_visible(False)
    viewport.set_bounds_visible(False)
    viewport.set_axes_visible(False)


def test_shows_a_model_and_emits_a_frame(qtbot: QtBot, viewport: Viewport) -> None:
    shown(qtbot, viewport, box_scene())
    assert viewport.prepared is not None
    assert model_mask(image(viewport)).mean() > 0.02


@pytest.mark.parametrize("soup", [False, True])
def test_every_mode_renders_differently(qtbot: QtBot, viewport: Viewport, soup: bool) -> None:
    shown(qtbot, viewport, box_scene(soup=soup))
    bare(viewport)
    coverage = {}
    for mode in ViewMode:
        viewport.set_mode(mode)
        coverage[mode] = model_mask(image(viewport)).mean()
    # Wireframe and points cover far less of the screen than the shaded modes.
    assert coverage[ViewMode.WIREFRAME] < coverage[ViewMode.SMOOTH] * 0.5
    assert coverage[ViewMode.POINTS] < coverage[ViewMode.WIREFRAME]
    assert coverage[ViewMode.EDGES] == pytest.approx(coverage[ViewMode.SMOOTH], rel=0.05)
    viewport.set_mode(ViewMode.EDGES)
    edges = image(viewport)
    viewport.set_mode(ViewMode.FLAT)
    assert np.abs(edges.astype(int) - image(viewport).astype(int)).sum() > 0


def test_standard_views_look_along_the_right_axes(qtbot: QtBot, viewport: Viewport) -> None:
    # A 10 x 20 x 30 box, Z up (STL): front shows X by Z, right shows Y by Z, top X by Y.
    shown(qtbot, viewport, box_scene((10.0, 20.0, 30.0)))
    bare(viewport)
    viewport.set_parallel_projection(True)
    expected = {
        StandardView.FRONT: 10 / 30,
        StandardView.BACK: 10 / 30,
        StandardView.RIGHT: 20 / 30,
        StandardView.LEFT: 20 / 30,
        StandardView.TOP: 10 / 20,
        StandardView.BOTTOM: 10 / 20,
    }
    for view, ratio in expected.items():
        viewport.set_view(view)
        width, height = extent(model_mask(image(viewport)))
        assert width / height == pytest.approx(ratio, rel=0.08), view
    viewport.set_view(StandardView.ISO)
    width, height = extent(model_mask(image(viewport)))
    assert width / height != pytest.approx(10 / 30, rel=0.08)


def test_y_up_formats_put_y_up(qtbot: QtBot, viewport: Viewport) -> None:
    shown(qtbot, viewport, box_scene((10.0, 30.0, 20.0), fmt=MeshFormat.GLB))
    bare(viewport)
    viewport.set_parallel_projection(True)
    viewport.set_view(StandardView.FRONT)  # looks along -Z: X across, Y up
    width, height = extent(model_mask(image(viewport)))
    assert width / height == pytest.approx(10 / 30, rel=0.08)


def test_projection_toggles(qtbot: QtBot, viewport: Viewport) -> None:
    shown(qtbot, viewport, box_scene())
    viewport.set_parallel_projection(True)
    assert viewport.parallel_projection
    viewport.set_parallel_projection(False)
    assert not viewport.parallel_projection


def test_grid_and_bounds_overlays_draw_and_hide(qtbot: QtBot, viewport: Viewport) -> None:
    shown(qtbot, viewport, box_scene())
    viewport.set_axes_visible(False)
    with_overlays = model_mask(image(viewport)).mean()
    bare(viewport)
    without = model_mask(image(viewport)).mean()
    assert with_overlays > without


def test_dimensions_in_the_chosen_unit(qtbot: QtBot, viewport: Viewport) -> None:
    shown(qtbot, viewport, box_scene((10.0, 20.0, 30.0)))
    assert viewport.dimensions_text() == "10.0 × 20.0 × 30.0 mm"
    viewport.set_unit("cm")
    assert viewport.dimensions_text() == "1.00 × 2.00 × 3.00 cm"
    viewport.set_unit("in")
    assert viewport.dimensions_text() == "0.394 × 0.787 × 1.18 in"


def test_declared_units_scale_dimensions(qtbot: QtBot, viewport: Viewport) -> None:
    scene = box_scene((1.0, 2.0, 3.0), fmt=MeshFormat.THREEMF)
    scene.unit = "inch"
    shown(qtbot, viewport, scene)
    assert viewport.dimensions_text() == "25.4 × 50.8 × 76.2 mm"


def test_textures_are_shown(qtbot: QtBot, viewport: Viewport) -> None:
    shown(qtbot, viewport, textured_quad_scene())
    bare(viewport)
    viewport.set_view(StandardView.TOP)
    pixels = image(viewport)[..., :3].astype(int)
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    red = (r > 100) & (r > 3 * g) & (r > 3 * b)
    green = (g > 80) & (g > 3 * r) & (g > 3 * b)
    assert red.mean() > 0.02
    assert green.mean() > 0.02
    # Left half red, right half green, as the UVs say.
    assert np.flatnonzero(red.any(axis=0)).mean() < np.flatnonzero(green.any(axis=0)).mean()


def test_vertex_colors_are_shown(qtbot: QtBot, viewport: Viewport) -> None:
    scene = box_scene()
    part = scene.parts[0]
    part.colors = np.tile(np.array([[20, 60, 240, 255]], dtype=np.uint8), (part.n_vertices, 1))
    shown(qtbot, viewport, scene)
    bare(viewport)
    pixels = image(viewport)[..., :3].astype(int)
    blue = (pixels[..., 2] > 100) & (pixels[..., 2] > 2 * pixels[..., 0])
    assert blue.mean() > 0.02


def test_screenshot_png_and_transparent_background(
    qtbot: QtBot, viewport: Viewport, tmp_path: Path
) -> None:
    shown(qtbot, viewport, box_scene())
    opaque = viewport.screenshot(tmp_path / "view.png")
    clear = viewport.screenshot(tmp_path / "clear.png", transparent=True)
    with Image.open(opaque) as img:
        assert img.mode == "RGB"
    with Image.open(clear) as img:
        assert img.mode == "RGBA"
        alpha = np.asarray(img)[..., 3]
    assert alpha.min() == 0  # background
    assert alpha.max() == 255  # model


def test_replacing_and_clearing_the_scene(qtbot: QtBot, viewport: Viewport) -> None:
    shown(qtbot, viewport, box_scene())
    shown(qtbot, viewport, box_scene((5.0, 5.0, 5.0)))
    assert viewport.dimensions_text() == "5.00 × 5.00 × 5.00 mm"
    with qtbot.waitSignal(viewport.frame_rendered, timeout=10_000):
        viewport.clear()
    assert viewport.prepared is None
    assert viewport.dimensions_text() == ""


def test_close_twice_is_safe(qtbot: QtBot, viewport: Viewport) -> None:
    shown(qtbot, viewport, box_scene())
    viewport.close_viewport()
    viewport.close_viewport()
    viewport.request_render()  # no-op after close, no crash


def test_offscreen_render_draws_the_model(qtbot: QtBot) -> None:
    pixels = render_image(box_scene(), size=(128, 128))
    assert pixels.shape[:2] == (128, 128)
    assert model_mask(pixels).mean() > 0.05
    png = render_png(box_scene(), size=(64, 64))
    assert png.startswith(b"\x89PNG")


def test_offscreen_thumbnail_of_a_huge_soup_thins_it(qtbot: QtBot) -> None:
    # 2M triangles of tiny tiles over a square: thinned for the thumbnail, still covered.
    n = 1000
    xs, ys = np.meshgrid(np.arange(n, dtype=np.float32), np.arange(n, dtype=np.float32))
    x, y = xs.ravel(), ys.ravel()
    z = np.zeros_like(x)
    a = np.stack([x, y, z], 1)
    b = np.stack([x + 1, y, z], 1)
    c = np.stack([x + 1, y + 1, z], 1)
    d = np.stack([x, y + 1, z], 1)
    corners = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)]).reshape(-1, 3)
    scene = Scene(
        parts=[Part(vertices=np.ascontiguousarray(corners))], format=MeshFormat.STL_BINARY
    )
    pixels = render_image(scene, size=(96, 96))
    assert model_mask(pixels).mean() > 0.1


def test_vtk_key_bindings_do_not_reach_the_scene(qtbot: QtBot, viewport: Viewport) -> None:
    shown(qtbot, viewport, box_scene())
    widget = viewport.plotter
    widget.setFocus()
    for key in "wseq3":
        qtbot.keyClick(widget, key)
    actor = viewport._actors[0]
    assert actor.GetProperty().GetRepresentation() == 2  # still a surface, not "w"ireframe
    assert not viewport.plotter.ren_win.GetStereoRender()
    assert viewport.isVisible()  # "e"/"q" did not close it
    assert viewport.mode is ViewMode.SMOOTH


def test_pbr_with_gltf_metallic_roughness_is_lit(qtbot: QtBot, viewport: Viewport) -> None:
    # glTF leaves the texture's red channel unused (here 0); VTK would read it as full
    # ambient occlusion and draw the model black.
    from studio.meshes.scene import Texture

    scene = textured_quad_scene()
    material = scene.parts[0].material
    assert material is not None
    mr = np.zeros((8, 8, 3), dtype=np.uint8)
    mr[..., 1] = 200  # rough
    material.metallic_roughness_texture = Texture(image=mr)
    material.roughness = 1.0
    assert material.is_pbr
    shown(qtbot, viewport, scene)
    bare(viewport)
    viewport.set_view(StandardView.TOP)
    pixels = image(viewport)[..., :3].astype(int)
    model = model_mask(pixels)
    assert model.mean() > 0.05
    assert pixels[model].mean() > 40  # lit, not black


def test_big_models_orbit_on_a_proxy_and_return_to_full_detail(
    qtbot: QtBot, viewport: Viewport
) -> None:
    from viewer.geometry import PROXY_THRESHOLD, make_proxy

    n = 1100  # 2 * 1100**2 = 2.42M triangles, above the proxy threshold
    xs, ys = np.meshgrid(np.arange(n, dtype=np.float32), np.arange(n, dtype=np.float32))
    x, y = xs.ravel(), ys.ravel()
    z = np.sin(x / 50) * 20
    a, b = np.stack([x, y, z], 1), np.stack([x + 1, y, z], 1)
    c, d = np.stack([x + 1, y + 1, z], 1), np.stack([x, y + 1, z], 1)
    corners = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)]).reshape(-1, 3)
    scene = Scene(
        parts=[Part(vertices=np.ascontiguousarray(corners))], format=MeshFormat.STL_BINARY
    )
    prepared = prepare_scene(scene)
    assert prepared.n_faces > PROXY_THRESHOLD
    assert make_proxy(prepare_scene(box_scene())) is None  # small models need none
    proxy = make_proxy(prepared)
    assert proxy is not None
    assert 10_000 < proxy.parts[0].polydata.GetNumberOfCells() < 400_000
    with qtbot.waitSignal(viewport.frame_rendered, timeout=20_000):
        viewport.show_scene(prepared)
    viewport.set_proxy(proxy)
    assert viewport.has_proxy
    assert not viewport.showing_proxy
    interactor = viewport.plotter.iren.interactor
    interactor.InvokeEvent("StartInteractionEvent")
    assert viewport.showing_proxy
    assert not viewport._actors[0].GetVisibility()
    interactor.InvokeEvent("EndInteractionEvent")
    qtbot.waitUntil(lambda: not viewport.showing_proxy, timeout=2_000)
    assert viewport._actors[0].GetVisibility()
    # A proxy made for another scene is ignored.
    shown(qtbot, viewport, box_scene())
    viewport.set_proxy(proxy)
    assert not viewport.has_proxy
