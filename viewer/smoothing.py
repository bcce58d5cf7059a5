"""Smooth normals for a shown scene, computed on a pool thread after its first frame.

The viewport shows a triangle soup faceted at once (that is the fast path to the first
frame) and starts a :class:`Smoothing` as soon as that frame is up. The numpy work in
:func:`viewer.normals.smooth_polydata` runs on the viewport's own one-thread pool; each
result comes back to the viewport's bound slot through a queued signal, so VTK render
state is only touched on the GUI thread. A smoothing that is no longer wanted (another
scene is shown, the viewport closes) stops at its next bucket and reports nothing but
:attr:`Smoothing.ended`; a failure is logged and leaves the model faceted.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from PySide6 import QtCore
from vtkmodules.vtkCommonDataModel import vtkPolyData

from studio.meshes.scene import Part
from viewer.normals import SmoothingCancelled, smooth_polydata

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Smoothed:
    """One part's smooth surface: ``index`` is its place in :attr:`Smoothing.parts`."""

    smoothing: Smoothing
    index: int
    polydata: vtkPolyData


class Smoothing(QtCore.QObject):
    """Smooth normals for ``parts``: :attr:`part_done` per part, then :attr:`ended`.

    ``ended`` always comes, exactly once (also after a cancel or a failure), so the owner
    can forget the object on the GUI thread. Signals are emitted on the pool thread:
    connect bound slots of GUI-thread objects.
    """

    part_done = QtCore.Signal(object)  # Smoothed
    ended = QtCore.Signal(object)  # this Smoothing

    def __init__(self, parts: list[Part]) -> None:
        super().__init__()
        self.parts = parts
        self.error: Exception | None = None
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def start(self, pool: QtCore.QThreadPool) -> None:
        pool.start(_Runnable(self))

    def run(self) -> None:
        """Runs on a pool thread."""
        try:
            for index, part in enumerate(self.parts):
                if self.cancelled:
                    break
                poly = smooth_polydata(part, stop=self._cancelled.is_set)
                if poly is not None and not self.cancelled:
                    self.part_done.emit(Smoothed(self, index, poly))
        except SmoothingCancelled:
            pass
        except Exception as exc:  # reported, never lost: the model just stays faceted
            log.warning("smooth normals failed: %s", exc, exc_info=True)
            self.error = exc
        finally:
            self.ended.emit(self)


class _Runnable(QtCore.QRunnable):
    def __init__(self, smoothing: Smoothing) -> None:
        super().__init__()
        self._smoothing = smoothing
        self.setAutoDelete(True)

    def run(self) -> None:
        self._smoothing.run()
