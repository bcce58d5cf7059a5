"""Kiln Studio vs F3D, side by side: drop → first frame, whole process, peak memory.

``python -m benchmarks.run [--runs 5] [--only stl1m,stl5m,glb1m] [--baseline DIR]``

Generates (or reuses) the torus-knot test files (:mod:`benchmarks.data`), then for each
run and each file measures, interleaved, each in a fresh child process:

* Kiln drop   — ``python -m benchmarks.kiln_drop --drop FILE`` (window up and idle, then
  ``open_files`` → ``scene_shown``; the child then waits for the window to settle)
* F3D drop    — ``python -m benchmarks.f3d_probe --drop FILE`` (engine created and
  rendered once, then ``scene.add`` → ``render_to_image``)
* Kiln whole  — ``python main.py FILE --screenshot OUT.png --data-dir TMP``, wall time
* F3D whole   — ``python -m benchmarks.f3d_probe --whole FILE --out OUT.png``, wall time

With ``--baseline DIR`` (another checkout of Kiln Studio, e.g. ``git archive main``
unpacked) the baseline's Kiln takes F3D's place: the same two Kiln measurements run from
``DIR``, interleaved with this checkout's, so before/after numbers share the machine's
noise. Kiln's drop run also times an orbit (``kiln_drop --orbit-frames``).

Peak memory is each child's ``ru_maxrss`` from ``os.wait4``. Prints a table of medians
(with min–max) to stdout and writes everything to ``benchmarks/out/results.json``.
Progress goes to stderr. Without ``DISPLAY`` the script re-runs itself under ``xvfb-run``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import data

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "benchmarks" / "out"
XVFB_ARGS = ["xvfb-run", "-a", "-s", "-screen 0 1920x1080x24"]
XVFB_MARK = "KILN_BENCH_UNDER_XVFB"
#: Kill a child that takes longer than this.
CHILD_TIMEOUT_S = 900.0
MIB = 1024 * 1024


# ---------------------------------------------------------------------------- children
@dataclass
class ChildResult:
    """One child process: its wall time, peak RSS, exit code and what it printed."""

    wall_s: float
    peak_rss_bytes: int
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False
    #: CPU cores kept busy by *other* processes while the child ran (machine noise).
    others_busy_cores: float | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def json(self) -> dict[str, Any]:
        """The last JSON line the child printed (the probes print exactly one)."""
        for line in reversed(self.stdout.splitlines()):
            line = line.strip()
            if line.startswith("{"):
                parsed: dict[str, Any] = json.loads(line)
                return parsed
        raise ValueError("the child printed no JSON result")

    def failure(self) -> str:
        why = "timed out" if self.timed_out else f"exit code {self.returncode}"
        tail = "\n".join(self.stderr.strip().splitlines()[-15:])
        return f"{why}\n{tail}"


def run_child(
    cmd: list[str],
    env: dict[str, str],
    timeout_s: float = CHILD_TIMEOUT_S,
    cwd: Path = REPO,
) -> ChildResult:
    """Run ``cmd`` and reap it with ``wait4`` so its own ``ru_maxrss`` comes back."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        busy_before = machine_busy_s()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout_s, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        busy_after = machine_busy_s()
        others = None
        if busy_before is not None and busy_after is not None and wall > 0:
            child_cpu = usage.ru_utime + usage.ru_stime
            others = max(0.0, (busy_after - busy_before - child_cpu) / wall)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        return ChildResult(
            wall_s=wall,
            peak_rss_bytes=usage.ru_maxrss * 1024,  # Linux reports KiB
            returncode=proc.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            timed_out=timed_out.is_set(),
            others_busy_cores=others,
        )


