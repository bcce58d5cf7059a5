"""Product shots: a scene rendered off-screen at any size, still or as a turntable.

A shot is drawn by its own off-screen render window, so its size has nothing to do with
the viewport's: the viewport's size, 1920×1080, 3840×2160 or any other. It uses what the
viewport shows — the same surfaces (smooth normals included), view mode, materials,
studio environment and camera — but leaves the designer's aids out unless asked: the
grid, the bounding box and its labels, the axes (``overlays=False`` by default). A
transparent background clears to alpha 0 around the model.

A turntable is ``frames`` pictures of one 360° turn of the camera around the model's up
axis, written as an animated WebP or GIF, or as a PNG sequence (a folder, or
``name.png`` → ``name-001.png``, ``name-002.png``, ...), by the output's name.

Everything here runs on the GUI thread (it renders with VTK).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from vtkmodules.vtkCommonDataModel import vtkPolyData
from vtkmodules.vtkRenderingCore import vtkActor, vtkCamera, vtkRenderer

from studio.errors import KilnError
from studio.meshes.scene import Scene
from studio.settings import Unit
from studio.shot_sizes import MAX_SIDE, SIZE_PRESETS, parse_size
from viewer.actors import BACKGROUND_BOTTOM, BACKGROUND_TOP, VTK_PBR, make_actor
from viewer.geometry import PreparedScene, prepare_scene, release
from viewer.lighting import (
    LIGHTS_WITH_ENVIRONMENT,
    LightKit,
    set_environment,
    use_msaa,
)
from viewer.normals import smooth_polydata
from viewer.overlays import BoundsOverlay, GridOverlay, Overlay, SceneFrame
from viewer.shadow import shadow_actor
from viewer.viewport import (
    Placement,
    StandardView,
    Surface,
    ViewMode,
    Viewport,
    _view_vectors,
    style_actor,
)

if TYPE_CHECKING:
    from PIL import Image

#: One turn of a turntable animation takes about this long.
TURN_SECONDS = 4.0
#: An animation is kept in memory while it is encoded; above this, write a PNG sequence.
MAX_ANIMATION_BYTES = 1_500_000_000
ANIMATION_SUFFIXES = {".gif", ".webp"}


__all__ = [
    "MAX_SIDE",
    "SIZE_PRESETS",
    "CameraPose",
    "ShotCancelled",
    "ShotError",
    "ShotRenderer",
    "ShotScene",
    "ShotSettings",
    "export_viewport",
    "parse_size",
    "render_shot",
    "shot_of_viewport",
    "write_shot",
]


class ShotError(KilnError):
    """A shot that can't be made as asked (size, output name)."""


class ShotCancelled(ShotError):
    """The designer stopped a turntable before its last frame."""


@dataclass(frozen=True)
class CameraPose:
    """Where a camera is and how it projects, copied off one renderer onto another."""

    position: tuple[float, float, float]
    focal_point: tuple[float, float, float]
    view_up: tuple[float, float, float]
    view_angle: float
    parallel: bool
    parallel_scale: float

    @classmethod
    def of(cls, camera: vtkCamera) -> CameraPose:
        return cls(
            position=tuple(camera.GetPosition()),  # type: ignore[arg-type]
            focal_point=tuple(camera.GetFocalPoint()),  # type: ignore[arg-type]
            view_up=tuple(camera.GetViewUp()),  # type: ignore[arg-type]
            view_angle=float(camera.GetViewAngle()),
            parallel=bool(camera.GetParallelProjection()),
            parallel_scale=float(camera.GetParallelScale()),
        )

    def apply(self, camera: vtkCamera, *, from_aspect: float, to_aspect: float) -> None:
        """Set ``camera`` to this pose. A narrower picture widens the view so what was
        seen left to right still is (VTK's view angle is the vertical one)."""
        widen = max(1.0, from_aspect / to_aspect)
        camera.SetPosition(*self.position)
        camera.SetFocalPoint(*self.focal_point)
        camera.SetViewUp(*self.view_up)
        camera.SetParallelProjection(self.parallel)
        camera.SetParallelScale(self.parallel_scale * widen)
        half = math.radians(self.view_angle) / 2
        camera.SetViewAngle(math.degrees(2 * math.atan(math.tan(half) * widen)))


