"""Kiln Studio: open the window.

python main.py [FILES...] [--data-dir DIR] [--screenshot OUT.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kiln-studio", description="Kiln Studio, a 3D studio.")
    parser.add_argument("files", nargs="*", type=Path, help="3D files to import and show")
    parser.add_argument("--data-dir", type=Path, help="library folder (default: per-user data dir)")
    parser.add_argument(
        "--screenshot",
        type=Path,
        metavar="OUT.png",
        help="render the whole window once everything is loaded, save it, and exit",
    )
    parser.add_argument("--verbose", action="store_true", help="log debug details")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 (a friendly word to older Pythons)
        print("Kiln Studio needs Python 3.11 or newer.", file=sys.stderr)
        return 1
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from ui.app import run

    return run(args.files, data_dir=args.data_dir, screenshot=args.screenshot, verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
