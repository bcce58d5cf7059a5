"""Off-screen renders: thumbnails for the library and ``python -m studio library render``.

Thumbnails are quick (thinned, faceted, lights only); ``python -m studio library render``
asks for a product shot (see :mod:`viewer.shots`).

Registered as the ``kiln_studio.renderers`` entry point ``offscreen`` so the headless CLI
can render without the core importing the viewer.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from pathlib import Path

import numpy as np
from vtkmodules.vtkCommonCore import vtkLogger
from vtkmodules.vtkRenderingCore import vtkRenderer

from studio.meshes.scene import Part, Scene
from viewer.actors import BACKGROUND_BOTTOM, BACKGROUND_TOP, make_actor
from viewer.geometry import prepare_scene, release
from viewer.viewport import Y_UP_FORMATS, StandardView, _view_vectors


def _render_without_a_display() -> None:
    """Draw through EGL when there is no screen, and keep VTK's chatter off the terminal.

    With no X server VTK first tries one, prints "bad X server connection" and only then
    falls back; asking for EGL up front skips the attempt. Whatever VTK still has to say
    goes to the log file the command line already writes, never to its stderr.
    """
    headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if sys.platform.startswith("linux") and headless:
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    vtkLogger.SetStderrVerbosity(vtkLogger.VERBOSITY_OFF)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            vtkLogger.LogToFile(handler.baseFilename, vtkLogger.APPEND, vtkLogger.VERBOSITY_WARNING)
            break


_render_without_a_display()

THUMBNAIL_SIZE = (256, 256)
#: Above this many triangles a small render draws every n-th triangle: at 256 px a
#: triangle of a 5M-triangle model is far below a pixel.
THUMBNAIL_TRIANGLES = 600_000


def _thin(scene: Scene, budget: int) -> Scene:
    """Every n-th triangle, copied into a compact soup.

    Copying matters: a second GL context uploads every vertex the polydata holds, so
    keeping the full vertex array would cost a 5M-triangle STL another 180 MB.
    """
    total = scene.n_faces
    if total <= budget:
        return scene
    step = int(np.ceil(total / budget))
    parts = [
        Part(vertices=np.ascontiguousarray(part.triangles()[::step]).reshape(-1, 3), name=part.name)
        for part in scene.parts
    ]
    return Scene(parts=parts, format=scene.format, file_size=scene.file_size, unit=scene.unit)


def render_image(
    scene: Scene,
    *,
    size: tuple[int, int] = THUMBNAIL_SIZE,
    transparent: bool = False,
    view: StandardView = StandardView.ISO,
) -> np.ndarray:
    """Render ``scene`` alone (no grid or labels) and return ``(h, w, 3|4)`` uint8 pixels."""
    import pyvista as pv

    prepared = prepare_scene(_thin(scene, THUMBNAIL_TRIANGLES if size[0] <= 512 else 10**12))
    plotter = pv.Plotter(off_screen=True, window_size=list(size))
    try:
        if transparent:
            # A gradient is drawn opaque; a plain background clears to alpha 0.
            plotter.set_background(BACKGROUND_BOTTOM)
        else:
            plotter.set_background(BACKGROUND_BOTTOM, top=BACKGROUND_TOP)
        for item in prepared.parts:
            plotter.renderer.AddActor(make_actor(item))
        direction, up = _view_vectors(view, scene.format in Y_UP_FORMATS)
        x0, x1, y0, y1, z0, z1 = prepared.bounds
        focal = np.array([(x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2])
        camera = vtkRenderer.GetActiveCamera(plotter.renderer)
        camera.SetFocalPoint(*focal)
        camera.SetPosition(*(focal + direction))
        camera.SetViewUp(*up)
        vtkRenderer.ResetCamera(plotter.renderer, prepared.bounds)
        camera.Zoom(1.15)
        vtkRenderer.ResetCameraClippingRange(plotter.renderer)
        image: np.ndarray = plotter.screenshot(
            None, transparent_background=transparent, return_img=True
        )
        return image
    finally:
        release(plotter)


def encode_png(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def render_png(
    scene: Scene,
    out: Path | None = None,
    *,
    size: tuple[int, int] = THUMBNAIL_SIZE,
    transparent: bool = False,
    shot: bool = False,
    overlays: bool = False,
    turntable: int = 0,
) -> bytes:
    """Render ``scene`` to PNG bytes; also write them to ``out`` when given.

    By default a quick thumbnail (thinned, no environment). ``shot`` makes a product
    shot instead (:mod:`viewer.shots`): smooth normals, the studio environment for PBR,
    anti-aliasing, and the grid, bounding box and axes when ``overlays``. A turntable
    (``turntable`` frames, a shot) needs ``out``; the file's name says what to write
    (an animated ``.webp``/``.gif``, or PNG frames) and the bytes returned are the first
    file written.
    """
    if not (shot or overlays or turntable):
        data = encode_png(render_image(scene, size=size, transparent=transparent))
        if out is not None:
            from studio.atomic import write_atomic

            write_atomic(Path(out), data)
        return data
    from viewer.shots import ShotScene, ShotSettings, render_shot, write_shot

    settings = ShotSettings(
        size=size, transparent=transparent, overlays=overlays, turntable=turntable
    )
    if out is None:
        if turntable:
            raise ValueError("a turntable needs a file or folder to write to")
        return encode_png(render_shot(ShotScene.of_scene(scene), settings))
    written = write_shot(ShotScene.of_scene(scene), settings, Path(out))
    return written[0].read_bytes()