@dataclass
class ShotScene:
    """What a shot shows: the viewport's content, or a scene seen from the default view.

    ``surfaces`` are the polydata to draw for each prepared part (smooth ones when the
    viewport has them); ``overlays`` what the viewport draws over the model, used only
    when a shot asks for overlays.
    """

    prepared: PreparedScene
    surfaces: list[vtkPolyData]
    mode: ViewMode = ViewMode.SMOOTH
    placement: Placement = field(default_factory=Placement)
    unit: Unit = "mm"
    environment: bool = True
    ground_shadow: bool = False
    overlays: list[Overlay] = field(default_factory=list)
    axes: bool = False
    camera: CameraPose | None = None
    #: The size the camera pose was framed for (its aspect matters).
    framed_for: tuple[int, int] | None = None

    @classmethod
    def of_scene(
        cls,
        scene: Scene,
        *,
        view: StandardView = StandardView.ISO,
        unit: Unit = "mm",
        environment: bool = True,
    ) -> ShotScene:
        """``scene`` alone, smooth, from a standard view (the command line's shots)."""
        prepared = prepare_scene(scene, smooth=True)
        return cls(
            prepared=prepared,
            surfaces=[item.polydata for item in prepared.parts],
            placement=Placement.default_for(scene),
            unit=unit,
            environment=environment,
            overlays=[GridOverlay(), BoundsOverlay()],
            axes=True,
            camera=None,
        )

    def frame(self) -> SceneFrame:
        return SceneFrame(
            bounds=self.prepared.bounds,
            model_mm=self.placement.model_mm,
            unit=self.unit,
            y_up=self.placement.y_up,
        )


@dataclass(frozen=True)
class ShotSettings:
    size: tuple[int, int]
    transparent: bool = False
    overlays: bool = False
    #: Frames of a 360° turntable; 0 for a still.
    turntable: int = 0


