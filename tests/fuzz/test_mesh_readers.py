"""Damaged and hostile model files through the command line: plain one-line answers only.

Every mutant of :mod:`tests.fuzz.mutants` goes through ``inspect``, ``library import`` and
``library check``, in runner processes capped at :data:`MEMORY_CAP` of address space, each
command within :data:`TIME_CAP`. A file passes when each command either succeeds quietly or
refuses with exit code 1 and one plain sentence on stderr (no traceback, no "Something went
wrong inside"), a refused import leaves the library exactly as it was, and ``library check``
stays clean. ``KILN_FUZZ_LONG=1`` runs the long set (about five times as many files).
"""

from __future__ import annotations

import json
import os
import resource
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from tests.fuzz.mutants import Mutant, build

REPO = Path(__file__).resolve().parents[2]
LONG = os.environ.get("KILN_FUZZ_LONG") == "1"
MUTANTS = build(long=LONG)
#: No command may take longer on one file.
TIME_CAP = 5.0
#: Address space of a runner process.
MEMORY_CAP = 2 * 1024**3
#: Runner processes side by side.
RUNNERS = 2
#: Mutants that must open: the seeds themselves, and a glTF whose files are data URIs.
MUST_OPEN = {"original", "json-data-uris"}


@dataclass
class FileOutcome:
    """What the commands did with one file (``None`` until the runner reports it)."""

    result: dict[str, Any] | None = None
    #: Set when a command ran past the cap or its process died: (command, what happened).
    failure: tuple[str, str] | None = None
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class FuzzRun:
    outcomes: dict[str, FileOutcome]
    seconds: float
    restarts: int


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


class _Runner:
    """One ``python -m tests.fuzz.runner`` over a share of the files, restarted past a file
    that hung or killed it."""

    def __init__(self, number: int, root: Path, paths: list[str], env: dict[str, str]) -> None:
        self.number = number
        self.root = root
        self.paths = paths
        self.env = env
        self.next = 0
        self.restarts = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.buffer = b""
        self.current: tuple[int, str] | None = None
        self.started_at = 0.0
        self.ready = False
        self.stderr: IO[bytes] | None = None

    def start(self, selector: selectors.BaseSelector) -> None:
        manifest = self.root / f"manifest-{self.number}.json"
        manifest.write_text(
            json.dumps(
                {
                    "library": str(self.root / f"library-{self.number}"),
                    "files": self.paths,
                    "start": self.next,
                }
            ),
            encoding="utf-8",
        )
        self.stderr = (self.root / f"runner-{self.number}-{self.restarts}.err").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fuzz.runner", str(manifest)],
            cwd=REPO,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            preexec_fn=_cap_memory,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        os.set_blocking(self.process.stdout.fileno(), False)
        selector.register(self.process.stdout, selectors.EVENT_READ, self)
        self.buffer, self.current, self.ready = b"", None, False
        self.started_at = time.monotonic()

    @property
    def done(self) -> bool:
        return self.next >= len(self.paths) and self.process is None

    def deadline(self) -> float:
        # Start-up imports trimesh, scipy and Pillow under a shared CPU: allow a minute.
        return self.started_at + (TIME_CAP if self.ready else 60.0)

    def stop(self, selector: selectors.BaseSelector) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        selector.unregister(self.process.stdout)
        if self.process.poll() is None:
            os.killpg(self.process.pid, 9)
        self.process.wait()
        self.process.stdout.close()
        assert self.stderr is not None
        self.stderr.close()
        self.process = None

    def runner_error(self) -> str:
        assert self.stderr is not None
        text = Path(self.stderr.name).read_text(encoding="utf-8", errors="replace")
        return text.strip().splitlines()[-1] if text.strip() else "(nothing on stderr)"


