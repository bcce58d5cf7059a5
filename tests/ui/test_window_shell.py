"""The window's shell: room for the viewport, a banner that tells the truth, true messages."""

# ruff: noqa: F811  (the ``app`` fixture is shared with test_main_window)

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6 import QtCore, QtWidgets
from pytestqt.qtbot import QtBot

from studio.library import Library
from studio.settings import Settings, load_settings
from tests.conftest import KilnDirs
from tests.ui.test_main_window import App, app, drop, settle, write_box_stl  # noqa: F401
from ui.failures import FailureDialog
from ui.main_window import MainWindow
from ui.qt_events import process_events

pytestmark = pytest.mark.gl


def viewport_share(window: MainWindow) -> float:
    return window.viewport.width() / window.width()


@pytest.mark.parametrize("size", [(1366, 768), (1100, 700), (1440, 900)])
def test_the_viewport_keeps_most_of_the_width(
    qtbot: QtBot, app: App, size: tuple[int, int]
) -> None:
    app.window.resize(*size)
    qtbot.waitUntil(lambda: app.window.width() == size[0], timeout=5000)
    process_events()
    assert not app.window.left_bar.collapsed
    assert not app.window.right_bar.collapsed
    if size[0] >= 1366:
        assert viewport_share(app.window) >= 0.6
    else:
        assert viewport_share(app.window) >= 0.5
    # Folding both side bars away gives nearly all of it to the viewport.
    app.window.left_bar.toggle("library")
    app.window.right_bar.toggle("inspector")
    process_events()
    assert viewport_share(app.window) > 0.85


def test_tooltips_name_the_shortcut_and_generate_is_on_the_toolbar(app: App) -> None:
    actions = app.window.window_actions
    assert actions.fit.toolTip() == "Fit to Model (F)"
    assert "Ctrl+O" in actions.open.toolTip()
    assert not actions.open.icon().isNull()
    button = app.window.findChild(QtWidgets.QToolButton, "generateButton")
    assert button is not None
    assert button.isVisible()
    button.click()
    assert app.window.right_bar.current == "generate"
    rows = dict(actions.cheat_sheet())
    assert rows["Fit to Model"] == "F"
    assert app.window.findChild(QtWidgets.QMenu, "helpMenu") is not None


def test_the_banner_shows_exactly_when_the_shown_version_is_not_the_active_one(
    qtbot: QtBot, app: App, tmp_path: Path
) -> None:
    first = write_box_stl(tmp_path / "part.stl", (10, 10, 10))
    app.window.open_files([first])
    settle(qtbot, app.window)
    model = app.library.list_models()[0]
    banner = app.window.banner
    assert banner.isHidden()
    second = write_box_stl(tmp_path / "part-b.stl", (10, 10, 20))
    app.window.open_files([second], model_id=model.id)
    settle(qtbot, app.window)
    assert app.library.get_model(model.id).active_version_number == 2
    assert banner.isHidden()  # the new version is active and on screen
    # Looking back at v1 says so, and offers to make it active.
    app.window.intake.view_version(app.library.get_version(model.id, 1))
    settle(qtbot, app.window)
    assert not banner.isHidden()
    assert banner.label.text() == "Viewing v1 · v2 is active"
    qtbot.mouseClick(banner.set_active_button, QtCore.Qt.MouseButton.LeftButton)
    assert app.library.get_model(model.id).active_version_number == 1
    qtbot.waitUntil(banner.isHidden, timeout=5000)
    assert app.window.status.text == "Version 1 is now the active one."
    # Re-adding the second file shows v2 (it is already stored), and v1 stays active.
    app.window.open_files([second], model_id=model.id)
    settle(qtbot, app.window)
    assert app.window.shown is not None
    assert app.window.shown.version is not None
    assert app.window.shown.version.number == 2
    assert app.library.get_model(model.id).active_version_number == 1
    assert not banner.isHidden()
    assert banner.label.text() == "Viewing v2 · v1 is active"
    qtbot.mouseClick(banner.show_active_button, QtCore.Qt.MouseButton.LeftButton)
    settle(qtbot, app.window)
    qtbot.waitUntil(banner.isHidden, timeout=5000)
    assert app.window.shown is not None
    assert app.window.shown.version is not None
    assert app.window.shown.version.number == 1


