"""Kiln Studio's side of "drop → first frame", one measurement per process; prints one JSON line.

``python -m benchmarks.kiln_drop --drop FILE --data-dir DIR --config-dir DIR [--out OUT.png]``
    Start the app's window the way ``ui.app`` does (theme, library, ``MainWindow``), size it
    1280×800, show it and wait until it has rendered a frame and gone idle. Then time
    ``window.open_files([FILE])`` — the call a drop makes — until ``window.scene_shown``
    (the first frame *with the model* has been rendered). Afterwards wait for the window to
    settle (``busy_changed(False)``: the file is stored in the library, measured and
    thumbnailed), time an orbit — ``--orbit-frames`` frames of a 360° turn, each rendered
    the way a mouse drag renders it (after ``StartInteractionEvent``, so a big model orbits
    on its proxy), once the viewport's background work on the model is done — and close it.

``python -m benchmarks.kiln_drop --seed-settings DIR``
    Show the window at 1280×800 and close it, so ``DIR/settings.json`` holds that geometry;
    the whole-process runs (``main.py --screenshot``) start from a copy of it, so both kinds
    of Kiln run use the same window size.

Needs a display (run under ``xvfb-run`` when there is none; ``benchmarks.run`` does).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

WIDTH, HEIGHT = 1280, 800
#: Give up on any one wait after this long.
DEADLINE_S = 600.0
#: After the first frame, the window must stay quiet this long to count as idle.
IDLE_S = 0.3
#: Frames in the timed orbit (one full turn).
ORBIT_FRAMES = 36


def _rss_peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def _wait_for(
    app: Any, done: Callable[[], bool], what: str, deadline_s: float = DEADLINE_S
) -> None:
    """Process Qt events until ``done()``; raise after ``deadline_s``.

    Through a ``QEventLoop`` object: ``QCoreApplication.processEvents`` in PySide6 6.12
    drops a reference to ``None`` on every call, and a long wait ends in a crash.
    """
    from PySide6 import QtCore

    end = time.perf_counter() + deadline_s
    events = QtCore.QEventLoop()
    while not done():
        if time.perf_counter() > end:
            raise TimeoutError(f"gave up waiting for {what} after {deadline_s:.0f} s")
        events.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if not done():
            QtCore.QThread.msleep(1)


def _settle_events(app: Any, seconds: float) -> None:
    """Keep processing events for ``seconds`` (timers and deferred paints run out)."""
    from PySide6 import QtCore

    end = time.perf_counter() + seconds
    events = QtCore.QEventLoop()
    while time.perf_counter() < end:
        events.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
        QtCore.QThread.msleep(5)


def _start_window(data_dir: Path, config_dir: Path) -> tuple[Any, Any, Any]:
    """The app's own start-up path (see ``ui.app.run``), minus the settings file."""
    from PySide6 import QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("Kiln Studio")
    app.setOrganizationName("Kiln")
    from ui.theme import apply_theme

    apply_theme(app)  # type: ignore[arg-type]
    from studio.library import Library
    from studio.settings import Settings
    from ui.main_window import MainWindow

    library = Library.open(data_dir)
    window = MainWindow(library, Settings(first_launch_done=True), config_dir=config_dir)
    window.errors.interactive = False
    window.resize(WIDTH, HEIGHT)
    frames = {"n": 0}

    def count() -> None:
        frames["n"] += 1

    window.viewport.frame_rendered.connect(count)
    warmed = {"done": False}
    window.warmed_up.connect(lambda: warmed.update(done=True))
    window.show()
    window.warm_up()  # as ui.app.run does once the window is up
    _wait_for(app, lambda: frames["n"] > 0, "the empty window's first frame")
    _wait_for(app, lambda: warmed["done"], "the readers to be imported")
    _settle_events(app, IDLE_S)
    window.viewport.frame_rendered.disconnect(count)
    return app, library, window