def run_all(root: Path, mutants: list[Mutant]) -> FuzzRun:
    """Write every mutant under ``root`` and run the commands on all of them."""
    began = time.monotonic()
    paths: list[str] = []
    for mutant in mutants:
        folder = root / "files" / mutant.group / mutant.name
        for rel, data in mutant.files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)
        paths.append(str(folder / mutant.main))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KILN_")}
    env |= {
        "KILN_DATA_DIR": str(root / "data"),
        "KILN_CONFIG_DIR": str(root / "config"),
        "KILN_LOG_DIR": str(root / "logs"),
        "PYTHONUTF8": "1",
        "PYTHONPATH": str(REPO),
    }
    ids = [m.id for m in mutants]
    outcomes = {mutant_id: FileOutcome() for mutant_id in ids}
    shares = [list(range(n, len(paths), RUNNERS)) for n in range(RUNNERS)]
    runners = [_Runner(n, root, [paths[i] for i in share], env) for n, share in enumerate(shares)]
    selector = selectors.DefaultSelector()
    for runner in runners:
        if runner.paths:
            runner.start(selector)

    def outcome(runner: _Runner, index: int) -> FileOutcome:
        return outcomes[ids[shares[runner.number][index]]]

    def give_up(runner: _Runner, what: str) -> None:
        """The current file hung or killed the runner: record it, go on after it."""
        runner.stop(selector)
        if runner.current is None:
            raise RuntimeError(f"the fuzz runner failed outside any file: {what}")
        index, command = runner.current
        outcome(runner, index).failure = (command, what)
        runner.next = index + 1
        runner.restarts += 1
        if runner.next < len(runner.paths):
            runner.start(selector)

    try:
        while not all(r.done for r in runners):
            live = [r for r in runners if r.process is not None]
            timeout = max(0.0, min(r.deadline() for r in live) - time.monotonic())
            for key, _events in selector.select(timeout):
                runner: _Runner = key.data
                assert runner.process is not None
                assert runner.process.stdout is not None
                chunk = runner.process.stdout.read()
                if not chunk:
                    code = runner.process.wait()
                    if runner.next >= len(runner.paths) and runner.current is None:
                        runner.stop(selector)
                    else:
                        give_up(runner, f"its process died (exit {code}): {runner.runner_error()}")
                    continue
                runner.buffer += chunk
                *lines, runner.buffer = runner.buffer.split(b"\n")
                for line in lines:
                    now = time.monotonic()
                    kind, _, rest = line.decode("utf-8").partition(" ")
                    if runner.current is not None:
                        index, command = runner.current
                        outcome(runner, index).seconds[command] = now - runner.started_at
                    runner.started_at = now
                    if kind == "READY":
                        runner.ready = True
                    elif kind == "START":
                        index_text, command = rest.split(" ")
                        runner.current = (int(index_text), command)
                    elif kind == "DONE":
                        result = json.loads(rest)
                        outcome(runner, result["index"]).result = result
                        runner.current = None
                        runner.next = result["index"] + 1
            for runner in runners:
                if runner.process is not None and time.monotonic() > runner.deadline():
                    if not runner.ready:
                        raise RuntimeError(
                            f"the fuzz runner did not start: {runner.runner_error()}"
                        )
                    give_up(runner, f"it ran past {TIME_CAP:.0f} s")
    finally:
        for runner in runners:
            if runner.process is not None:
                runner.stop(selector)
        selector.close()
    return FuzzRun(outcomes, time.monotonic() - began, sum(r.restarts for r in runners))


def judge(mutant: Mutant, outcome: FileOutcome) -> list[str]:
    """Every way the commands fell short on this file; empty when they behaved."""
    if outcome.failure is not None:
        command, what = outcome.failure
        return [f"{command}: {what}"]
    assert outcome.result is not None, "the runner never reported this file"
    problems: list[str] = []
    for command in ("inspect", "import"):
        run = outcome.result[command]
        code, stdout, stderr = run["code"], run["stdout"], run["stderr"]
        if "Traceback" in stderr or "Something went wrong inside" in stderr:
            problems.append(f"{command}: not a plain failure:\n{stderr}")
        elif code == 0:
            if stderr:
                problems.append(f"{command}: succeeded but wrote on stderr:\n{stderr}")
            if mutant.name not in MUST_OPEN:
                continue
        elif code == 1:
            lines = stderr.splitlines()
            if len(lines) != 1 or not stderr.endswith(".\n"):
                problems.append(
                    f"{command}: the refusal is not one sentence on one line:\n{stderr}"
                )
            if stdout:
                problems.append(f"{command}: a refusal also wrote on stdout:\n{stdout}")
        else:
            problems.append(f"{command}: exit code {code!r}:\n{stderr}")
        if mutant.name in MUST_OPEN and code != 0:
            problems.append(f"{command}: this file is valid and must open:\n{stderr}")
    if outcome.result["import"]["code"] != 0 and outcome.result["library_changed"]:
        problems.append("import: refused, but the library changed")
    check = outcome.result["check"]
    if check["code"] != 0 or check["stderr"]:
        problems.append(f"check: the library is not clean:\n{check['stdout']}{check['stderr']}")
    return problems


