"""Finding the PNG renderer: an entry point, because the core never imports the viewer.

The viewer registers ``kiln_studio.renderers`` → ``offscreen`` with the signature
``render_png(scene, out=None, *, size=(256, 256), transparent=False, shot=False,
overlays=False, turntable=0) -> bytes``: a quick thumbnail by default; ``shot=True`` a
product shot (smooth, environment-lit, anti-aliased, overlays only when asked);
``turntable=N`` N frames of a 360° turn written to ``out`` (.webp, .gif, or PNG frames).
"""

from __future__ import annotations

import importlib.metadata
import logging
from pathlib import Path
from typing import Protocol

from studio.errors import KilnError
from studio.meshes import Scene

log = logging.getLogger(__name__)

GROUP = "kiln_studio.renderers"
PREFERRED = "offscreen"


class RenderPng(Protocol):
    def __call__(
        self,
        scene: Scene,
        out: Path | None = None,
        *,
        size: tuple[int, int] = ...,
        transparent: bool = ...,
        shot: bool = ...,
        overlays: bool = ...,
        turntable: int = ...,
    ) -> bytes: ...


class RendererUnavailable(KilnError):
    """No renderer is installed, or the installed one can't be loaded."""


def load_renderer() -> RenderPng:
    """The installed renderer (``offscreen`` when there are several).

    Raises
    ------
    RendererUnavailable
        None is installed, or loading it failed (a missing graphics library, say).
    """
    found = {ep.name: ep for ep in importlib.metadata.entry_points(group=GROUP)}
    if not found:
        raise RendererUnavailable(
            "No renderer is installed, so images can't be drawn from the command line; "
            "install Kiln Studio with its viewer to get one."
        )
    entry = found.get(PREFERRED) or found[sorted(found)[0]]
    try:
        renderer: RenderPng = entry.load()
    except Exception as exc:
        log.info("loading the renderer %s (%s) failed", entry.name, entry.value, exc_info=True)
        raise RendererUnavailable(
            f"The renderer “{entry.name}” could not be loaded ({exc}); "
            "images can't be drawn from the command line."
        ) from exc
    return renderer
