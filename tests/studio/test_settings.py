"""Settings: migrated, evented, never saving what the environment set, never crashing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.settings import SCHEMA_VERSION, Settings, load_settings, save_settings


def test_values_from_the_environment_are_used_but_not_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_settings(Settings(max_triangles=1234, account_url="https://mine.example"), tmp_path)
    monkeypatch.setenv("KILN_MAX_TRIANGLES", "99")
    monkeypatch.setenv("KILN_ACCOUNT_URL", "http://127.0.0.1:9")
    settings = load_settings(tmp_path)
    assert settings.max_triangles == 99
    assert settings.account_url == "http://127.0.0.1:9"
    settings.theme = "dark"
    save_settings(settings, tmp_path)
    stored = json.loads((tmp_path / "settings.json").read_text())
    assert stored["max_triangles"] == 1234
    assert stored["account_url"] == "https://mine.example"
    assert stored["theme"] == "dark"


def test_a_value_changed_during_the_run_is_saved_even_when_the_environment_set_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KILN_MAX_TRIANGLES", "99")
    settings = load_settings(tmp_path)
    settings.max_triangles = 5000  # the designer chose this in Settings
    save_settings(settings, tmp_path)
    assert json.loads((tmp_path / "settings.json").read_text())["max_triangles"] == 5000


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe\x00garbage",
        b"[1, 2, 3]",
        b'{"schema_version": "two"}',
        b'{"schema_version": 2.5}',
        b'{"schema_version": 2, "max_triangles": -5}',
        b'{"schema_version": 2, "view": {"mode": "sideways"}}',
    ],
)
def test_a_damaged_file_gives_defaults_a_message_and_is_kept_aside(
    tmp_path: Path, content: bytes
) -> None:
    (tmp_path / "settings.json").write_bytes(content)
    settings = load_settings(tmp_path)
    assert settings.max_triangles == Settings().max_triangles
    assert settings.load_problem is not None
    assert "settings.json.bad" in settings.load_problem
    assert (tmp_path / "settings.json.bad").read_bytes() == content
    assert not (tmp_path / "settings.json").exists()


def test_schema_1_moves_the_view_keys_into_the_view(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(
        json.dumps({"view_mode": "flat", "units": "cm", "show_grid": False, "recent_files": ["a"]})
    )
    settings = load_settings(tmp_path)
    assert settings.load_problem is None
    assert settings.schema_version == SCHEMA_VERSION
    assert (settings.view.mode, settings.view.unit, settings.view.show_grid) == (
        "flat",
        "cm",
        False,
    )
    assert settings.recent_files == ["a"]


def test_views_hear_about_changes_to_nested_view_fields() -> None:
    settings = Settings()
    heard: list[str] = []
    settings.view.events.mode.connect(heard.append)
    settings.view.mode = "flat"
    settings.view.mode = "flat"  # no change, no event
    assert heard == ["flat"]