class ShotRenderer:
    """An off-screen render window set up for one shot; close it (or use ``with``)."""

    def __init__(self, shot: ShotScene, settings: ShotSettings) -> None:
        import pyvista as pv

        self.shot = shot
        self.settings = settings
        width, height = settings.size
        self._plotter = pv.Plotter(off_screen=True, window_size=[width, height])
        try:
            self._build()
        except BaseException:
            release(self._plotter)
            raise

    def _build(self) -> None:
        shot, settings = self.shot, self.settings
        plotter = self._plotter
        window = plotter.render_window
        renderer = plotter.renderer
        # A shot is rendered once, so it can afford MSAA even on a software renderer.
        use_msaa(window, renderer)
        if settings.transparent:
            plotter.set_background(BACKGROUND_BOTTOM)  # a gradient would be drawn opaque
            window.SetAlphaBitPlanes(1)
            renderer.SetBackgroundAlpha(0.0)
        else:
            plotter.set_background(BACKGROUND_BOTTOM, top=BACKGROUND_TOP)
        self._actors: list[vtkActor] = []
        for item, poly in zip(shot.prepared.parts, shot.surfaces, strict=True):
            actor = make_actor(item)
            style_actor(actor, Surface.with_smooth(item, poly), shot.mode)
            renderer.AddActor(actor)
            self._actors.append(actor)
        pbr = any(a.GetProperty().GetInterpolation() == VTK_PBR for a in self._actors)
        environment = shot.environment and pbr
        set_environment(renderer, environment, y_up=shot.placement.y_up)
        LightKit(renderer).set_scale(LIGHTS_WITH_ENVIRONMENT if environment else 1.0)
        if shot.ground_shadow:
            renderer.AddActor(shadow_actor(shot.prepared, y_up=shot.placement.y_up))
        if settings.overlays:
            frame = shot.frame()
            for overlay in shot.overlays:
                for prop in overlay.build(frame):
                    renderer.AddActor(prop)
            if shot.axes:
                plotter.add_axes(interactive=False, line_width=2)
        self._place_camera()

    def _place_camera(self) -> None:
        shot = self.shot
        camera = vtkRenderer.GetActiveCamera(self._plotter.renderer)
        width, height = self.settings.size
        if shot.camera is not None:
            fw, fh = shot.framed_for or self.settings.size
            shot.camera.apply(camera, from_aspect=fw / fh, to_aspect=width / height)
        else:
            direction, up = _view_vectors(StandardView.ISO, shot.placement.y_up)
            x0, x1, y0, y1, z0, z1 = shot.prepared.bounds
            focal = np.array([(x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2])
            camera.SetFocalPoint(*focal)
            camera.SetPosition(*(focal + direction))
            camera.SetViewUp(*up)
            vtkRenderer.ResetCamera(self._plotter.renderer, shot.prepared.bounds)
            camera.Zoom(1.15)
        vtkRenderer.ResetCameraClippingRange(self._plotter.renderer)
        self._start = CameraPose.of(camera)

    def render(self) -> np.ndarray:
        """The picture now, ``(h, w, 3)`` uint8, or ``(h, w, 4)`` when transparent."""
        from vtkmodules.util.numpy_support import vtk_to_numpy
        from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

        # Straight through VTK: pyvista's screenshot hands back its first image again
        # while the camera turns.
        window = self._plotter.render_window
        window.Render()
        grab = vtkWindowToImageFilter()
        grab.SetInput(window)
        grab.ReadFrontBufferOff()
        if self.settings.transparent:
            grab.SetInputBufferTypeToRGBA()
        else:
            grab.SetInputBufferTypeToRGB()
        grab.Update()
        output = grab.GetOutput()
        width, height, _ = output.GetDimensions()
        pixels = vtk_to_numpy(output.GetPointData().GetScalars())
        image = pixels.reshape(height, width, -1)[::-1]
        return np.ascontiguousarray(image, dtype=np.uint8)

    def turntable(self, frames: int) -> Iterator[np.ndarray]:
        """``frames`` pictures of one turn around the up axis, starting where it is."""
        camera = vtkRenderer.GetActiveCamera(self._plotter.renderer)
        up = np.array([0.0, 1.0, 0.0]) if self.shot.placement.y_up else np.array([0, 0, 1.0])
        start = self._start
        focal = np.array(start.focal_point)
        offset = np.array(start.position) - focal
        view_up = np.array(start.view_up)
        for k in range(frames):
            angle = 2 * math.pi * k / frames
            camera.SetPosition(*(focal + _rotate(offset, up, angle)))
            camera.SetViewUp(*_rotate(view_up, up, angle))
            camera.SetFocalPoint(*focal)
            vtkRenderer.ResetCameraClippingRange(self._plotter.renderer)
            yield self.render()

    def close(self) -> None:
        if self._plotter is not None:
            release(self._plotter)
            self._plotter = None

    def __enter__(self) -> ShotRenderer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _rotate(vector: np.ndarray, axis: np.ndarray, angle: float) -> np.ndarray:
    """``vector`` turned by ``angle`` radians about the unit ``axis`` (Rodrigues)."""
    c, s = math.cos(angle), math.sin(angle)
    result: np.ndarray = (
        vector * c + np.cross(axis, vector) * s + axis * np.dot(axis, vector) * (1 - c)
    )
    return result


def render_shot(shot: ShotScene, settings: ShotSettings) -> np.ndarray:
    """One still picture of ``shot``."""
    with ShotRenderer(shot, settings) as renderer:
        return renderer.render()


#: Told ``(frames done, frames in all)`` after each frame; returns False to stop.
Progress = Callable[[int, int], bool]


def _keep_going(_done: int, _total: int) -> bool:
    return True


def write_shot(
    shot: ShotScene, settings: ShotSettings, out: Path, *, progress: Progress = _keep_going
) -> list[Path]:
    """Render ``shot`` and write it to ``out``; returns the files written.

    A still goes to a PNG. A turntable goes to ``out`` as an animated ``.webp`` or
    ``.gif``, or as PNG frames: into ``out`` when it is a folder (or has no extension),
    beside it as ``name-001.png``... when it ends in ``.png``. ``progress`` hears of
    every frame and may stop the turntable (nothing is left written then).

    Raises
    ------
    ShotError
        The output's kind doesn't suit the shot, or an animation would not fit in memory.
    ShotCancelled
        ``progress`` returned False.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    frames = settings.turntable
    if frames < 0:
        raise ShotError("A turntable needs 1 frame or more.")
    if frames == 0:
        if suffix != ".png":
            raise ShotError(f"Still images are PNG: name the output “{out.stem}.png”.")
        with ShotRenderer(shot, settings) as renderer:
            return [_save_png(renderer.render(), out)]
    animated = suffix in ANIMATION_SUFFIXES
    if not animated and not (suffix in ("", ".png") or out.is_dir()):
        raise ShotError(
            f"A turntable is written as .webp, .gif or PNG frames; “{out.name}” is none of these."
        )
    width, height = settings.size
    if animated and width * height * 4 * frames > MAX_ANIMATION_BYTES:
        raise ShotError(
            f"{frames} frames at {width}×{height} are too many for an animation; "
            "write a PNG sequence (a folder) or choose a smaller size."
        )
    images: list[np.ndarray] = []
    written: list[Path] = []
    paths = sequence_paths(out, frames)
    try:
        with ShotRenderer(shot, settings) as renderer:
            for k, image in enumerate(renderer.turntable(frames)):
                if animated:
                    images.append(image)
                else:
                    written.append(_save_png(image, paths[k]))
                if not progress(k + 1, frames):
                    raise ShotCancelled("The turntable was stopped; nothing was saved.")
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    if animated:
        return [_save_animation(images, out, transparent=settings.transparent)]
    return written


def sequence_paths(out: Path, frames: int) -> list[Path]:
    """Where the frames of a PNG sequence go (see :func:`write_shot`)."""
    digits = max(3, len(str(frames)))
    if out.suffix.lower() == ".png":
        return [out.with_name(f"{out.stem}-{k:0{digits}d}.png") for k in range(1, frames + 1)]
    return [out / f"frame-{k:0{digits}d}.png" for k in range(1, frames + 1)]


def _save_png(image: np.ndarray, path: Path) -> Path:
    import io

    from PIL import Image

    from studio.atomic import write_atomic

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, buffer.getvalue())
    return path


def frame_duration_ms(frames: int) -> int:
    return max(20, round(TURN_SECONDS * 1000 / frames))


def _save_animation(images: Sequence[np.ndarray], path: Path, *, transparent: bool) -> Path:
    from PIL import Image

    from studio.atomic import write_atomic

    pictures = [Image.fromarray(image) for image in images]
    buffer = io.BytesIO()
    duration = frame_duration_ms(len(pictures))
    if path.suffix.lower() == ".webp":
        pictures[0].save(
            buffer,
            format="WEBP",
            save_all=True,
            append_images=pictures[1:],
            duration=duration,
            loop=0,
            quality=90,
            method=4,
        )
    else:
        frames = [_gif_frame(picture, transparent) for picture in pictures]
        options: dict[str, object] = {}
        if transparent:
            options = {"transparency": 255, "disposal": 2}
        frames[0].save(
            buffer,
            format="GIF",
            save_all=True,
            append_images=frames[1:],
            duration=duration,
            loop=0,
            optimize=False,
            **options,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, buffer.getvalue())
    return path


def _gif_frame(picture: Image.Image, transparent: bool) -> Image.Image:
    """A palette frame; with ``transparent``, index 255 marks the clear pixels."""
    from PIL import Image

    if not transparent:
        return picture.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    alpha = np.asarray(picture.getchannel("A"))
    frame = picture.convert("RGB").quantize(colors=255, method=Image.Quantize.MEDIANCUT)
    indices = np.asarray(frame).copy()
    indices[alpha < 128] = 255
    result = Image.fromarray(indices, mode="P")
    palette = frame.getpalette() or []
    result.putpalette([*palette[: 255 * 3], 0, 0, 0])
    return result


def shot_of_viewport(viewport: Viewport) -> ShotScene | None:
    """What ``viewport`` shows now, as a shot (``None`` with nothing shown)."""
    prepared = viewport.prepared
    if prepared is None:
        return None
    view = viewport.view
    return ShotScene(
        prepared=prepared,
        surfaces=smooth_surfaces(prepared, viewport.surface_polydata()),
        mode=viewport.mode,
        placement=viewport.placement,
        unit=view.unit,
        environment=view.environment_lighting,
        ground_shadow=view.ground_shadow,
        overlays=[overlay for overlay in viewport.overlays if overlay.visible],
        axes=view.show_axes,
        camera=CameraPose.of(viewport.camera()),
        framed_for=viewport.render_size,
    )


def export_viewport(
    viewport: Viewport, settings: ShotSettings, out: Path, *, progress: Progress = _keep_going
) -> list[Path]:
    """Write a shot of what ``viewport`` shows (see :func:`write_shot`).

    Raises
    ------
    ShotError
        Nothing is shown, or the output doesn't suit the shot.
    """
    shot = shot_of_viewport(viewport)
    if shot is None:
        raise ShotError("There is no model on screen to take a picture of.")
    return write_shot(shot, settings, out, progress=progress)


def smooth_surfaces(prepared: PreparedScene, surfaces: list[vtkPolyData]) -> list[vtkPolyData]:
    """``surfaces`` with smooth normals computed now for parts still waiting for them."""
    result = []
    for item, poly in zip(prepared.parts, surfaces, strict=True):
        if poly.GetPointData().GetNormals() is None and item.needs_normals:
            poly = smooth_polydata(item.part) or poly
        result.append(poly)
    return result