def test_several_broken_files_from_one_drop_are_reported_in_one_dialog(
    qtbot: QtBot, app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[list[tuple[str, str]]] = []
    monkeypatch.setattr(FailureDialog, "exec", lambda self: shown.append(self.rows()) or 0)
    app.window.errors.interactive = True
    broken = []
    for name in ("a.stl", "b.obj", "c.glb"):
        path = tmp_path / name
        path.write_bytes(b"not a model, only a few words")
        broken.append(path)
    good = write_box_stl(tmp_path / "good.stl")
    drop(app.window, [*broken, good])
    settle(qtbot, app.window)
    assert len(shown) == 1
    assert [name for name, _ in shown[0]] == ["a.stl", "b.obj", "c.glb"]
    assert all(reason for _, reason in shown[0])
    assert [m.name for m in app.library.list_models()] == ["good"]
    assert app.window.status.text == "3 files could not be added."


def test_messages_clear_when_they_stop_being_true(app: App) -> None:
    status = app.window.status
    status.show_message("There is no Meshy API key yet.", "generation")
    status.clear("account")  # another topic: nothing happens
    assert status.text == "There is no Meshy API key yet."
    status.clear("generation")
    assert status.text == ""


def test_long_progress_text_is_elided_never_clipped(app: App) -> None:
    label = app.window.status.progress_label
    label.setFixedWidth(120)
    label.setText("Preparing the view of a very large terrain scan with many parts")
    assert label.shown_text().endswith("…")
    assert label.fontMetrics().horizontalAdvance(label.shown_text()) <= 120
    assert label.toolTip().startswith("Preparing the view of a very large")


def test_a_damaged_settings_file_starts_the_window_with_defaults_and_a_message(
    qtbot: QtBot, kiln_dirs: KilnDirs
) -> None:
    kiln_dirs.config.mkdir(parents=True, exist_ok=True)
    (kiln_dirs.config / "settings.json").write_text('{"schema_version": "two", "theme": 7}')
    settings = load_settings(kiln_dirs.config)
    library = Library.open(kiln_dirs.data)
    try:
        window = MainWindow(library, settings, config_dir=kiln_dirs.config)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        assert "settings.json.bad" in window.status.text
        assert window.settings.theme == "system"
        window.close()
    finally:
        library.close()
    assert (kiln_dirs.config / "settings.json.bad").exists()


def test_environment_values_are_not_saved_by_the_window(
    qtbot: QtBot, kiln_dirs: KilnDirs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KILN_MAX_TRIANGLES", "77")
    library = Library.open(kiln_dirs.data)
    try:
        window = MainWindow(library, load_settings(kiln_dirs.config), config_dir=kiln_dirs.config)
        qtbot.addWidget(window)
        window.show()
        assert window.limits.max_triangles == 77
        window.close()  # saves the settings
    finally:
        library.close()
    stored = json.loads((kiln_dirs.config / "settings.json").read_text())
    assert stored["max_triangles"] == Settings().max_triangles


def test_the_theme_follows_the_choice(qtbot: QtBot, app: App) -> None:
    palette = QtWidgets.QApplication.palette
    app.window.window_actions.themes["light"].trigger()
    assert app.window.settings.theme == "light"
    assert palette().window().color().lightness() > 200
    app.window.window_actions.themes["dark"].trigger()
    assert palette().window().color().lightness() < 60


def test_rename_tags_and_notes_are_edited_in_place_and_persist(
    qtbot: QtBot, app: App, tmp_path: Path
) -> None:
    app.window.open_files(
        [write_box_stl(tmp_path / "a.stl"), write_box_stl(tmp_path / "b.stl", (1, 2, 3))]
    )
    settle(qtbot, app.window)
    first, second = sorted(app.library.list_models(), key=lambda m: m.name)
    panel = app.window.library_panel
    panel.select_model(first.id)
    details = panel.details
    assert details.isVisible()
    assert details.name.text() == "a"
    details.name.setText("Lamp base")
    details.name.editingFinished.emit()
    details.tags.setText("ceramic, lamp ,  Ceramic")
    details.tags.editingFinished.emit()
    details.notes.setPlainText("Glaze test 3")
    details.save_notes()
    stored = app.library.get_model(first.id)
    assert stored.name == "Lamp base"
    assert stored.tags == ("ceramic", "lamp")
    assert stored.notes == "Glaze test 3"
    # The card shows the new name, the other model's field offers the tags to complete.
    assert "Lamp base" in [m.name for m in panel.model.records()]
    panel.select_model(second.id)
    assert details.name.text() == "b"
    assert details._completions.stringList() == ["ceramic", "lamp"]
    # A blank name is refused plainly and the field shows the stored name again.
    messages: list[str] = []
    app.window.errors.reported.connect(messages.append)
    details.name.setText("   ")
    details.name.editingFinished.emit()
    assert messages
    assert "name" in messages[-1]
    assert details.name.text() == "b"
    # Reopened, the library still has them.
    app.window.close()
    app.library.close()
    again = Library.open(app.dirs.data)
    try:
        reopened = again.get_model(first.id)
        assert (reopened.name, reopened.tags, reopened.notes) == (
            "Lamp base",
            ("ceramic", "lamp"),
            "Glaze test 3",
        )
    finally:
        again.close()


def test_the_active_badge_is_not_the_selection_and_lists_need_no_horizontal_scrolling(
    qtbot: QtBot, app: App, tmp_path: Path
) -> None:
    path = tmp_path / ("a-model-with-a-very-long-name-that-would-widen-any-panel" + ".stl")
    app.window.open_files([write_box_stl(path)])
    settle(qtbot, app.window)
    browser = app.window.version_browser
    index = browser.model.index(0)
    from ui.record_list import BADGE_ROLE

    assert index.data(BADGE_ROLE) == "active"
    for view in (browser.list, app.window.library_panel.list):
        assert view.horizontalScrollBarPolicy() == QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    assert app.window.left_bar.width() <= 260
    tip = app.window.library_panel.model.index(0).data(QtCore.Qt.ItemDataRole.ToolTipRole)
    assert "a-model-with-a-very-long-name" in tip


def test_saying_the_file_is_in_cm_changes_the_dimensions_shown_and_exported(
    qtbot: QtBot, app: App, tmp_path: Path
) -> None:
    app.window.open_files([write_box_stl(tmp_path / "block.stl", (10, 20, 30))])
    settle(qtbot, app.window)
    box = app.window.placement_box
    assert box.isVisibleTo(app.window)
    assert box.unit.currentData() == "mm"
    assert box.up.currentData() == "Z"
    assert app.window.inspector.values["dimensions"].text() == "10.00 × 20.00 × 30.00 mm"
    before = app.window.viewport.dimensions_text()
    box.unit.setCurrentIndex(box.unit.findData("cm"))
    box.unit.activated.emit(box.unit.currentIndex())
    qtbot.waitUntil(
        lambda: app.window.inspector.values["dimensions"].text() == "100.00 × 200.00 × 300.00 mm",
        timeout=5000,
    )
    assert app.window.viewport.dimensions_text() != before
    version = app.library.versions(app.library.list_models()[0].id)[0]
    assert version.unit == "cm"
    assert not version.unit_is_default
    out = tmp_path / "out.stl"
    app.window.export_version(version, out)
    settle(qtbot, app.window)
    import trimesh

    exported = trimesh.load(out)
    assert sorted(round(float(e)) for e in exported.extents) == [100, 200, 300]


def test_a_deleted_version_comes_back_with_its_number_from_undo(
    qtbot: QtBot, app: App, tmp_path: Path
) -> None:
    app.window.open_files([write_box_stl(tmp_path / "a.stl")])
    settle(qtbot, app.window)
    model = app.library.list_models()[0]
    app.window.open_files([write_box_stl(tmp_path / "b.stl", (5, 5, 5))], model_id=model.id)
    settle(qtbot, app.window)
    browser = app.window.version_browser
    browser.select_number(1)
    qtbot.mouseClick(browser.delete_button, QtCore.Qt.MouseButton.LeftButton)
    assert "You can undo it" in app.confirm.questions[-1]
    assert [v.number for v in app.library.versions(model.id)] == [2]
    status = app.window.status
    assert status.offer_button.isVisibleTo(app.window)
    assert status.offer_button.text() == "Undo"
    qtbot.mouseClick(status.offer_button, QtCore.Qt.MouseButton.LeftButton)
    assert [v.number for v in app.library.versions(model.id)] == [2, 1]
    assert not status.offer_button.isVisibleTo(app.window)
    assert status.text == "Restored version 1 of “a”."
    qtbot.waitUntil(lambda: [v.number for v in browser.versions_shown()] == [2, 1], timeout=5000)


def test_repair_with_nothing_to_do_makes_no_version_and_says_so(
    qtbot: QtBot, app: App, tmp_path: Path
) -> None:
    app.window.open_files([write_box_stl(tmp_path / "closed.stl")])
    settle(qtbot, app.window)
    model = app.library.list_models()[0]
    app.window.work.repair_shown()
    settle(qtbot, app.window)
    assert [v.number for v in app.library.versions(model.id)] == [1]
    assert "No new version was made." in app.window.status.text
    assert "No new version was made." in app.window.inspector.repair_report.text()


def test_open_edges_are_counted_and_highlighted_in_the_viewport(
    qtbot: QtBot, app: App, tmp_path: Path
) -> None:
    from tests.scenes import box_part
    from tests.ui.test_main_window import write_stl

    triangles = box_part((10, 10, 10)).triangles()[:-1]  # one face missing: a hole
    app.window.open_files([write_stl(tmp_path / "open.stl", triangles)])
    settle(qtbot, app.window)
    assert app.window.inspector.values["open_edges"].text() == "3"
    overlay = app.window.work.edges
    assert overlay.counts == (0, 0)
    app.window.inspector.highlight.setChecked(True)
    assert app.window.settings.view.show_problem_edges
    qtbot.waitUntil(lambda: overlay.counts == (3, 0), timeout=10_000)
    assert len(app.window.viewport.overlay_props(overlay)) == 1
    app.window.inspector.highlight.setChecked(False)
    assert overlay.counts == (0, 0)


def test_the_unit_chosen_in_settings_reaches_the_viewport_and_the_inspector(
    qtbot: QtBot, app: App, tmp_path: Path
) -> None:
    from ui.settings_dialog import SettingsDialog

    app.window.open_files([write_box_stl(tmp_path / "block.stl", (10, 20, 30))])
    settle(qtbot, app.window)
    dialog = SettingsDialog(app.window.settings, app.window)
    dialog.units.setCurrentText("cm")
    dialog.apply()
    assert app.window.settings.view.unit == "cm"
    assert app.window.viewport.unit == "cm"
    assert app.window.inspector.values["dimensions"].text() == "1.00 × 2.00 × 3.00 cm"
    assert app.window.window_actions.units["cm"].isChecked()


def test_a_version_whose_file_is_gone_is_one_plain_message_not_a_crash(
    qtbot: QtBot, app: App, tmp_path: Path
) -> None:
    import shutil

    app.window.open_files([write_box_stl(tmp_path / "a.stl")])
    settle(qtbot, app.window)
    model = app.library.list_models()[0]
    app.window.open_files([write_box_stl(tmp_path / "b.stl", (1, 2, 3))], model_id=model.id)
    settle(qtbot, app.window)
    first = app.library.get_version(model.id, 1)
    app.library.blob_path(first.sha256).unlink()  # the stored file is lost
    shutil.rmtree(app.dirs.data / "cache", ignore_errors=True)
    messages: list[str] = []
    app.window.errors.reported.connect(messages.append)
    app.window.intake.view_version(first)
    settle(qtbot, app.window)
    assert len(messages) == 1
    assert messages[0].startswith("Couldn't open version 1:")
    assert "Something went wrong" not in messages[0]
