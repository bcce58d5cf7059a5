"""The floor grid under the model, spaced 1-2-5 to suit its size."""

from __future__ import annotations

import math

import numpy as np
from vtkmodules.vtkRenderingCore import vtkActor, vtkProp

from viewer.actors import lines_actor, nice_step
from viewer.overlays.base import Overlay, SceneFrame

GRID_COLOR = (0.45, 0.48, 0.55)


def grid_actor(frame: SceneFrame) -> vtkActor:
    """Grid lines on the plane under the model, across its two horizontal axes."""
    x0, x1, y0, y1, z0, z1 = frame.bounds
    lo = np.array([x0, y0, z0])
    hi = np.array([x1, y1, z1])
    up = frame.up_index
    a, b = (axis for axis in range(3) if axis != up)
    span = max(hi[a] - lo[a], hi[b] - lo[b], 1e-6) * 1.6
    step = nice_step(span)
    centre = (lo + hi) / 2
    half = math.ceil(span / 2 / step) * step
    segments = []
    for t in np.arange(-half, half + step / 2, step):
        for axis, other in ((a, b), (b, a)):
            p0 = centre.copy()
            p1 = centre.copy()
            p0[up] = p1[up] = lo[up]
            p0[axis] = p1[axis] = centre[axis] + t
            p0[other] = centre[other] - half
            p1[other] = centre[other] + half
            segments.extend([p0, p1])
    actor = lines_actor(np.asarray(segments))
    actor.GetProperty().SetColor(*GRID_COLOR)
    actor.GetProperty().SetOpacity(0.55)
    return actor


class GridOverlay(Overlay):
    name = "grid"

    def build(self, frame: SceneFrame | None) -> list[vtkProp]:
        return [] if frame is None else [grid_actor(frame)]
