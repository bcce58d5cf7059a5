"""The window, driven the way a designer drives it: drops, clicks, shortcuts, dialogs."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets
from pytestqt.qtbot import QtBot

from studio.library import Library
from studio.settings import Settings, load_settings
from tests.conftest import KilnDirs
from tests.scenes import box_part
from ui.main_window import MainWindow
from viewer.viewport import ViewMode

pytestmark = pytest.mark.gl

SETTLE_MS = 60_000


def write_box_stl(path: Path, size: tuple[float, float, float] = (10, 20, 30)) -> Path:
    return write_stl(path, box_part(size).triangles())


def write_stl(path: Path, triangles: np.ndarray) -> Path:
    records = np.zeros(len(triangles), dtype=[("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")])
    records["v"] = triangles
    with path.open("wb") as fh:
        fh.write(b"test".ljust(80, b" "))
        fh.write(struct.pack("<I", len(triangles)))
        records.tofile(fh)
    return path


def write_big_stl(path: Path, n_triangles: int) -> Path:
    """A flat field of tiny triangles: big enough that loading takes a noticeable time."""
    side = int(np.sqrt(n_triangles / 2))
    xs, ys = np.meshgrid(np.arange(side, dtype=np.float32), np.arange(side, dtype=np.float32))
    x, y = xs.ravel(), ys.ravel()
    z = np.sin(x / 7) * np.cos(y / 9)
    a, b = np.stack([x, y, z], 1), np.stack([x + 1, y, z], 1)
    c, d = np.stack([x + 1, y + 1, z], 1), np.stack([x, y + 1, z], 1)
    triangles = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
    return write_stl(path, triangles)


@dataclass
class Confirmations:
    """Stands in for the confirmation dialog: records questions, answers as told."""

    answer: bool = True
    questions: list[str] = field(default_factory=list)

    def __call__(self, title: str, question: str, accept_label: str) -> bool:
        self.questions.append(question)
        return self.answer


@dataclass
class App:
    window: MainWindow
    library: Library
    confirm: Confirmations
    dirs: KilnDirs


@pytest.fixture
def app(qtbot: QtBot, kiln_dirs: KilnDirs) -> Iterator[App]:
    library = Library.open(kiln_dirs.data)
    confirm = Confirmations()
    window = MainWindow(
        library, Settings(first_launch_done=True), config_dir=kiln_dirs.config, confirm=confirm
    )
    window.errors.interactive = False
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield App(window, library, confirm, kiln_dirs)
    window.close()
    library.close()


def settle(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.busy, timeout=SETTLE_MS)


def drop(widget: QtWidgets.QWidget, paths: list[Path]) -> None:
    """Deliver a real drag-enter + drop of local files to ``widget``."""
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(p)) for p in paths])
    pos = widget.rect().center()
    action = QtCore.Qt.DropAction.CopyAction
    button = QtCore.Qt.MouseButton.LeftButton
    modifiers = QtCore.Qt.KeyboardModifier.NoModifier
    enter = QtGui.QDragEnterEvent(pos, action, mime, button, modifiers)
    QtWidgets.QApplication.sendEvent(widget, enter)
    assert enter.isAccepted(), "the drop target refused the drag"
    event = QtGui.QDropEvent(QtCore.QPointF(pos), action, mime, button, modifiers)
    QtWidgets.QApplication.sendEvent(widget, event)


def test_dropping_files_on_the_viewport_imports_each_as_a_model(
    qtbot: QtBot, app: App, tmp_path: Path
) -> None:
    first = write_box_stl(tmp_path / "bracket.stl")
    second = write_box_stl(tmp_path / "hinge.stl", (5, 5, 5))
    with qtbot.waitSignal(app.window.busy_changed, timeout=SETTLE_MS):
        drop(app.window.viewport.plotter, [first, second])
    settle(qtbot, app.window)
    names = sorted(m.name for m in app.library.list_models())
    assert names == ["bracket", "hinge"]
    assert len(app.window.library_panel.model_ids()) == 2
    # The last file is on screen, measured, with its thumbnail stored.
    assert app.window.viewport.dimensions_text() == "5.00 × 5.00 × 5.00 mm"
    assert app.window.inspector.values["faces"].text() == "12"
    assert app.window.inspector.values["watertight"].text() == "Yes"
    model = next(m for m in app.library.list_models() if m.name == "hinge")
    assert model.thumbnail_sha is not None
    assert app.window.failures == []


def test_dropping_on_the_library_list_also_imports(qtbot: QtBot, app: App, tmp_path: Path) -> None:
    path = write_box_stl(tmp_path / "plate.stl")
    drop(app.window.library_panel.list.viewport(), [path])
    settle(qtbot, app.window)
    assert [m.name for m in app.library.list_models()] == ["plate"]


def test_dropping_on_the_versions_panel_adds_the_next_version(
    qtbot: QtBot, app: App, tmp_path: Path
) -> None:
    app.window.open_files([write_box_stl(tmp_path / "cup.stl")])
    settle(qtbot, app.window)
    model = app.library.list_models()[0]
    revised = write_box_stl(tmp_path / "cup-taller.stl", (10, 20, 45))
    drop(app.window.version_browser.list.viewport(), [revised])
    settle(qtbot, app.window)
    versions = app.library.versions(model.id)
    assert [v.number for v in versions] == [2, 1]
    assert app.library.get_model(model.id).active_version_number == 2
    assert len(app.library.list_models()) == 1
    assert [v.number for v in app.window.version_browser.versions_shown()] == [2, 1]
    assert app.window.viewport.dimensions_text() == "10.0 × 20.0 × 45.0 mm"


def test_set_active_rolls_back_and_shows_that_version(
    qtbot: QtBot, app: App, tmp_path: Path
) -> None:
    app.window.open_files([write_box_stl(tmp_path / "vase.stl")])
    settle(qtbot, app.window)
    model = app.library.list_models()[0]
    app.window.open_files([write_box_stl(tmp_path / "vase2.stl", (10, 20, 60))], model.id)
    settle(qtbot, app.window)
    browser = app.window.version_browser
    browser.select_number(1)
    assert browser.activate_button.isEnabled()
    qtbot.mouseClick(browser.activate_button, QtCore.Qt.MouseButton.LeftButton)
    settle(qtbot, app.window)
    assert app.library.get_model(model.id).active_version_number == 1
    shown = browser.versions_shown()
    assert [v.is_active for v in shown] == [False, True]
    assert app.window.viewport.dimensions_text() == "10.0 × 20.0 × 30.0 mm"
    assert app.window.inspector.title.text().endswith("v1")


def test_delete_guards(qtbot: QtBot, app: App, tmp_path: Path) -> None:
    app.window.open_files([write_box_stl(tmp_path / "knob.stl")])
    settle(qtbot, app.window)
    model = app.library.list_models()[0]
    browser = app.window.version_browser
    browser.select_number(1)
    # The only version: the dialog asks about the whole model; "Cancel" keeps it.
    app.confirm.answer = False
    qtbot.mouseClick(browser.delete_button, QtCore.Qt.MouseButton.LeftButton)
    assert "only this version" in app.confirm.questions[-1]
    assert "Delete the whole model" in app.confirm.questions[-1]
    assert app.library.list_models() != []
    # Two versions, deleting the active one: the dialog says which becomes active.
    app.window.open_files([write_box_stl(tmp_path / "knob2.stl", (3, 3, 3))], model.id)
    settle(qtbot, app.window)
    app.window.open_files([write_box_stl(tmp_path / "knob3.stl", (4, 4, 4))], model.id)
    settle(qtbot, app.window)
    app.window.version_browser.set_model(model.id)
    app.library.set_active_version(model.id, 3)
    browser.select_number(3)
    app.confirm.answer = True
    qtbot.mouseClick(browser.delete_button, QtCore.Qt.MouseButton.LeftButton)
    assert "Version 2 becomes the active one" in app.confirm.questions[-1]
    assert [v.number for v in app.library.versions(model.id)] == [2, 1]
    assert app.library.get_model(model.id).active_version_number == 2
    # Deleting the whole model when asked to.
    app.library.delete_version(model.id, 1)
    browser.select_number(2)
    qtbot.mouseClick(browser.delete_button, QtCore.Qt.MouseButton.LeftButton)
    assert app.library.list_models() == []
    assert app.window.library_panel.model_ids() == []
    assert browser.model_id is None


def test_a_bad_file_gives_one_plain_message_and_changes_nothing(
    qtbot: QtBot, app: App, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.stl"
    bad.write_bytes(b"this is not a model at all, just some text that ends abruptly")
    messages: list[str] = []
    app.window.errors.reported.connect(messages.append)
    drop(app.window, [bad])
    settle(qtbot, app.window)
    assert len(messages) == 1
    message = messages[0]
    assert "broken.stl" in message
    assert "Traceback" not in message
    assert "Error:" not in message
    assert app.library.list_models() == []
    blobs = app.dirs.data / "blobs"
    assert not blobs.exists() or not any(p.is_file() for p in blobs.rglob("*"))
    assert app.window.status_label.text() == message


def test_slow_loads_show_progress_keep_the_window_responsive_and_cancel(
    qtbot: QtBot, app: App, tmp_path: Path
) -> None:
    big = write_big_stl(tmp_path / "terrain.stl", 3_000_000)
    ticks: list[int] = []
    timer = QtCore.QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    fractions: list[float] = []
    app.window.open_files([big])
    job = app.window.status.job
    assert job is not None
    job.progress.connect(lambda fraction, _stage: fractions.append(fraction))
    qtbot.waitUntil(app.window.status.progress_bar.isVisible, timeout=SETTLE_MS)
    assert app.window.status.cancel_button.isVisible()
    settle(qtbot, app.window)
    timer.stop()
    # The GUI thread kept running its timer while the file loaded.
    assert len(ticks) > 10
    assert fractions
    assert fractions == sorted(fractions)
    assert not app.window.status.progress_bar.isVisible()
    assert [m.name for m in app.library.list_models()] == ["terrain"]
    # Once everything has settled, the big model gets its reduced-detail orbit proxy.
    qtbot.waitUntil(lambda: app.window.viewport.has_proxy, timeout=SETTLE_MS)
    # Cancelling while the file is measured and stored leaves the library as it was.
    app.window.open_files([write_big_stl(tmp_path / "terrain2.stl", 3_000_000)])
    qtbot.waitUntil(
        lambda: app.window.status_label.text().startswith("Adding terrain2.stl"),
        timeout=SETTLE_MS,
    )
    qtbot.waitUntil(app.window.status.cancel_button.isVisible, timeout=SETTLE_MS)
    qtbot.mouseClick(app.window.status.cancel_button, QtCore.Qt.MouseButton.LeftButton)
    settle(qtbot, app.window)
    assert app.window.errors.last_message == "Cancelled."
    assert [m.name for m in app.library.list_models()] == ["terrain"]


def test_shortcuts_switch_modes_and_views(qtbot: QtBot, app: App, tmp_path: Path) -> None:
    app.window.open_files([write_box_stl(tmp_path / "block.stl")])
    settle(qtbot, app.window)
    # Window shortcuts need the active window (no window manager under Xvfb to do it).
    app.window.activateWindow()
    qtbot.waitUntil(app.window.isActiveWindow)
    app.window.viewport.plotter.setFocus()
    qtbot.keyClick(
        app.window.viewport.plotter, QtCore.Qt.Key.Key_3, QtCore.Qt.KeyboardModifier.ControlModifier
    )
    assert app.window.viewport.mode is ViewMode.WIREFRAME
    assert app.window.settings.view.mode == "wireframe"
    qtbot.keyClick(app.window.viewport.plotter, QtCore.Qt.Key.Key_5)  # top view
    camera = app.window.viewport._camera()
    direction = np.subtract(camera.GetPosition(), camera.GetFocalPoint())
    assert abs(direction[2]) > 0.99 * np.linalg.norm(direction)
    qtbot.keyClick(app.window.viewport.plotter, QtCore.Qt.Key.Key_O)
    assert app.window.viewport.parallel_projection


def test_settings_and_layout_persist(qtbot: QtBot, kiln_dirs: KilnDirs) -> None:
    library = Library.open(kiln_dirs.data)
    try:
        window = MainWindow(library, Settings(first_launch_done=True), config_dir=kiln_dirs.config)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        window.set_view_mode(ViewMode.EDGES)
        window.set_unit("cm")
        window.prompt_panel.set_provider("tripo")
        window.prompt_panel.set_quality("ultra")
        window.window_actions.grid.trigger()
        window.right_bar.toggle("inspector")  # fold the inspector away
        window.resize(1100, 700)
        window.close()
        settings = load_settings(kiln_dirs.config)
        assert settings.view.mode == "edges"
        assert settings.view.unit == "cm"
        assert settings.view.show_grid is False
        again = MainWindow(library, settings, config_dir=kiln_dirs.config)
        qtbot.addWidget(again)
        again.show()
        qtbot.waitExposed(again)
        assert again.viewport.mode is ViewMode.EDGES
        assert again.prompt_panel.provider_name() == "tripo"
        assert again.prompt_panel.quality.currentData() == "ultra"
        assert again.window_actions.units["cm"].isChecked()
        assert again.right_bar.collapsed
        assert again.left_bar.current == "library"
        assert not again.window_actions.grid.isChecked()
        assert again.size() == QtCore.QSize(1100, 700)
        again.close()
    finally:
        library.close()


def test_export_writes_the_version(qtbot: QtBot, app: App, tmp_path: Path) -> None:
    app.window.open_files([write_box_stl(tmp_path / "gear.stl")])
    settle(qtbot, app.window)
    version = app.library.active_version(app.library.list_models()[0].id)
    out = tmp_path / "out" / "gear.glb"
    out.parent.mkdir()
    app.window.export_version(version, out)
    settle(qtbot, app.window)
    assert out.read_bytes()[:4] == b"glTF"
    assert "Exported gear.glb" in app.window.status_label.text()


def test_unexpected_errors_open_the_crash_dialog(qtbot: QtBot, app: App) -> None:
    app.window.errors.interactive = True
    seen: list[QtWidgets.QWidget] = []

    def close_dialog() -> None:
        dialog = QtWidgets.QApplication.activeModalWidget()
        if dialog is not None:
            seen.append(dialog)
            dialog.close()

    QtCore.QTimer.singleShot(200, close_dialog)
    try:
        raise RuntimeError("a bug")
    except RuntimeError as exc:
        app.window.errors.report(exc)
    assert seen
    assert seen[0].objectName() == "crashDialog"
    details = seen[0].findChild(QtWidgets.QPlainTextEdit, "crashDetails")
    assert "RuntimeError: a bug" in details.toPlainText()
    assert app.window.errors.last_message == "Something went wrong inside Kiln Studio."


def test_first_launch_shows_the_sample(qtbot: QtBot, kiln_dirs: KilnDirs) -> None:
    library = Library.open(kiln_dirs.data)
    try:
        window = MainWindow(library, Settings(), config_dir=kiln_dirs.config)
        window.errors.interactive = False
        qtbot.addWidget(window)
        window.show()
        window.show_first_launch_sample()
        settle(qtbot, window)
        models = library.list_models()
        assert [m.name for m in models] == ["kiln-vase"]
        assert window.viewport.prepared is not None
        assert window.settings.first_launch_done
        window.close()
    finally:
        library.close()


def test_inspector_converts_a_declared_unit(qtbot: QtBot) -> None:
    from ui.inspector import Inspector

    inspector = Inspector()
    qtbot.addWidget(inspector)
    stats = {
        "format": "3mf",
        "file_size": 1000,
        "vertices": 8,
        "faces": 12,
        "parts": 1,
        "bounds": [[0, 0, 0], [1, 2, 3]],
        "dimensions": [1.0, 2.0, 3.0],
        "area": 22.0,
        "volume": 6.0,
        "watertight": True,
        "winding_consistent": True,
        "degenerate_faces": 0,
        "duplicate_faces": 0,
        "bodies": 1,
        "unit": "inch",
    }
    inspector.show_stats("box", stats, can_repair=True)
    assert inspector.values["dimensions"].text() == "25.40 × 50.80 × 76.20 mm"
    assert inspector.values["volume"].text() == "98,322.38 mm³"
    inspector.set_unit("in")
    assert inspector.values["dimensions"].text() == "1.00 × 2.00 × 3.00 in"
    assert "No problems" in inspector.warnings.text()
    assert not inspector.repair_button.isEnabled()


def test_preferences_change_the_limits_a_file_meets(qtbot: QtBot, app: App, tmp_path: Path) -> None:
    from ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(app.window.settings, app.window)
    qtbot.addWidget(dialog)
    dialog.max_triangles.setValue(1)
    dialog.max_file_size.setValue(1)
    dialog.apply()
    assert app.window.limits.max_triangles == 1_000_000
    assert app.window.limits.max_file_size == 1024**2
    big = write_big_stl(tmp_path / "field.stl", 1_200_000)
    app.window.open_files([big])
    settle(qtbot, app.window)
    assert "limit" in app.window.errors.last_message
    assert "Settings" in app.window.errors.last_message
    assert app.library.list_models() == []


def test_inspector_shows_the_import_notes(qtbot: QtBot) -> None:
    from ui.inspector import Inspector

    inspector = Inspector()
    qtbot.addWidget(inspector)
    stats = {
        "format": "glb",
        "file_size": 1000,
        "vertices": 8,
        "faces": 12,
        "parts": 1,
        "bounds": [[0, 0, 0], [1, 1, 1]],
        "dimensions": [1.0, 1.0, 1.0],
        "area": 6.0,
        "volume": 1.0,
        "watertight": True,
        "winding_consistent": True,
        "degenerate_faces": 0,
        "duplicate_faces": 0,
        "bodies": 1,
        "unit": "meter",
        "notes": ["The texture “paint” was scaled down.", "The file uses glTF features."],
    }
    inspector.show_stats("box", stats, can_repair=True)
    assert inspector.notes.text() == (
        "ⓘ The texture “paint” was scaled down.\nⓘ The file uses glTF features."
    )
    assert "No problems" in inspector.warnings.text()
    inspector.show_stats("older version", {k: v for k, v in stats.items() if k != "notes"},
                         can_repair=True)  # fmt: skip
    assert inspector.notes.text() == ""
    inspector.clear()
    assert inspector.notes.text() == ""


def test_a_dropped_file_shows_what_its_load_changed(qtbot: QtBot, app: App, tmp_path: Path) -> None:
    from tests.gltf_files import GltfFile, cube

    v, faces = cube()
    f = GltfFile()
    f.use_extension("KHR_materials_sheen")
    mesh = f.mesh(f.primitive(v, faces), name="cushion")
    f.scene(*[f.node(mesh, translation=[2.0 * i, 0, 0]) for i in range(40)])
    path = f.write(tmp_path / "cushions.glb")
    with qtbot.waitSignal(app.window.busy_changed, timeout=SETTLE_MS):
        drop(app.window.viewport.plotter, [path])
    settle(qtbot, app.window)
    assert app.window.failures == []
    text = app.window.inspector.notes.text()
    assert "KHR_materials_sheen" in text
    assert "placed 40 times" in text
    assert app.window.inspector.notes.isVisibleTo(app.window.inspector)
    (version,) = app.library.versions(app.library.list_models()[0].id)
    assert any("KHR_materials_sheen" in n for n in version.stats["notes"])
