"""Where Kiln Studio keeps its files.

Per-user directories from platformdirs, each overridable by an environment variable
(tests and portable installs use these) or, for the data dir, by ``--data-dir``.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "KilnStudio"
APP_AUTHOR = "Kiln"


def _from_env(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    """The library lives here (database, blobs, thumbnails). ``KILN_DATA_DIR`` overrides."""
    return _from_env("KILN_DATA_DIR") or Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def config_dir() -> Path:
    """Settings live here. ``KILN_CONFIG_DIR`` overrides."""
    return _from_env("KILN_CONFIG_DIR") or Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR))


def log_dir() -> Path:
    """Log files live here. ``KILN_LOG_DIR`` overrides."""
    return _from_env("KILN_LOG_DIR") or Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR))
