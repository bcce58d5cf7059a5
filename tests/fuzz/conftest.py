"""The fuzz run prints one summary line (files, time, slowest command) at the end."""

from __future__ import annotations

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.fuzz.test_mesh_readers import SUMMARY

    for line in SUMMARY:
        terminalreporter.write_line(line)
