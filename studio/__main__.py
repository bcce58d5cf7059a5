"""``python -m studio ...``: the headless command line (see :mod:`studio.cli`)."""

from __future__ import annotations

import sys

from studio.cli import main

if __name__ == "__main__":
    sys.exit(main())
