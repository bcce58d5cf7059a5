"""Open edges (holes, in red) and non-manifold edges (in magenta), drawn over the model."""

from __future__ import annotations

import numpy as np
from vtkmodules.vtkRenderingCore import vtkProp

from viewer.actors import lines_actor
from viewer.overlays.base import Overlay, SceneFrame

OPEN_COLOR = (0.95, 0.25, 0.2)
NONMANIFOLD_COLOR = (0.85, 0.3, 0.95)
_NONE = np.zeros((0, 3), dtype=np.float32)


class ProblemEdgesOverlay(Overlay):
    """Segments given as ``(2k, 3)`` point arrays: each consecutive pair is one edge."""

    name = "problem-edges"

    def __init__(self) -> None:
        super().__init__()
        self._open = _NONE
        self._nonmanifold = _NONE

    @property
    def counts(self) -> tuple[int, int]:
        return len(self._open) // 2, len(self._nonmanifold) // 2

    def set_edges(self, open_points: np.ndarray, nonmanifold_points: np.ndarray) -> None:
        self._open = np.asarray(open_points, dtype=np.float32).reshape(-1, 3)
        self._nonmanifold = np.asarray(nonmanifold_points, dtype=np.float32).reshape(-1, 3)
        self.changed()

    def clear(self) -> None:
        self.set_edges(_NONE, _NONE)

    def build(self, frame: SceneFrame | None) -> list[vtkProp]:
        if frame is None:
            return []
        props: list[vtkProp] = []
        for points, color in ((self._open, OPEN_COLOR), (self._nonmanifold, NONMANIFOLD_COLOR)):
            if len(points):
                actor = lines_actor(points)
                actor.GetProperty().SetColor(*color)
                actor.GetProperty().SetLineWidth(3.0)
                actor.GetProperty().RenderLinesAsTubesOn()
                props.append(actor)
        return props
