"""What the viewport draws over the model: each tool's picture lives in its own overlay.

An overlay owns its VTK props. The viewport tells it where the model is (a
:class:`~viewer.overlays.base.SceneFrame`) whenever the shown scene, the display unit or
the up axis change, and adds the props it returns; an overlay whose own model changes asks
the viewport to rebuild it (:meth:`~viewer.overlays.base.Overlay.changed`).
"""

from viewer.overlays.base import Legend, Overlay, SceneFrame
from viewer.overlays.bounds import BoundsOverlay
from viewer.overlays.grid import GridOverlay

__all__ = ["BoundsOverlay", "GridOverlay", "Legend", "Overlay", "SceneFrame"]
