"""The designer's settings: one pydantic model, versioned, stored as JSON in the config dir.

Secrets never live here (see :mod:`studio.secrets`). Unknown or damaged files are set
aside and replaced by defaults rather than stopping the app.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from studio import paths
from studio.atomic import write_atomic

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MAX_RECENT_FILES = 10

Unit = Literal["mm", "cm", "m", "in"]
ViewMode = Literal["smooth", "flat", "wireframe", "edges", "points"]
Projection = Literal["perspective", "orthographic"]


class Settings(BaseModel):
    """Everything the app remembers between runs."""

    model_config = ConfigDict(validate_assignment=True, extra="ignore")

    schema_version: int = SCHEMA_VERSION
    units: Unit = "mm"
    view_mode: ViewMode = "smooth"
    projection: Projection = "perspective"
    show_grid: bool = True
    show_axes: bool = True
    show_bounds: bool = True
    recent_files: list[str] = Field(default_factory=list)
    window_geometry: str = ""
    window_state: str = ""
    last_directory: str = ""
    max_file_size: int = Field(default=2 * 1024**3, gt=0)
    max_triangles: int = Field(default=50_000_000, gt=0)
    first_launch_done: bool = False
    #: Provider endpoints; empty means the provider's own public address.
    meshy_base_url: str = ""
    tripo_base_url: str = ""
    generation_provider: Literal["meshy", "tripo"] = "meshy"
    generation_quality: Literal["standard", "ultra"] = "standard"
    #: The Kiln account service; empty means no account (signed out, offline).
    #: ``KILN_ACCOUNT_URL`` wins.
    account_url: str = ""

    def base_url(self, provider: str) -> str | None:
        """The endpoint to use for ``provider``; ``KILN_<PROVIDER>_BASE_URL`` wins."""
        from_env = os.environ.get(f"KILN_{provider.upper()}_BASE_URL", "").strip()
        configured = from_env or str(getattr(self, f"{provider}_base_url", "") or "")
        return configured or None

    def add_recent_file(self, path: str) -> None:
        files = [p for p in self.recent_files if p != path]
        self.recent_files = [path, *files][:MAX_RECENT_FILES]


# Migrations from older schema versions: {old_version: function(dict) -> dict}.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def settings_path(config_dir: Path | None = None) -> Path:
    return (config_dir or paths.config_dir()) / "settings.json"


def _apply_env(settings: Settings) -> Settings:
    for field, var in (
        ("max_file_size", "KILN_MAX_FILE_SIZE"),
        ("max_triangles", "KILN_MAX_TRIANGLES"),
    ):
        value = os.environ.get(var)
        if value:
            try:
                setattr(settings, field, int(value))
            except (ValueError, ValidationError):
                log.warning("ignoring %s=%r: not a positive whole number", var, value)
    account_url = os.environ.get("KILN_ACCOUNT_URL", "").strip()
    if account_url:
        settings.account_url = account_url
    return settings


def load_settings(config_dir: Path | None = None) -> Settings:
    """Read the settings, migrating old versions; fall back to defaults on damage."""
    path = settings_path(config_dir)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return _apply_env(Settings())
    except (OSError, ValueError) as exc:
        log.warning("settings file %s unreadable (%s); using defaults", path, exc)
        _set_aside(path)
        return _apply_env(Settings())
    if not isinstance(raw, dict):
        _set_aside(path)
        return _apply_env(Settings())
    version = int(raw.get("schema_version", 1))
    while version < SCHEMA_VERSION and version in MIGRATIONS:
        raw = MIGRATIONS[version](raw)
        version = int(raw["schema_version"])
    try:
        return _apply_env(Settings.model_validate(raw))
    except ValidationError as exc:
        log.warning("settings file %s invalid (%s); using defaults", path, exc)
        _set_aside(path)
        return _apply_env(Settings())


def save_settings(settings: Settings, config_dir: Path | None = None) -> None:
    path = settings_path(config_dir)
    write_atomic(path, settings.model_dump_json(indent=2).encode("utf-8"))


def _set_aside(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.replace(path.with_suffix(".json.bad"))
