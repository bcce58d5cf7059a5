"""F3D's side of the benchmark, one measurement per process; prints one JSON line.

``python -m benchmarks.f3d_probe --drop FILE``
    Create the offscreen engine, size its window (1280×800) and render it once; then time
    ``scene.add(FILE)`` + ``render_to_image()`` — F3D's "drop → first frame".
``python -m benchmarks.f3d_probe --whole FILE [--out OUT.png]``
    The same steps from a fresh process with nothing timed inside; the caller times the
    whole process (interpreter start → image rendered → exit), like ``main.py --screenshot``.

This module must not import anything that loads Python's ``ssl`` before ``f3d`` (pyvista
does): ``import f3d`` then fails with an OpenSSL error. Keep it to the standard library.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

WIDTH, HEIGHT = 1280, 800


def _rss_peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def _engine() -> object:
    import f3d

    f3d.Log.set_verbose_level(f3d.Log.QUIET)
    f3d.Engine.autoload_plugins()
    engine = f3d.Engine.create(True)  # offscreen
    options = engine.options
    # Plain defaults otherwise: F3D's own first frame, as its users see it.
    options["ui.loader_progress"] = False
    engine.window.size = (WIDTH, HEIGHT)
    return engine


def drop(path: Path, out: Path | None) -> dict[str, object]:
    t_start = time.perf_counter()
    engine = _engine()
    engine.window.render()  # type: ignore[attr-defined]  # the "already rendered once" state
    ready_s = time.perf_counter() - t_start
    rss_ready = _rss_peak_bytes()
    t0 = time.perf_counter()
    engine.scene.add(str(path))  # type: ignore[attr-defined]
    image = engine.window.render_to_image()  # type: ignore[attr-defined]
    t1 = time.perf_counter()
    rss_first_frame = _rss_peak_bytes()
    if out is not None:
        image.save(str(out))
    return {
        "tool": "f3d",
        "mode": "drop",
        "file": str(path),
        "drop_to_first_frame_s": t1 - t0,
        "engine_ready_s": ready_s,
        "peak_rss_ready_bytes": rss_ready,
        "peak_rss_first_frame_bytes": rss_first_frame,
        "image_size": [image.width, image.height],
    }


def whole(path: Path, out: Path | None) -> dict[str, object]:
    engine = _engine()
    engine.scene.add(str(path))  # type: ignore[attr-defined]
    image = engine.window.render_to_image()  # type: ignore[attr-defined]
    if out is not None:
        image.save(str(out))
    return {
        "tool": "f3d",
        "mode": "whole",
        "file": str(path),
        "peak_rss_first_frame_bytes": _rss_peak_bytes(),
        "image_size": [image.width, image.height],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--drop", type=Path, metavar="FILE")
    mode.add_argument("--whole", type=Path, metavar="FILE")
    parser.add_argument("--out", type=Path, help="save the rendered image (PNG)")
    args = parser.parse_args(argv)
    result = drop(args.drop, args.out) if args.drop else whole(args.whole, args.out)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
