"""How the command line prints: JSON for scripts, aligned plain text for people."""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any


def _encode(value: object) -> object:
    """JSON for what :func:`json.dumps` can't write on its own."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(data: object) -> str:
    """Valid JSON (no NaN), ISO-8601 datetimes, enums as their ``value``, ASCII-safe."""
    return json.dumps(data, default=_encode, indent=2, allow_nan=False)


def print_json(data: object) -> None:
    print(to_json(data))


def record(value: Any) -> dict[str, Any]:
    """A library record as a plain dict (nested records and tuples included)."""
    result: dict[str, Any] = dataclasses.asdict(value)
    return result


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """Columns padded to line up; the columns numbered in ``right`` are right-aligned."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line(headers), *(line(row) for row in rows)])


def fields(pairs: Sequence[tuple[str, str]]) -> str:
    """``label   value`` lines, values lined up."""
    width = max(len(label) for label, _ in pairs)
    return "\n".join(f"{label.ljust(width)}  {value}" for label, value in pairs)


def bullets(title: str, items: Sequence[str]) -> str:
    return "\n".join([f"{title}:", *(f"  - {item}" for item in items)])


def number(value: float) -> str:
    """``1234.5`` → ``"1,234.5"``: at most three decimals, no trailing zeros."""
    text = f"{value:,.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def local_time(moment: datetime) -> str:
    """A timestamp in the computer's time zone, to the minute."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def error(message: str) -> None:
    """One plain sentence on stderr."""
    print(message, file=sys.stderr)