def machine_busy_s() -> float | None:
    """CPU seconds all processes have used since boot (``/proc/stat``), or None."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    # cpu  user nice system idle iowait irq softirq steal ...
    ticks = [int(x) for x in fields[1:9]]
    busy = sum(ticks) - ticks[3] - ticks[4]
    return busy / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def kiln_dirs(seed_settings: Path | None) -> Iterator[tuple[Path, Path, dict[str, str]]]:
    """A fresh data dir, a config dir (seeded with the 1280×800 settings) and the env."""
    with tempfile.TemporaryDirectory(prefix="kiln-bench-") as tmp:
        root = Path(tmp)
        data_dir, config_dir, log_dir = root / "data", root / "config", root / "logs"
        config_dir.mkdir()
        if seed_settings is not None:
            shutil.copy(seed_settings, config_dir / "settings.json")
        env = child_env()
        env.update(
            KILN_DATA_DIR=str(data_dir), KILN_CONFIG_DIR=str(config_dir), KILN_LOG_DIR=str(log_dir)
        )
        yield data_dir, config_dir, env


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    for var in ("KILN_MAX_FILE_SIZE", "KILN_MAX_TRIANGLES", "KILN_CRASH_AT", XVFB_MARK):
        env.pop(var, None)
    return env


# ---------------------------------------------------------------------------- measurements
@dataclass(frozen=True)
class Rival:
    """What Kiln is compared with: F3D, or another checkout of Kiln (``--baseline``)."""

    key: str
    label: str
    #: The checkout to run when the rival is Kiln itself; ``None`` for F3D.
    repo: Path | None = None


F3D = Rival("f3d", "F3D")


@dataclass
class Samples:
    """Every value measured for one file, by metric and tool, plus the raw child output."""

    values: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    raw: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, metric: str, tool: str, value: float | None) -> None:
        if value is not None:
            self.values.setdefault(metric, {}).setdefault(tool, []).append(float(value))


def measure_kiln_drop(
    path: Path,
    seed: Path,
    samples: Samples,
    image: Path | None,
    repo: Path = REPO,
    tool: str = "kiln",
) -> ChildResult:
    with kiln_dirs(seed) as (data_dir, config_dir, env):
        cmd = [sys.executable, "-m", "benchmarks.kiln_drop", "--drop", str(path)]
        cmd += ["--data-dir", str(data_dir), "--config-dir", str(config_dir)]
        if image is not None:
            cmd += ["--out", str(image)]
        result = run_child(cmd, env, cwd=repo)
    if result.ok:
        info = result.json()
        samples.add("drop_s", tool, info["drop_to_first_frame_s"])
        samples.add("drop_settled_s", tool, info["drop_to_settled_s"])
        samples.add("rss_first_frame", tool, info["peak_rss_first_frame_bytes"])
        samples.add("rss_drop", tool, result.peak_rss_bytes)
        orbit = info.get("orbit_frame_s") or []
        samples.add("orbit_ms", tool, statistics.median(orbit) * 1000 if orbit else None)
        samples.raw.append(
            {
                **info,
                "tool": tool,
                "process_wall_s": result.wall_s,
                "process_peak_rss_bytes": result.peak_rss_bytes,
                "others_busy_cores": result.others_busy_cores,
            }
        )
    return result


def measure_f3d_drop(path: Path, samples: Samples, image: Path | None) -> ChildResult:
    cmd = [sys.executable, "-m", "benchmarks.f3d_probe", "--drop", str(path)]
    if image is not None:
        cmd += ["--out", str(image)]
    result = run_child(cmd, child_env())
    if result.ok:
        info = result.json()
        samples.add("drop_s", "f3d", info["drop_to_first_frame_s"])
        samples.add("rss_first_frame", "f3d", info["peak_rss_first_frame_bytes"])
        samples.add("rss_drop", "f3d", result.peak_rss_bytes)
        samples.raw.append(
            {
                **info,
                "process_wall_s": result.wall_s,
                "process_peak_rss_bytes": result.peak_rss_bytes,
                "others_busy_cores": result.others_busy_cores,
            }
        )
    return result


def measure_kiln_whole(
    path: Path,
    seed: Path,
    samples: Samples,
    image: Path,
    repo: Path = REPO,
    tool: str = "kiln",
) -> ChildResult:
    with kiln_dirs(seed) as (data_dir, _config_dir, env):
        cmd = [sys.executable, "main.py", str(path), "--screenshot", str(image)]
        cmd += ["--data-dir", str(data_dir)]
        result = run_child(cmd, env, cwd=repo)
    if result.ok:
        samples.add("whole_s", tool, result.wall_s)
        samples.add("rss_whole", tool, result.peak_rss_bytes)
        samples.raw.append(
            {
                "tool": tool,
                "mode": "whole",
                "file": str(path),
                "process_wall_s": result.wall_s,
                "process_peak_rss_bytes": result.peak_rss_bytes,
                "others_busy_cores": result.others_busy_cores,
                "image_size": png_size(image),
            }
        )
    return result


def measure_f3d_whole(path: Path, samples: Samples, image: Path) -> ChildResult:
    cmd = [sys.executable, "-m", "benchmarks.f3d_probe", "--whole", str(path), "--out", str(image)]
    result = run_child(cmd, child_env())
    if result.ok:
        samples.add("whole_s", "f3d", result.wall_s)
        samples.add("rss_whole", "f3d", result.peak_rss_bytes)
        samples.raw.append(
            {
                **result.json(),
                "process_wall_s": result.wall_s,
                "process_peak_rss_bytes": result.peak_rss_bytes,
                "others_busy_cores": result.others_busy_cores,
            }
        )
    return result


def png_size(path: Path) -> list[int] | None:
    try:
        head = path.read_bytes()[:24]
    except OSError:
        return None
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return [int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")]


# ---------------------------------------------------------------------------- report
#: (metric, label, unit)
METRICS: tuple[tuple[str, str, str], ...] = (
    ("drop_s", "drop → first frame", "s"),
    ("whole_s", "whole process (start → image → exit)*", "s"),
    ("rss_drop", "peak memory, drop-run process", "MiB"),
    ("rss_whole", "peak memory, whole-process run", "MiB"),
    ("rss_first_frame", "peak memory up to first frame (drop run)", "MiB"),
    ("drop_settled_s", "drop → settled (stored, measured)", "s"),
    ("orbit_ms", "orbit, median frame of a 360° turn", "ms"),
)


def goal_applies(metric: str, key: str, rival: Rival = F3D) -> bool:
    """The goals checked on medians.

    Against F3D (the issue's acceptance): drop → first frame on every file, peak memory on
    the 5M STL. Against a baseline checkout: drop → first frame and orbit on every file.
    """
    if rival.repo is not None:
        return metric in ("drop_s", "orbit_ms")
    return metric == "drop_s" or (metric in ("rss_drop", "rss_whole") and key == "stl5m")


def summarise(values: list[float], unit: str) -> dict[str, Any] | None:
    if not values:
        return None
    scale = MIB if unit == "MiB" else 1.0
    shown = [v / scale for v in values]
    return {
        "median": statistics.median(shown),
        "min": min(shown),
        "max": max(shown),
        "n": len(shown),
        "values": shown,
        "unit": unit,
    }


def build_report(samples_by_key: dict[str, Samples], rival: Rival = F3D) -> dict[str, Any]:
    files: dict[str, Any] = {}
    other = rival.key
    for key, samples in samples_by_key.items():
        metrics: dict[str, Any] = {}
        for metric, label, unit in METRICS:
            tools = samples.values.get(metric, {})
            kiln = summarise(tools.get("kiln", []), unit)
            theirs = summarise(tools.get(other, []), unit)
            ratio = (
                kiln["median"] / theirs["median"] if kiln and theirs and theirs["median"] else None
            )
            goal = goal_applies(metric, key, rival)
            meets = None
            if goal and kiln and theirs:
                meets = kiln["median"] <= theirs["median"]
            metrics[metric] = {
                "label": label,
                "unit": unit,
                "kiln": kiln,
                other: theirs,
                f"kiln_over_{other}": ratio,
                "goal": f"kiln <= {other}" if goal else None,
                "meets_goal": meets,
            }
        files[key] = {"metrics": metrics, "errors": samples.errors}
    return files


def _fmt(stat: dict[str, Any] | None, unit: str) -> tuple[str, str]:
    if stat is None:
        return "—", ""
    digits = {"MiB": 0, "ms": 0}.get(unit, 2)
    med = f"{stat['median']:.{digits}f} {unit}"
    spread = f"{stat['min']:.{digits}f}–{stat['max']:.{digits}f}"
    return med, spread


def format_table(report: dict[str, Any], runs: int, rival: Rival = F3D) -> str:
    other, them = rival.key, rival.label
    header = (
        "file",
        "metric",
        "Kiln median",
        "Kiln min–max",
        f"{them} median",
        f"{them} min–max",
        f"Kiln/{them}",
        f"n K/{them[0]}",
        "goal",
    )
    rows: list[tuple[str, ...]] = []
    for key, entry in report["files"].items():
        label = data.MODELS_BY_KEY[key].label
        for m in entry["metrics"].values():
            if m["kiln"] is None and m[other] is None:
                continue
            k_med, k_spread = _fmt(m["kiln"], m["unit"])
            f_med, f_spread = _fmt(m[other], m["unit"])
            over = m[f"kiln_over_{other}"]
            ratio = f"{over:.2f}×" if over is not None else "—"
            n = f"{m['kiln']['n'] if m['kiln'] else 0}/{m[other]['n'] if m[other] else 0}"
            if m["goal"] is None:
                goal = ""
            elif m["meets_goal"] is None:
                goal = "no data"
            else:
                goal = "MEETS" if m["meets_goal"] else "MISSES"
            rows.append((label, m["label"], k_med, k_spread, f_med, f_spread, ratio, n, goal))
            label = ""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {2, 3, 4, 5, 6, 7}

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    previous = None
    for row in rows:
        if row[0] and previous is not None:
            out.append("")
        out.append(line(row))
        previous = row
    goal = report["goal"]
    if rival.repo is not None:
        out += [
            "",
            f"Medians over {runs} runs; each value from its own fresh process. Kiln is this "
            f"checkout, {them} is {rival.repo}; Kiln/{them} < 1 means this checkout is faster.",
            f"Goal — drop → first frame and orbit no slower than {them} on every file: "
            f"{goal['baseline']}",
        ]
        return "\n".join(out)
    out += [
        "",
        f"Medians over {runs} runs; each value from its own fresh process. Kiln/F3D < 1 "
        "means Kiln is faster / smaller.",
        "* Kiln: `main.py FILE --screenshot OUT.png` exits once the window has settled (the file "
        "stored in the library, measured, thumbnailed); F3D: exits after its first image.",
        f"Goal — drop → first frame no slower than F3D on all three files: {goal['drop']}",
        f"Goal — 5M STL peak memory no higher than F3D's: drop run {goal['rss_drop']}, "
        f"whole-process run {goal['rss_whole']}",
    ]
    return "\n".join(out)


def goal_summary(files: dict[str, Any], keys: list[str], rival: Rival = F3D) -> dict[str, str]:
    def verdict(entries: list[bool | None], missing: str | None) -> str:
        if missing is not None or any(e is None for e in entries):
            return f"NOT MEASURED ({missing or 'a measurement failed'})"
        return "MEETS" if all(entries) else "MISSES"

    if rival.repo is not None:
        checked = [
            files[k]["metrics"][m]["meets_goal"] for k in keys for m in ("drop_s", "orbit_ms")
        ]
        return {"baseline": verdict(checked, None)}

    not_all = None if set(keys) == set(data.MODELS_BY_KEY) else "run all three files"
    no_5m = None if "stl5m" in files else "run stl5m"
    drop = [files[k]["metrics"]["drop_s"]["meets_goal"] for k in keys]
    five = files.get("stl5m", {}).get("metrics", {})
    return {
        "drop": verdict(drop, not_all),
        "rss_drop": verdict([five.get("rss_drop", {}).get("meets_goal")], no_5m),
        "rss_whole": verdict([five.get("rss_whole", {}).get("meets_goal")], no_5m),
    }


def versions() -> dict[str, str | None]:
    """Installed versions of what the numbers depend on (first distribution name found)."""
    found: dict[str, str | None] = {}
    for name, dists in (
        ("f3d", ("f3d",)),
        ("PySide6", ("PySide6", "PySide6_Essentials")),
        ("pyvista", ("pyvista",)),
        ("vtk", ("vtk",)),
        ("numpy", ("numpy",)),
        ("trimesh", ("trimesh",)),
    ):
        found[name] = None
        for dist in dists:
            with contextlib.suppress(importlib.metadata.PackageNotFoundError):
                found[name] = importlib.metadata.version(dist)
                break
    return found


def measure_round(
    run: int,
    runs: int,
    key: str,
    path: Path,
    seed: Path,
    samples: Samples,
    images: Path,
    rival: Rival = F3D,
) -> None:
    """One run of all four measurements on one file, Kiln and its rival interleaved.

    Who goes first alternates from run to run, so neither tool always follows the other.
    The first run keeps its images in ``images`` to look at.
    """
    keep = run == 0
    with tempfile.TemporaryDirectory(prefix="kiln-bench-img-") as tmp:

        def image(name: str, always: bool) -> Path | None:
            if keep:
                return images / f"{key}-{name}.png"
            return Path(tmp) / f"{name}.png" if always else None

        kiln_whole_png = image("kiln-whole", True) or Path(tmp) / "kiln-whole.png"
        f3d_whole_png = image("f3d-whole", True) or Path(tmp) / "f3d-whole.png"
        kiln_drop_png, f3d_drop_png = image("kiln-drop", False), image("f3d-drop", False)
        steps: list[tuple[str, Any]] = [
            ("Kiln drop", lambda: measure_kiln_drop(path, seed, samples, kiln_drop_png)),
            ("F3D drop", lambda: measure_f3d_drop(path, samples, f3d_drop_png)),
            ("Kiln whole", lambda: measure_kiln_whole(path, seed, samples, kiln_whole_png)),
            ("F3D whole", lambda: measure_f3d_whole(path, samples, f3d_whole_png)),
        ]
        base = rival.repo
        if base is not None:
            steps[1] = (
                "Base drop",
                lambda: measure_kiln_drop(path, seed, samples, f3d_drop_png, base, rival.key),
            )
            steps[3] = (
                "Base whole",
                lambda: measure_kiln_whole(path, seed, samples, f3d_whole_png, base, rival.key),
            )
        if run % 2 == 1:
            steps = [steps[1], steps[0], steps[3], steps[2]]
        for name, step in steps:
            result: ChildResult = step()
            tag = f"[run {run + 1}/{runs}] {data.MODELS_BY_KEY[key].label:<15} {name:<10}"
            if result.ok:
                info = result.json() if "drop" in name else {}
                timed = info.get("drop_to_first_frame_s", result.wall_s)
                others = result.others_busy_cores
                noise = f", other processes {others:.2f} cores" if others is not None else ""
                frames = info.get("orbit_frame_s") or []
                orbit = f"   orbit {statistics.median(frames) * 1000:5.0f} ms" if frames else ""
                log(
                    f"{tag} {timed:7.2f} s   peak {result.peak_rss_bytes / MIB:6.0f} MiB{orbit}"
                    f"   (process {result.wall_s:.1f} s{noise})"
                )
            else:
                message = f"{name} run {run + 1}: {result.failure()}"
                samples.errors.append(message)
                log(f"{tag} FAILED: {message}")


# ---------------------------------------------------------------------------- main
def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_display(argv: list[str]) -> None:
    """Re-run this script under ``xvfb-run`` when there is no display (once)."""
    if os.environ.get("DISPLAY") or os.environ.get(XVFB_MARK):
        return
    if shutil.which("xvfb-run") is None:
        sys.exit("No DISPLAY and no xvfb-run: install Xvfb (xvfb-run) or run under a display.")
    log("no DISPLAY: re-running under xvfb-run")
    env = dict(os.environ)
    env[XVFB_MARK] = "1"
    cmd = [*XVFB_ARGS, sys.executable, "-m", "benchmarks.run", *argv]
    os.chdir(REPO)
    os.execvpe(cmd[0], cmd, env)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (default 5)")
    parser.add_argument(
        "--only",
        default=",".join(data.MODELS_BY_KEY),
        help=f"comma-separated files to measure (default: all of {','.join(data.MODELS_BY_KEY)})",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=data.DEFAULT_DIR,
        help="where the test files are generated and reused",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=OUT_DIR / "results.json",
        help="where to write the results (default benchmarks/out/results.json)",
    )
    parser.add_argument(
        "--no-warmup", action="store_true", help="skip the untimed warm-up run of each tool"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="compare with the Kiln checkout in DIR (before/after) instead of F3D",
    )
    args = parser.parse_args(argv)
    if args.baseline is not None:
        args.baseline = args.baseline.resolve()
        if not (args.baseline / "benchmarks" / "kiln_drop.py").is_file():
            parser.error(f"--baseline {args.baseline} is not a Kiln Studio checkout")
    keys = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = [k for k in keys if k not in data.MODELS_BY_KEY]
    if unknown or not keys:
        parser.error(f"--only takes {','.join(data.MODELS_BY_KEY)}; got {args.only!r}")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    args.keys = keys
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    ensure_display(argv)
    started = time.perf_counter()

    paths = {key: data.ensure(data.MODELS_BY_KEY[key], args.data_dir) for key in args.keys}
    for path in paths.values():  # into the page cache, as for every later run
        with open(path, "rb") as f:
            while f.read(16 * MIB):
                pass

    images = OUT_DIR / "images"
    images.mkdir(parents=True, exist_ok=True)
    seed = OUT_DIR / "kiln-settings-1280x800.json"
    with tempfile.TemporaryDirectory(prefix="kiln-bench-seed-") as tmp:
        log("preparing Kiln's 1280×800 window settings…")
        result = run_child(
            [sys.executable, "-m", "benchmarks.kiln_drop", "--seed-settings", tmp], child_env()
        )
        if not result.ok:
            log(f"could not prepare the Kiln settings: {result.failure()}")
            return 1
        shutil.copy(Path(tmp) / "settings.json", seed)

    rival = F3D if args.baseline is None else Rival("base", "Base", args.baseline)
    if not args.no_warmup:
        first = paths[args.keys[0]]
        log(f"warm-up (untimed): Kiln and {rival.label} whole process on {first.name}…")
        with tempfile.TemporaryDirectory(prefix="kiln-bench-warm-") as tmp:
            throwaway = Samples()
            theirs = (
                measure_f3d_whole(first, throwaway, Path(tmp) / "f3d.png")
                if rival.repo is None
                else measure_kiln_whole(
                    first, seed, throwaway, Path(tmp) / "base.png", rival.repo, rival.key
                )
            )
            for result in (
                measure_kiln_whole(first, seed, throwaway, Path(tmp) / "kiln.png"),
                theirs,
            ):
                if not result.ok:
                    log(f"  warm-up failed: {result.failure()}")

    samples_by_key = {key: Samples() for key in args.keys}
    for run in range(args.runs):
        for key in args.keys:
            measure_round(run, args.runs, key, paths[key], seed, samples_by_key[key], images, rival)

    files = build_report(samples_by_key, rival)
    report: dict[str, Any] = {
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "runs": args.runs,
        "window_size": [1280, 800],
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "versions": versions(),
        "test_files": {
            key: {
                "path": str(paths[key]),
                "triangles": data.MODELS_BY_KEY[key].n_triangles,
                "size_bytes": paths[key].stat().st_size,
            }
            for key in args.keys
        },
        "rival": {"key": rival.key, "label": rival.label, "repo": rival.repo and str(rival.repo)},
        "files": files,
        "samples": {key: s.raw for key, s in samples_by_key.items()},
        "duration_s": None,
    }
    report["goal"] = goal_summary(files, args.keys, rival)
    others = [
        r["others_busy_cores"]
        for smp in samples_by_key.values()
        for r in smp.raw
        if r["others_busy_cores"] is not None
    ]
    report["machine"]["others_busy_cores"] = (
        {"median": statistics.median(others), "max": max(others)} if others else None
    )
    report["duration_s"] = time.perf_counter() - started
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    viewport = next(
        (
            r.get("viewport_size")
            for s in samples_by_key.values()
            for r in s.raw
            if r.get("tool") == "kiln" and r.get("mode") == "drop"
        ),
        None,
    )
    print(format_table(report, args.runs, rival))
    if viewport and rival.repo is None:
        print(
            f"Window 1280×800 for both; Kiln's 3D viewport inside it is "
            f"{viewport[0]}×{viewport[1]} (panels around it), F3D renders all 1280×800."
        )
    others = report["machine"]["others_busy_cores"]
    if others:
        noisy = others["median"] > 0.1 or others["max"] > 0.5
        print(
            f"Other processes kept {others['median']:.2f} of {os.cpu_count()} cores busy during "
            f"a measurement (median; max {others['max']:.2f})"
            + (" — the machine was not idle: expect noise, compare min–max." if noisy else ".")
        )
    print(f"Results: {args.json}   images of run 1: {images}")
    log(f"done in {report['duration_s'] / 60:.1f} min")
    errors = sum(len(s.errors) for s in samples_by_key.values())
    if errors:
        print(f"{errors} measurement(s) failed; see the errors in {args.json}.")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
