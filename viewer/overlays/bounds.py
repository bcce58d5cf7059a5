"""The bounding box with its three dimensions, in the unit the designer chose."""

from __future__ import annotations

import numpy as np
from vtkmodules.vtkRenderingCore import vtkProp

from viewer.actors import outline_actor, point_labels
from viewer.overlays.base import Overlay, SceneFrame
from viewer.units import format_length


class BoundsOverlay(Overlay):
    name = "bounds"

    def build(self, frame: SceneFrame | None) -> list[vtkProp]:
        if frame is None:
            return []
        x0, x1, y0, y1, z0, z1 = frame.bounds
        mm = frame.model_mm
        anchors = np.array(
            [[(x0 + x1) / 2, y0, z0], [x1, (y0 + y1) / 2, z0], [x1, y0, (z0 + z1) / 2]]
        )
        texts = [
            f"X {format_length((x1 - x0) * mm, frame.unit)}",
            f"Y {format_length((y1 - y0) * mm, frame.unit)}",
            f"Z {format_length((z1 - z0) * mm, frame.unit)}",
        ]
        return [outline_actor(frame.bounds), *point_labels(anchors, texts)]
