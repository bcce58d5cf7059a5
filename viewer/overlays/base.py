"""The overlay contract shared by the viewport and every tool that draws on it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vtkmodules.vtkRenderingCore import vtkProp

from studio.settings import Unit

Bounds = tuple[float, float, float, float, float, float]


@dataclass(frozen=True)
class SceneFrame:
    """Where the shown model is and how its lengths read.

    Attributes
    ----------
    bounds
        ``(xmin, xmax, ymin, ymax, zmin, zmax)`` in model coordinates.
    model_mm
        Millimetres in one model unit (the file's unit, or the designer's override).
    unit
        The display unit the designer chose ("mm", "cm", "m", "in").
    y_up
        True when the model's up axis is +Y, False for +Z.
    """

    bounds: Bounds
    model_mm: float
    unit: Unit
    y_up: bool

    @property
    def up_index(self) -> int:
        return 1 if self.y_up else 2

    @property
    def size(self) -> float:
        """The length of the bounding box's diagonal (a scale for markers and offsets)."""
        x0, x1, y0, y1, z0, z1 = self.bounds
        return float(((x1 - x0) ** 2 + (y1 - y0) ** 2 + (z1 - z0) ** 2) ** 0.5) or 1.0


@dataclass(frozen=True)
class Legend:
    """What a colour overlay's colours mean, for the legend beside the viewport.

    ``stops`` are ``(value, (r, g, b))`` from low to high, values in ``unit`` (or a share
    when ``unit`` is "%"); ``caption`` names the quantity.
    """

    caption: str
    unit: str
    stops: Sequence[tuple[float, tuple[float, float, float]]]


class Overlay:
    """Base of everything drawn over the model.

    Subclasses implement :meth:`build`; the viewport calls it with the current frame and
    shows the props it returns while :attr:`visible` is true.
    """

    #: Shown in menus and tests.
    name = "overlay"

    def __init__(self) -> None:
        self._visible = True
        self._on_change: Callable[[Overlay], None] | None = None

    @property
    def visible(self) -> bool:
        return self._visible

    def set_visible(self, visible: bool) -> None:
        if visible != self._visible:
            self._visible = visible
            self.changed()

    def bind(self, on_change: Callable[[Overlay], None] | None) -> None:
        """Called by the viewport when the overlay is added (``None`` when removed)."""
        self._on_change = on_change

    def changed(self) -> None:
        """Ask the viewport to rebuild this overlay's props."""
        if self._on_change is not None:
            self._on_change(self)

    def build(self, frame: SceneFrame | None) -> list[vtkProp]:
        """The props to show for ``frame`` (``None``: no model on screen)."""
        raise NotImplementedError

    def legend(self) -> Legend | None:
        """What this overlay's colours mean, if it colours anything."""
        return None


def remove_props(renderer: object, props: Sequence[vtkProp]) -> None:
    for prop in props:
        renderer.RemoveActor(prop)  # type: ignore[attr-defined]
