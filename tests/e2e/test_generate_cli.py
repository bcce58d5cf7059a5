"""``python -m studio generate`` / ``jobs`` as real processes against the local emulators.

The emulators run in this test process on a fake clock the test moves; the CLI runs in a
child process on real time, reaching them over HTTP through ``KILN_*_BASE_URL``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from studio.library import Library
from tests.conftest import KilnDirs
from tests.emulators import Clock, MeshyEmulator, TripoEmulator

KEYS = {"meshy": "msy_cli_test_key_0000000000000001", "tripo": "tsk_cli_test_key_0000000000000001"}
DEADLINE = 60.0


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, MeshyEmulator | TripoEmulator]]:
    clock = Clock(start=1_800_000_000.0)
    with MeshyEmulator(clock) as meshy, TripoEmulator(clock) as tripo:
        yield {"meshy": meshy, "tripo": tripo}


@pytest.fixture(params=["meshy", "tripo"])
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> Clock:
    return Clock(start=1_800_000_000.0)


@pytest.fixture
def emulator(
    servers: dict[str, MeshyEmulator | TripoEmulator], provider: str, clock: Clock
) -> MeshyEmulator | TripoEmulator:
    emulator = servers[provider]
    emulator.reset(clock=clock)
    emulator.add_key(KEYS[provider], balance=1000)
    # Done the moment it is created: the child process polls on real time.
    emulator.queue_seconds = 0
    emulator.run_seconds = 0
    return emulator


def cli_env(
    dirs: KilnDirs, provider: str, emulator: MeshyEmulator | TripoEmulator, key: str
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "KILN_DATA_DIR": str(dirs.data),
            "KILN_CONFIG_DIR": str(dirs.config),
            "KILN_LOG_DIR": str(dirs.logs),
            f"KILN_{provider.upper()}_BASE_URL": emulator.base_url,
            f"KILN_{provider.upper()}_API_KEY": key,
        }
    )
    return env


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "studio", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )


def wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def files_under(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()]


def test_generate_prints_the_new_model_and_version(
    kiln_dirs: KilnDirs, emulator: MeshyEmulator | TripoEmulator, provider: str
) -> None:
    env = cli_env(kiln_dirs, provider, emulator, KEYS[provider])
    run = run_cli(env, "generate", "--provider", provider, "--text", "a chair", "--json")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["generation"]["status"] == "succeeded"
    with Library.open(kiln_dirs.data) as library:
        version = library.get_version_by_id(out["version"]["id"])
        assert version.model_id == out["model"]["id"]
        assert version.source["prompt"] == "a chair"
    listed = run_cli(env, "jobs", "list", "--json")
    assert json.loads(listed.stdout)["generations"][0]["status"] == "succeeded"
    # The key is in no file the app wrote, no log line, no output.
    key = KEYS[provider].encode()
    for path in files_under(kiln_dirs.data, kiln_dirs.config, kiln_dirs.logs):
        assert key not in path.read_bytes(), path
    assert KEYS[provider] not in run.stdout + run.stderr


def test_a_wrong_key_is_one_plain_sentence(
    kiln_dirs: KilnDirs, emulator: MeshyEmulator | TripoEmulator, provider: str
) -> None:
    wrong = KEYS[provider][:4] + "wrong_key_0000000000000000000"
    env = cli_env(kiln_dirs, provider, emulator, wrong)
    run = run_cli(env, "generate", "--provider", provider, "--text", "a chair")
    assert run.returncode == 1
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert "key" in lines[0].lower()
    assert "Traceback" not in run.stderr
    assert wrong not in run.stderr + run.stdout
    for path in files_under(kiln_dirs.data, kiln_dirs.config, kiln_dirs.logs):
        assert wrong.encode() not in path.read_bytes(), path
    assert emulator.create_count() == 0


def _generation(data: Path) -> dict[str, object]:
    with Library.open(data) as library:
        generations = library.generations()
        return {} if not generations else generations[0].__dict__


def test_a_job_killed_mid_way_resumes_and_finishes_once(
    kiln_dirs: KilnDirs, emulator: MeshyEmulator | TripoEmulator, provider: str, clock: Clock
) -> None:
    emulator.run_seconds = 1000  # still running until the test moves the clock
    env = cli_env(kiln_dirs, provider, emulator, KEYS[provider])
    child = subprocess.Popen(
        [sys.executable, "-m", "studio", "generate", "--provider", provider, "--text", "a lamp"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(
            lambda: (
                kiln_dirs.data.joinpath("library.sqlite3").exists()
                and _generation(kiln_dirs.data).get("provider_task_id")
            ),
            "the task to be submitted",
        )
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=DEADLINE)
    assert child.returncode == -signal.SIGKILL
    assert _generation(kiln_dirs.data)["status"] in ("queued", "running")
    clock.advance(2000)  # the provider finishes while the app is closed
    run = run_cli(env, "jobs", "resume")
    assert run.returncode == 0, run.stderr
    with Library.open(kiln_dirs.data) as library:
        models = library.list_models()
        assert len(models) == 1
        assert len(library.versions(models[0].id)) == 1
        assert library.generations()[0].status == "succeeded"
        assert library.check() == []
    assert emulator.create_count(KEYS[provider]) == 1
    again = run_cli(env, "jobs", "resume")
    assert "No unfinished generations" in again.stdout


def test_killed_right_after_the_import_commit_imports_once(
    kiln_dirs: KilnDirs, emulator: MeshyEmulator | TripoEmulator, provider: str
) -> None:
    env = cli_env(kiln_dirs, provider, emulator, KEYS[provider])
    env["KILN_CRASH_AT"] = "row-committed"  # SIGKILL just after the version's commit
    run = run_cli(env, "generate", "--provider", provider, "--text", "a stool")
    assert run.returncode == -signal.SIGKILL
    del env["KILN_CRASH_AT"]
    resumed = run_cli(env, "jobs", "resume")
    assert resumed.returncode == 0, resumed.stderr
    with Library.open(kiln_dirs.data) as library:
        models = library.list_models()
        assert len(models) == 1
        assert len(library.versions(models[0].id)) == 1
        generation = library.generations()[0]
        assert generation.status == "succeeded"
        assert generation.result_version_id == library.active_version(models[0].id).id
    assert emulator.create_count(KEYS[provider]) == 1