@pytest.fixture(scope="session")
def fuzz_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzRun]:
    run = run_all(tmp_path_factory.mktemp("fuzz"), MUTANTS)
    yield run
    opened = sum(1 for o in run.outcomes.values() if o.result and o.result["inspect"]["code"] == 0)
    slowest = max(
        ((s, mid, c) for mid, o in run.outcomes.items() for c, s in o.seconds.items()),
        default=(0.0, "", ""),
    )
    SUMMARY.append(
        f"fuzz: {len(run.outcomes)} files ({'long' if LONG else 'CI'} set) in {run.seconds:.1f} s, "
        f"{opened} opened, {len(run.outcomes) - opened} refused or failed, "
        f"{run.restarts} runner restarts; slowest: {slowest[2]} of {slowest[1]} "
        f"in {slowest[0]:.2f} s"
    )


#: Lines for the terminal summary (see conftest.py).
SUMMARY: list[str] = []


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.id for m in MUTANTS])
def test_a_damaged_file_gets_a_plain_answer(fuzz_run: FuzzRun, mutant: Mutant) -> None:
    problems = judge(mutant, fuzz_run.outcomes[mutant.id])
    assert not problems, f"{mutant.id}:\n" + "\n".join(problems)


def _outcome(
    inspect: tuple[Any, str, str] = (1, "", "“x.stl” is damaged.\n"),
    changed: bool = False,
    check: tuple[Any, str, str] = (0, "The library is in good order.\n", ""),
) -> FileOutcome:
    def run(code: Any, stdout: str, stderr: str) -> dict[str, Any]:
        return {"code": code, "stdout": stdout, "stderr": stderr}

    result = {
        "inspect": run(*inspect),
        "import": run(*inspect),
        "library_changed": changed,
        "check": run(*check),
    }
    return FileOutcome(result=result)


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (_outcome(), []),
        (_outcome((0, "table\n", "")), []),
        (
            _outcome((1, "", "Something went wrong inside Kiln Studio; see the log.\n")),
            ["not a plain"],
        ),
        (_outcome((1, "", "Traceback (most recent call last):\n")), ["not a plain"]),
        (_outcome((1, "", "numpy says\n“x.stl” is damaged.\n")), ["one sentence"]),
        (_outcome((1, "partial\n", "“x.stl” is damaged.\n")), ["also wrote on stdout"]),
        (_outcome((0, "table\n", "RuntimeWarning: overflow\n")), ["wrote on stderr"]),
        (_outcome((2, "", "usage\n")), ["exit code 2"]),
        (_outcome(changed=True), ["the library changed"]),
        (_outcome(check=(1, "Model 1 has no versions.\n", "1 problem.\n")), ["not clean"]),
        (FileOutcome(failure=("inspect", "it ran past 5 s")), ["ran past"]),
    ],
)
def test_the_judge_flags_each_way_a_command_can_misbehave(
    outcome: FileOutcome, expected: list[str]
) -> None:
    """The verdict itself is checked, so a quiet fuzz run means the files behaved."""
    mutant = Mutant("stl-binary", "flip-1-0", "x.stl", {})
    problems = judge(mutant, outcome)
    for phrase in expected:
        assert any(phrase in problem for problem in problems), problems
    if not expected:
        assert problems == []


def test_the_judge_insists_that_a_valid_file_opens() -> None:
    refused = _outcome((1, "", "“box.stl” is damaged.\n"))
    problems = judge(Mutant("stl-binary", "original", "box.stl", {}), refused)
    assert any("must open" in problem for problem in problems), problems