def orbit(app: Any, viewport: Any, frames: int) -> list[float]:
    """Seconds per frame of a full turn around the model, as a mouse drag renders it."""
    from vtkmodules.vtkRenderingCore import vtkRenderer

    # Work the viewport still does in the background for the shown model (a soup's smooth
    # normals) must not land inside the timed frames; older viewports have none.
    _wait_for(app, lambda: not getattr(viewport, "detail_pending", False), "background detail")
    _settle_events(app, IDLE_S)
    camera = vtkRenderer.GetActiveCamera(viewport.plotter.renderer)
    interactor = viewport.plotter.iren.interactor
    interactor.InvokeEvent("StartInteractionEvent")
    times = []
    for _ in range(frames):
        camera.Azimuth(360.0 / frames)
        t0 = time.perf_counter()
        viewport.render_now()
        times.append(time.perf_counter() - t0)
    interactor.InvokeEvent("EndInteractionEvent")
    return times


def drop(
    path: Path, data_dir: Path, config_dir: Path, out: Path | None, orbit_frames: int = ORBIT_FRAMES
) -> dict[str, object]:
    from PySide6 import QtCore

    t_start = time.perf_counter()
    app, library, window = _start_window(data_dir, config_dir)
    ready_s = time.perf_counter() - t_start
    rss_ready = _rss_peak_bytes()
    viewport_size = [window.viewport.width(), window.viewport.height()]

    marks: dict[str, float] = {}
    loop = QtCore.QEventLoop()

    def shown() -> None:
        marks.setdefault("t1", time.perf_counter())
        loop.quit()

    def failed(*_: object) -> None:
        marks.setdefault("failed", time.perf_counter())
        loop.quit()

    window.scene_shown.connect(shown)
    window.busy_changed.connect(lambda busy: None if busy else failed())
    deadline = QtCore.QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    deadline.start(int(DEADLINE_S * 1000))

    t0 = time.perf_counter()
    window.open_files([path])  # the same call a drop makes
    if "t1" not in marks:
        loop.exec()
    deadline.stop()
    if "t1" not in marks:
        reason = "; ".join(window.failures) or "no frame with the model was rendered in time"
        raise RuntimeError(f"{path.name}: {reason}")
    t1 = marks["t1"]
    rss_first_frame = _rss_peak_bytes()

    _wait_for(app, lambda: not window.busy, "the window to settle")
    settled_s = time.perf_counter() - t0
    orbit_s = orbit(app, window.viewport, orbit_frames) if orbit_frames > 0 else []
    if out is not None:
        window.grab_window(out)
    failures = list(window.failures)
    window.close()
    library.close()
    app.processEvents()
    return {
        "tool": "kiln",
        "mode": "drop",
        "file": str(path),
        "drop_to_first_frame_s": t1 - t0,
        "drop_to_settled_s": settled_s,
        "orbit_frame_s": orbit_s,
        "window_ready_s": ready_s,
        "viewport_size": viewport_size,
        "peak_rss_ready_bytes": rss_ready,
        "peak_rss_first_frame_bytes": rss_first_frame,
        "peak_rss_settled_bytes": _rss_peak_bytes(),
        "failures": failures,
    }


def seed_settings(config_dir: Path) -> dict[str, object]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kiln-bench-seed-") as tmp:
        app, library, window = _start_window(Path(tmp) / "data", config_dir)
        size = [window.width(), window.height()]
        window.close()  # closeEvent saves the settings (window geometry) to config_dir
        library.close()
        app.processEvents()
    return {"tool": "kiln", "mode": "seed", "config_dir": str(config_dir), "window_size": size}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--drop", type=Path, metavar="FILE")
    mode.add_argument("--seed-settings", type=Path, metavar="CONFIG_DIR")
    parser.add_argument("--data-dir", type=Path, help="a fresh library folder")
    parser.add_argument("--config-dir", type=Path, help="a fresh settings folder")
    parser.add_argument("--out", type=Path, help="save a grab of the settled window (PNG)")
    parser.add_argument(
        "--orbit-frames",
        type=int,
        default=ORBIT_FRAMES,
        help=f"frames in the timed orbit after the drop (default {ORBIT_FRAMES}; 0: none)",
    )
    args = parser.parse_args(argv)
    if args.seed_settings is not None:
        result = seed_settings(args.seed_settings)
    else:
        if args.data_dir is None or args.config_dir is None:
            parser.error("--drop needs --data-dir and --config-dir")
        result = drop(
            args.drop.resolve(), args.data_dir, args.config_dir, args.out, args.orbit_frames
        )
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
