"""The designer's settings: one evented model, versioned, stored as JSON in the config dir.

Views subscribe to a field's event (``settings.events.units.connect(...)``,
``settings.view.events.mode.connect(...)``) instead of being told by the window.

Secrets never live here (see :mod:`studio.secrets`). A damaged file is set aside as
``settings.json.bad`` and the defaults are used, with :attr:`Settings.load_problem`
saying so for the window to show. Values that come from the environment (``KILN_*``)
win for this run but are never written back to the file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from psygnal import EventedModel
from pydantic import ConfigDict, Field, PrivateAttr, ValidationError

from studio import paths
from studio.atomic import write_atomic

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
MAX_RECENT_FILES = 10

Unit = Literal["mm", "cm", "m", "in"]
ViewMode = Literal["smooth", "flat", "wireframe", "edges", "points"]
Projection = Literal["perspective", "orthographic"]
Theme = Literal["system", "dark", "light"]
UpAxis = Literal["y", "z"]


class ViewState(EventedModel):
    """How the viewport draws, kept between runs."""

    model_config = ConfigDict(validate_assignment=True, extra="ignore")

    mode: ViewMode = "smooth"
    projection: Projection = "perspective"
    unit: Unit = "mm"
    show_grid: bool = True
    show_axes: bool = True
    show_bounds: bool = True
    #: Image-based lighting for PBR materials (metals and glazes).
    environment_lighting: bool = True
    #: Soft contact shadow under the model.
    ground_shadow: bool = False
    #: Highlight open and non-manifold edges of the shown model.
    show_problem_edges: bool = False


class Settings(EventedModel):
    """Everything the app remembers between runs."""

    model_config = ConfigDict(validate_assignment=True, extra="ignore")

    schema_version: int = SCHEMA_VERSION
    view: ViewState = Field(default_factory=ViewState)
    theme: Theme = "system"
    recent_files: list[str] = Field(default_factory=list)
    window_geometry: str = ""
    window_state: str = ""
    #: Which page each side bar shows ("" when collapsed to its icons).
    left_panel: str = "library"
    right_panel: str = "inspector"
    last_directory: str = ""
    max_file_size: int = Field(default=2 * 1024**3, gt=0)
    max_triangles: int = Field(default=50_000_000, gt=0)
    #: Pixels a texture keeps; larger ones are scaled down. 8192 × 8192, as
    #: studio.meshes.limits.DEFAULT_TEXTURE_PIXELS (not imported: it would pull in numpy).
    max_texture_pixels: int = Field(default=8192 * 8192, gt=0)
    first_launch_done: bool = False
    #: Provider endpoints; empty means the provider's own public address.
    meshy_base_url: str = ""
    tripo_base_url: str = ""
    generation_provider: Literal["meshy", "tripo"] = "meshy"
    generation_quality: Literal["standard", "ultra"] = "standard"
    #: The Kiln account service; empty means no account (signed out, offline).
    #: ``KILN_ACCOUNT_URL`` wins.
    account_url: str = ""

    #: field -> the value to store instead, for fields the environment set for this run.
    _stored_instead: dict[str, Any] = PrivateAttr(default_factory=dict)
    _load_problem: str | None = PrivateAttr(default=None)

    @property
    def load_problem(self) -> str | None:
        """A sentence for the designer when the settings file could not be used."""
        return self._load_problem

    def base_url(self, provider: str) -> str | None:
        """The endpoint to use for ``provider``; ``KILN_<PROVIDER>_BASE_URL`` wins."""
        from_env = os.environ.get(f"KILN_{provider.upper()}_BASE_URL", "").strip()
        configured = from_env or str(getattr(self, f"{provider}_base_url", "") or "")
        return configured or None

    def add_recent_file(self, path: str) -> None:
        files = [p for p in self.recent_files if p != path]
        self.recent_files = [path, *files][:MAX_RECENT_FILES]

    def to_json(self) -> str:
        """What :func:`save_settings` writes: env-provided values replaced by stored ones."""
        data = self.model_dump(mode="json")
        for name, stored in self._stored_instead.items():
            if data.get(name) == _env_value(name):
                data[name] = stored
        return json.dumps(data, indent=2)


def _flat_view_keys(raw: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 kept the view's fields at the top level."""
    view = {
        "mode": raw.pop("view_mode", None),
        "projection": raw.pop("projection", None),
        "unit": raw.pop("units", None),
        "show_grid": raw.pop("show_grid", None),
        "show_axes": raw.pop("show_axes", None),
        "show_bounds": raw.pop("show_bounds", None),
    }
    raw["view"] = {k: v for k, v in view.items() if v is not None}
    raw["schema_version"] = 2
    return raw


# Migrations from older schema versions: {old_version: function(dict) -> dict}.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _flat_view_keys}

#: Settings the environment may set for one run: field -> variable.
ENV_FIELDS = {
    "max_file_size": "KILN_MAX_FILE_SIZE",
    "max_triangles": "KILN_MAX_TRIANGLES",
    "max_texture_pixels": "KILN_MAX_TEXTURE_PIXELS",
    "account_url": "KILN_ACCOUNT_URL",
}


def settings_path(config_dir: Path | None = None) -> Path:
    return (config_dir or paths.config_dir()) / "settings.json"


def _env_value(name: str) -> Any:
    raw = os.environ.get(ENV_FIELDS[name], "").strip()
    if not raw:
        return None
    field_type = type(Settings.model_fields[name].default)
    try:
        return field_type(raw)
    except ValueError:
        return None


def _apply_env(settings: Settings) -> Settings:
    for name, var in ENV_FIELDS.items():
        value = _env_value(name)
        if value is None:
            if os.environ.get(var, "").strip():
                log.warning("ignoring %s: not a valid value", var)
            continue
        stored = getattr(settings, name)
        try:
            setattr(settings, name, value)
        except ValidationError:
            log.warning("ignoring %s=%r: not a valid value", var, os.environ.get(var))
            continue
        settings._stored_instead[name] = stored
    return settings


def _defaults(problem: str | None = None) -> Settings:
    settings = Settings()
    settings._load_problem = problem
    return _apply_env(settings)


def load_settings(config_dir: Path | None = None) -> Settings:
    """Read the settings, migrating old versions; fall back to defaults on damage."""
    path = settings_path(config_dir)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return _defaults()
    except (OSError, ValueError) as exc:
        log.warning("settings file %s unreadable (%s); using defaults", path, exc)
        return _defaults(_set_aside(path, "could not be read"))
    try:
        raw = _migrated(raw)
        settings = Settings.model_validate(raw)
    except (ValidationError, ValueError, TypeError, KeyError) as exc:
        log.warning("settings file %s invalid (%s); using defaults", path, exc)
        return _defaults(_set_aside(path, "held values Kiln Studio can't use"))
    return _apply_env(settings)


def _migrated(raw: object) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError("the settings file does not hold an object")
    version = raw.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(f"schema_version is {version!r}, not a whole number")
    while version < SCHEMA_VERSION and version in MIGRATIONS:
        raw = MIGRATIONS[version](raw)
        version = int(raw["schema_version"])
    return raw


def save_settings(settings: Settings, config_dir: Path | None = None) -> None:
    write_atomic(settings_path(config_dir), settings.to_json().encode("utf-8"))


def _set_aside(path: Path, why: str) -> str:
    aside = path.with_suffix(".json.bad")
    with contextlib.suppress(OSError):
        path.replace(aside)
    return (
        f"Your settings file {why}, so Kiln Studio started with its defaults; "
        f"the old file was kept as {aside.name}."
    )
