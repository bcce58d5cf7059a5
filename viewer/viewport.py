"""The 3D viewport: one pyvistaqt ``QtInteractor``, composed (not subclassed) and owned.

The interactor is created with ``multi_samples=0`` and ``auto_update=False`` and renders
only when the scene or a view setting changes (its 5 Hz timer froze multi-window apps).
Actors are built straight on ``vtkPolyDataMapper``: pyvista's ``add_mesh`` goes through a
dataset mapper that copies the whole mesh, which doubles memory on a 5M-triangle STL.

What makes a frame look right without making the first one late (:mod:`viewer.lighting`):
FXAA, or MSAA once the first frame shows the window is on a GPU; a scene's first
frame goes out as fast as it can, and what can wait comes right after it — smooth normals
for triangle soups (computed on a pool thread, :mod:`viewer.smoothing`) and, the first
time a PBR material is shown, the studio environment's prefiltering. Flat shading gives
the mapper the same surface without its point normals (PBR has no flat switch).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtWidgets
from pyvistaqt import QtInteractor
from vtkmodules.vtkCommonDataModel import vtkPolyData
from vtkmodules.vtkRenderingCore import vtkActor, vtkCamera, vtkProp, vtkRenderer

from studio.meshes.scene import MeshFormat, Scene
from studio.meshes.units import default_up_axis, mm_per_unit
from studio.settings import ViewState
from viewer.actors import (
    BACKGROUND_BOTTOM,
    BACKGROUND_TOP,
    EDGE_COLOR,
    VTK_PBR,
    make_actor,
)
from viewer.geometry import PreparedPart, PreparedScene, release, without_normals
from viewer.lighting import (
    LIGHTS_WITH_ENVIRONMENT,
    LightKit,
    set_environment,
    use_fxaa,
    use_gpu_anti_aliasing,
)
from viewer.overlays import BoundsOverlay, GridOverlay, Overlay, SceneFrame
from viewer.overlays.base import remove_props
from viewer.shadow import shadow_actor
from viewer.smoothing import Smoothed, Smoothing
from viewer.units import UNIT_SCALE, format_length

log = logging.getLogger(__name__)

__all__ = [
    "UNIT_SCALE",
    "Y_UP_FORMATS",
    "Placement",
    "StandardView",
    "Surface",
    "ViewMode",
    "Viewport",
    "format_length",
]

# glTF and (by habit) OBJ are Y-up; STL, 3MF, PLY and OFF come from CAD and printing: Z-up.
Y_UP_FORMATS = {fmt for fmt in MeshFormat if default_up_axis(fmt) == "y"}


@dataclass(frozen=True)
class Placement:
    """How a model sits: millimetres per model unit, and whether +Y (else +Z) is up."""

    model_mm: float = 1.0
    y_up: bool = False

    @classmethod
    def default_for(cls, scene: Scene) -> Placement:
        """What the file says or its format implies."""
        return cls(model_mm=mm_per_unit(scene.unit), y_up=scene.format in Y_UP_FORMATS)


class Surface:
    """What one actor draws: its surface with normals (smooth) and without (flat)."""

    def __init__(self, item: PreparedPart) -> None:
        self.item = item
        self.smooth: vtkPolyData = item.polydata
        self._flat: vtkPolyData | None = None

    @property
    def flat(self) -> vtkPolyData:
        if self.smooth.GetPointData().GetNormals() is None:
            return self.smooth
        if self._flat is None:
            self._flat = without_normals(self.smooth)
        return self._flat

    def set_smooth(self, poly: vtkPolyData) -> None:
        self.smooth = poly
        self._flat = None

    @classmethod
    def with_smooth(cls, item: PreparedPart, poly: vtkPolyData) -> Surface:
        surface = cls(item)
        surface.set_smooth(poly)
        return surface


class ViewMode(enum.Enum):
    SMOOTH = "smooth"
    FLAT = "flat"
    WIREFRAME = "wireframe"
    EDGES = "edges"
    POINTS = "points"

    @property
    def label(self) -> str:
        return {
            "smooth": "Shaded (smooth)",
            "flat": "Shaded (flat)",
            "wireframe": "Wireframe",
            "edges": "Shaded with edges",
            "points": "Points",
        }[self.value]


def style_actor(actor: vtkActor, surface: Surface, mode: ViewMode) -> None:
    """Draw ``actor`` in ``mode``: its surface with or without normals, and how."""
    wanted = surface.flat if mode is ViewMode.FLAT else surface.smooth
    mapper = actor.GetMapper()
    if mapper.GetInput() is not wanted:
        mapper.SetInputData(wanted)
    prop = actor.GetProperty()
    prop.EdgeVisibilityOff()
    prop.SetRepresentationToSurface()
    is_pbr = prop.GetInterpolation() == VTK_PBR
    if mode is ViewMode.SMOOTH:
        if not is_pbr:
            prop.SetInterpolationToPhong()
    elif mode is ViewMode.FLAT:
        if not is_pbr:
            prop.SetInterpolationToFlat()
    elif mode is ViewMode.WIREFRAME:
        prop.SetRepresentationToWireframe()
        prop.SetLineWidth(1.0)
    elif mode is ViewMode.EDGES:
        prop.EdgeVisibilityOn()
        prop.SetEdgeColor(*EDGE_COLOR)
    elif mode is ViewMode.POINTS:
        prop.SetRepresentationToPoints()
        prop.SetPointSize(3.0)
    mapper.Modified()


class StandardView(enum.Enum):
    FRONT = "front"
    BACK = "back"
    LEFT = "left"
    RIGHT = "right"
    TOP = "top"
    BOTTOM = "bottom"
    ISO = "iso"

    @property
    def label(self) -> str:
        return self.value.capitalize() if self is not StandardView.ISO else "Isometric"


def _view_vectors(view: StandardView, y_up: bool) -> tuple[np.ndarray, np.ndarray]:
    """(direction from focal point to camera, view-up) in model coordinates."""
    if y_up:
        up, front, right = np.array([0, 1, 0.0]), np.array([0, 0, 1.0]), np.array([1, 0, 0.0])
    else:
        up, front, right = np.array([0, 0, 1.0]), np.array([0, -1, 0.0]), np.array([1, 0, 0.0])
    table = {
        StandardView.FRONT: (front, up),
        StandardView.BACK: (-front, up),
        StandardView.RIGHT: (right, up),
        StandardView.LEFT: (-right, up),
        StandardView.TOP: (up, -front),
        StandardView.BOTTOM: (-up, front),
        StandardView.ISO: (front + right + up, up),
    }
    direction, view_up = table[view]
    return direction / np.linalg.norm(direction), view_up


class Viewport(QtWidgets.QWidget):
    """The viewport widget. Call :meth:`close_viewport` (or close the widget) to free GL.

    It draws what ``view`` (a :class:`studio.settings.ViewState`) says and follows its
    events; the ``set_*`` methods change that model, never the picture directly.
    """

    #: Emitted after every rendered frame.
    frame_rendered = QtCore.Signal()
    #: Emitted when what comes after a scene's first frame (smooth normals, the
    #: environment) is in place; :attr:`detail_pending` is false from then on.
    detail_ready = QtCore.Signal()

    def __init__(
        self, parent: QtWidgets.QWidget | None = None, *, view: ViewState | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("viewport")
        self.view = view if view is not None else ViewState()
        self._plotter = QtInteractor(self, multi_samples=0, auto_update=False)
        # pyvista binds keys such as "q" (close) and "v"; the window owns the shortcuts.
        self._plotter.iren.clear_key_event_callbacks()
        # pyvistaqt loads dropped files itself (pyvista.read, no library): drops belong
        # to the window, which imports them.
        self._plotter.setAcceptDrops(False)
        # VTK's interactor style maps letters to actions ("w" wireframe, "e"/"q" exit,
        # "3" stereo...). The window's shortcuts own the keyboard, so swallow them here.
        interactor = self._plotter.iren.interactor
        self._char_tag = interactor.AddObserver("CharEvent", self._swallow_char, 100.0)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._plotter)
        self._plotter.set_background(BACKGROUND_BOTTOM, top=BACKGROUND_TOP)
        self._plotter.add_axes(interactive=False, line_width=2, labels_off=False)
        self._plotter.ren_win.AddObserver("EndEvent", self._on_render_end)
        use_fxaa(self._plotter.renderer)
        self._gpu_checked = False
        self._lights = LightKit(self._plotter.renderer)
        self._environment_warm = False
        self._shadow: vtkActor | None = None

        self._prepared: PreparedScene | None = None
        self._actors: list[vtkActor] = []
        self._proxy_actors: list[vtkActor] = []
        self._surfaces: dict[vtkActor, Surface] = {}
        self._on_proxy = False
        # What waits for a scene's first frame, and the pool thread that smooths soups.
        self._awaiting_first_frame = False
        self._detail_pending = False
        self._smoothing: Smoothing | None = None
        self._smoothings: set[Smoothing] = set()
        self._smoothing_targets: list[int] = []
        self._pool = QtCore.QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        # Full detail comes back a moment after the camera stops (not per wheel step).
        self._restore_timer = QtCore.QTimer(self)
        self._restore_timer.setSingleShot(True)
        self._restore_timer.setInterval(250)
        self._restore_timer.timeout.connect(self._show_full_detail)
        interactor.AddObserver("StartInteractionEvent", self._on_interaction_start)
        interactor.AddObserver("EndInteractionEvent", self._on_interaction_end)
        self._placement = Placement()
        self._closed = False
        self._overlays: dict[Overlay, list[vtkProp]] = {}
        self.grid = GridOverlay()
        self.bounds = BoundsOverlay()
        for overlay in (self.grid, self.bounds):
            self.add_overlay(overlay)
        self._follow_view()

    def _follow_view(self) -> None:
        events = self.view.events
        events.mode.connect(self._on_mode)
        events.projection.connect(self._on_projection)
        events.unit.connect(self._on_unit)
        events.show_grid.connect(self.grid.set_visible)
        events.show_bounds.connect(self.bounds.set_visible)
        events.show_axes.connect(self._on_axes)
        events.environment_lighting.connect(self._on_environment)
        events.ground_shadow.connect(self._on_ground_shadow)
        self.grid.set_visible(self.view.show_grid)
        self.bounds.set_visible(self.view.show_bounds)
        self._on_axes(self.view.show_axes)
        self._camera().SetParallelProjection(self.view.projection == "orthographic")

    def _unfollow_view(self) -> None:
        events = self.view.events
        for signal, slot in (
            (events.mode, self._on_mode),
            (events.projection, self._on_projection),
            (events.unit, self._on_unit),
            (events.show_grid, self.grid.set_visible),
            (events.show_bounds, self.bounds.set_visible),
            (events.show_axes, self._on_axes),
            (events.environment_lighting, self._on_environment),
            (events.ground_shadow, self._on_ground_shadow),
        ):
            signal.disconnect(slot)

    def _swallow_char(self, interactor: object, _event: str) -> None:
        interactor.GetCommand(self._char_tag).SetAbortFlag(1)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ scene
    @property
    def plotter(self) -> QtInteractor:
        return self._plotter

    @property
    def prepared(self) -> PreparedScene | None:
        return self._prepared

    @property
    def mode(self) -> ViewMode:
        return ViewMode(self.view.mode)

    @property
    def placement(self) -> Placement:
        return self._placement

    def show_scene(
        self,
        prepared: PreparedScene,
        *,
        keep_camera: bool = False,
        placement: Placement | None = None,
    ) -> None:
        """Replace what is shown with ``prepared`` and render one frame.

        ``placement`` is how the model sits (unit and up axis); by default what the file
        says or its format implies.
        """
        self._remove_actors()
        self._prepared = prepared
        self._placement = placement or Placement.default_for(prepared.scene)
        for item in prepared.parts:
            self._add_surface(item, self._actors)
        self._apply_mode()
        self._apply_lighting(first_frame=True)
        self.rebuild_overlays()
        if not keep_camera:
            self.set_view(StandardView.ISO, render=False)
        self._awaiting_first_frame = True
        self._detail_pending = self._wants_detail()
        self.request_render()

    def _add_surface(self, item: PreparedPart, into: list[vtkActor]) -> vtkActor:
        actor = make_actor(item)
        self._surfaces[actor] = Surface(item)
        into.append(actor)
        self._plotter.renderer.AddActor(actor)
        return actor

    # ------------------------------------------------------------------ after the first frame
    @property
    def detail_pending(self) -> bool:
        """True from :meth:`show_scene` until smooth normals and the environment are in."""
        return self._detail_pending

    def _wants_detail(self) -> bool:
        return any(self._surfaces[a].item.needs_normals for a in self._actors) or (
            self._environment_wanted() and not self._environment_warm
        )

    def _after_first_frame(self) -> None:
        """Runs from the event loop once the shown scene's first frame is out."""
        if self._closed or self._prepared is None:
            return
        if self._environment_wanted() and not self._environment_warm:
            self._apply_lighting()
            self.request_render()  # the next frame prefilters the environment, once
        if self.view.ground_shadow:
            self._show_shadow(True)
        parts = [self._surfaces[a].item.part for a in self._actors]
        wanted = [i for i, a in enumerate(self._actors) if self._surfaces[a].item.needs_normals]
        if not wanted:
            self._finish_detail()
            return
        smoothing = Smoothing([parts[i] for i in wanted])
        self._smoothing_targets = wanted
        smoothing.part_done.connect(self._on_part_smoothed)
        smoothing.ended.connect(self._on_smoothing_ended)
        self._smoothing = smoothing
        self._smoothings.add(smoothing)
        smoothing.start(self._pool)

    def _cancel_smoothing(self) -> None:
        if self._smoothing is not None:
            self._smoothing.cancel()
            self._smoothing = None

    @QtCore.Slot(object)
    def _on_part_smoothed(self, result: Smoothed) -> None:
        if result.smoothing is not self._smoothing or self._closed:
            return  # for a scene no longer shown
        actor = self._actors[self._smoothing_targets[result.index]]
        self._surfaces[actor].set_smooth(result.polydata)
        self._apply_mode()
        self.request_render()

    @QtCore.Slot(object)
    def _on_smoothing_ended(self, smoothing: Smoothing) -> None:
        self._smoothings.discard(smoothing)
        if smoothing is not self._smoothing:
            return
        self._smoothing = None
        if smoothing.error is not None:
            log.warning("the model stays faceted: %s", smoothing.error)
        self._finish_detail()

    def _finish_detail(self) -> None:
        if self._detail_pending:
            self._detail_pending = False
            self.detail_ready.emit()

    # ------------------------------------------------------------------ lighting
    def _has_pbr(self) -> bool:
        return any(a.GetProperty().GetInterpolation() == VTK_PBR for a in self._actors)

    def _environment_wanted(self) -> bool:
        return self.view.environment_lighting and self._has_pbr()

    def _apply_lighting(self, *, first_frame: bool = False) -> None:
        """Environment on for PBR scenes when the view asks for it; lights to match.

        On a scene's first frame the environment is only used if it was prefiltered
        before; otherwise it comes in on the frame after (see :meth:`_after_first_frame`).
        """
        wanted = self._environment_wanted()
        if wanted and first_frame and not self._environment_warm:
            wanted = False
        if wanted:
            self._environment_warm = True
        set_environment(self._plotter.renderer, wanted, y_up=self._placement.y_up)
        self._lights.set_scale(LIGHTS_WITH_ENVIRONMENT if wanted else 1.0)

    @property
    def environment_active(self) -> bool:
        """True while the studio environment lights the shown (PBR) model."""
        return bool(self._plotter.renderer.GetUseImageBasedLighting())

    def _on_environment(self, _enabled: bool) -> None:
        self._apply_lighting()
        self.request_render()

    # ------------------------------------------------------------------ ground shadow
    @property
    def shadow_shown(self) -> bool:
        return self._shadow is not None

    def _on_ground_shadow(self, enabled: bool) -> None:
        self._show_shadow(enabled)
        self.request_render()

    def _show_shadow(self, enabled: bool) -> None:
        """Build (about 0.1 s: a sampled, blurred texture) or remove the contact shadow."""
        if self._shadow is not None:
            self._plotter.renderer.RemoveActor(self._shadow)
            self._shadow = None
        if enabled and self._prepared is not None:
            self._shadow = shadow_actor(self._prepared, y_up=self._placement.y_up)
            self._plotter.renderer.AddActor(self._shadow)

    def set_placement(self, placement: Placement) -> None:
        """The designer said what unit the model is in, or which axis is up."""
        turned = placement.y_up != self._placement.y_up
        self._placement = placement
        if turned:
            self._apply_lighting()
            if self._shadow is not None:
                self._show_shadow(True)
        self.rebuild_overlays()
        if turned:
            self.set_view(StandardView.ISO, render=False)
        self.request_render()

    def clear(self) -> None:
        self._remove_actors()
        self._prepared = None
        self.rebuild_overlays()
        self.request_render()

    def _remove_actors(self) -> None:
        self._cancel_smoothing()
        self._show_shadow(False)
        for actor in self._actors + self._proxy_actors:
            self._plotter.renderer.RemoveActor(actor)
        self._actors.clear()
        self._proxy_actors.clear()
        self._surfaces.clear()
        self._on_proxy = False
        self._awaiting_first_frame = False
        self._finish_detail()

    # ------------------------------------------------------------------ proxy
    def set_proxy(self, proxy: PreparedScene | None) -> None:
        """Use ``proxy`` (see :func:`viewer.geometry.make_proxy`) while the camera moves."""
        for actor in self._proxy_actors:
            self._plotter.renderer.RemoveActor(actor)
            self._surfaces.pop(actor, None)
        self._proxy_actors.clear()
        if proxy is None or self._prepared is None or proxy.scene is not self._prepared.scene:
            return  # built for a scene no longer shown
        for item in proxy.parts:
            actor = self._add_surface(item, self._proxy_actors)
            actor.SetVisibility(self._on_proxy)
        self._apply_mode()

    @property
    def has_proxy(self) -> bool:
        return bool(self._proxy_actors)

    @property
    def showing_proxy(self) -> bool:
        return self._on_proxy

    def _on_interaction_start(self, *_: object) -> None:
        self._restore_timer.stop()
        if self._proxy_actors and not self._on_proxy:
            self._set_detail(proxy=True)

    def _on_interaction_end(self, *_: object) -> None:
        if self._on_proxy:
            self._restore_timer.start()

    def _show_full_detail(self) -> None:
        if self._on_proxy:
            self._set_detail(proxy=False)
            self.request_render()

    def _set_detail(self, *, proxy: bool) -> None:
        self._on_proxy = proxy
        for actor in self._proxy_actors:
            actor.SetVisibility(proxy)
        for actor in self._actors:
            actor.SetVisibility(not proxy)

    # ------------------------------------------------------------------ modes
    def set_mode(self, mode: ViewMode) -> None:
        self.view.mode = mode.value

    def _on_mode(self, _mode: str) -> None:
        self._apply_mode()
        self.request_render()

    def _apply_mode(self) -> None:
        for actor in self._actors + self._proxy_actors:
            style_actor(actor, self._surfaces[actor], self.mode)

    def surface_polydata(self) -> list[vtkPolyData]:
        """The surface drawn for each part of the shown scene (welded once smoothed)."""
        return [self._surfaces[actor].smooth for actor in self._actors]

    # ------------------------------------------------------------------ camera
    def camera(self) -> vtkCamera:
        """The VTK camera (read it; change the view through the ``set_*`` methods)."""
        return self._camera()

    @property
    def render_size(self) -> tuple[int, int]:
        """The render window's size in pixels (device pixels on a high-DPI screen)."""
        width, height = self._plotter.ren_win.GetSize()
        return int(width), int(height)

    def _camera(self) -> vtkCamera:
        # The plain VTK camera: pyvista's wrappers render on every change.
        return vtkRenderer.GetActiveCamera(self._plotter.renderer)

    def set_view(self, view: StandardView, *, render: bool = True) -> None:
        direction, up = _view_vectors(view, self._placement.y_up)
        camera = self._camera()
        focal = np.array(camera.GetFocalPoint())
        if self._prepared is not None:
            x0, x1, y0, y1, z0, z1 = self._prepared.bounds
            focal = np.array([(x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2])
        camera.SetFocalPoint(*focal)
        camera.SetPosition(*(focal + direction))
        camera.SetViewUp(*up)
        self.fit(render=render)

    def fit(self, *, render: bool = True) -> None:
        renderer = self._plotter.renderer
        if self._prepared is not None:
            vtkRenderer.ResetCamera(renderer, self._prepared.bounds)
        else:
            vtkRenderer.ResetCamera(renderer)
        vtkRenderer.ResetCameraClippingRange(renderer)
        if render:
            self.request_render()

    def set_parallel_projection(self, enabled: bool) -> None:
        self.view.projection = "orthographic" if enabled else "perspective"

    def _on_projection(self, projection: str) -> None:
        self._camera().SetParallelProjection(projection == "orthographic")
        self.fit()

    @property
    def parallel_projection(self) -> bool:
        return bool(self._camera().GetParallelProjection())

    # ------------------------------------------------------------------ overlays
    def add_overlay(self, overlay: Overlay) -> None:
        """Draw ``overlay`` from now on (rebuilt whenever the scene or the frame change)."""
        if overlay in self._overlays:
            return
        self._overlays[overlay] = []
        overlay.bind(self._on_overlay_changed)
        self._rebuild(overlay)

    def remove_overlay(self, overlay: Overlay) -> None:
        props = self._overlays.pop(overlay, None)
        if props is None:
            return
        overlay.bind(None)
        remove_props(self._plotter.renderer, props)
        self.request_render()

    @property
    def overlays(self) -> list[Overlay]:
        return list(self._overlays)

    def overlay_props(self, overlay: Overlay) -> list[vtkProp]:
        """What ``overlay`` draws now (empty while hidden)."""
        return list(self._overlays.get(overlay, []))

    def frame(self) -> SceneFrame | None:
        """Where the shown model is, for overlays; ``None`` with nothing shown."""
        if self._prepared is None:
            return None
        return SceneFrame(
            bounds=self._prepared.bounds,
            model_mm=self._placement.model_mm,
            unit=self.view.unit,
            y_up=self._placement.y_up,
        )

    def rebuild_overlays(self) -> None:
        for overlay in self._overlays:
            self._rebuild(overlay)

    def _on_overlay_changed(self, overlay: Overlay) -> None:
        self._rebuild(overlay)
        self.request_render()

    def _rebuild(self, overlay: Overlay) -> None:
        renderer = self._plotter.renderer
        remove_props(renderer, self._overlays[overlay])
        props = overlay.build(self.frame()) if overlay.visible else []
        self._overlays[overlay] = props
        for prop in props:
            renderer.AddActor(prop)

    def set_grid_visible(self, visible: bool) -> None:
        self.view.show_grid = visible

    def set_bounds_visible(self, visible: bool) -> None:
        self.view.show_bounds = visible

    def set_axes_visible(self, visible: bool) -> None:
        self.view.show_axes = visible

    def _on_axes(self, visible: bool) -> None:
        if visible:
            self._plotter.show_axes()
        else:
            self._plotter.hide_axes()
        self.request_render()

    def set_unit(self, unit: str) -> None:
        if unit not in UNIT_SCALE:
            raise ValueError(f"unknown unit {unit!r}")
        self.view.unit = unit  # type: ignore[assignment]

    def _on_unit(self, _unit: str) -> None:
        self.rebuild_overlays()
        self.request_render()

    @property
    def unit(self) -> str:
        return self.view.unit

    def dimensions_text(self) -> str:
        """ "120.0 × 80.0 × 45.0 mm" for the shown model, in the chosen unit."""
        if self._prepared is None:
            return ""
        x0, x1, y0, y1, z0, z1 = self._prepared.bounds
        unit = self.view.unit
        parts = [
            format_length((hi - lo) * self._placement.model_mm, unit)
            for lo, hi in ((x0, x1), (y0, y1), (z0, z1))
        ]
        return " × ".join(p.rsplit(" ", 1)[0] for p in parts) + f" {unit}"

    # ------------------------------------------------------------------ output
    def request_render(self) -> None:
        """Schedule one frame.

        The widget's ``paintGL`` always renders; calling the render window directly as
        well would draw every frame twice (0.7 s extra at 5M triangles).
        """
        if not self._closed:
            self._plotter.update()

    def render_now(self) -> None:
        """Render synchronously, now (screenshots, grabs of the whole window)."""
        if not self._closed:
            self._plotter._render()

    def grab_image(self, *, transparent: bool = False) -> np.ndarray:
        """Render now and return the pixels, ``(h, w, 3)`` or RGBA when ``transparent``."""
        renderer = self._plotter.renderer
        gradient = renderer.GetGradientBackground()
        if transparent:
            # Clear to alpha 0 instead of the (opaque) gradient for this one frame.
            renderer.GradientBackgroundOff()
            renderer.SetBackgroundAlpha(0.0)
        try:
            self.render_now()
            image: np.ndarray = self._plotter.screenshot(
                None, transparent_background=transparent, return_img=True
            )
        finally:
            if transparent:
                renderer.SetBackgroundAlpha(1.0)
                renderer.SetGradientBackground(gradient)
                self.request_render()
        return image

    def _on_render_end(self, *_: object) -> None:
        if not self._gpu_checked:
            self._gpu_checked = True
            QtCore.QTimer.singleShot(0, self._check_gpu)
        if self._awaiting_first_frame:
            self._awaiting_first_frame = False
            QtCore.QTimer.singleShot(0, self._after_first_frame)
        self.frame_rendered.emit()

    def _check_gpu(self) -> None:
        """MSAA instead of FXAA when the first frame showed a GPU behind the window."""
        if not self._closed and use_gpu_anti_aliasing(
            self._plotter.ren_win, self._plotter.renderer
        ):
            self.request_render()

    @property
    def multi_samples(self) -> int:
        return int(self._plotter.ren_win.GetMultiSamples())

    def screenshot(self, path: Path, *, transparent: bool = False) -> Path:
        """Save what the viewport shows as a PNG (optionally with a transparent background)."""
        from PIL import Image

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(self.grab_image(transparent=transparent)).save(path, format="PNG")
        return path

    def close_viewport(self) -> None:
        """Release the render window; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._cancel_smoothing()
        # A cancelled smoothing stops at its next chunk (well under a second): no thread
        # outlives the viewport.
        self._pool.waitForDone()
        self._unfollow_view()
        # No paint may reach the render window once it is finalised.
        self._plotter.setUpdatesEnabled(False)
        self._remove_actors()
        for overlay in list(self._overlays):
            overlay.bind(None)
        self._overlays.clear()
        self._prepared = None
        release(self._plotter)

    def closeEvent(self, event: object) -> None:
        self.close_viewport()
        super().closeEvent(event)  # type: ignore[arg-type]
