"""The window only docks and routes: every panel is a Panel, the studio is built only when asked for,
and each part the window hands work to does that work."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

import app
from app.state.sampling import SamplingSettings
from app.views.panel import Panel

APP = Path(app.__file__).resolve().parent
LONGEST_FILE = 400  # lines


def test_every_docked_panel_implements_the_panel_protocol(shared_window):
    window = shared_window
    for panel in list(window.panels):
        built = window.built_panel(panel.widget.objectName())
        assert isinstance(built, Panel), type(built).__name__
        assert built.objectName() == built.OBJECT_NAME and built.TITLE and built.TOOLTIP
        assert isinstance(built.FOLLOWS_SELECTION, bool)


def test_the_window_asks_its_panels_nothing_by_hasattr():
    tree = ast.parse((APP / "window.py").read_text(encoding="utf-8"))
    probes = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("hasattr", "getattr")
    ]
    assert probes == []


def test_reading_the_studio_does_not_build_it(qtbot, session_factory, tmp_path):
    from app.settings import AppSettings
    from app.studio import STUDIO_NAME
    from app.window import MainWindow

    window = MainWindow(
        settings=AppSettings(tmp_path / "s.ini"), session=session_factory(), prompt="", remember_layout=False
    )
    qtbot.addWidget(window)
    assert window.studio is None  # only looked at: still waiting behind its tab
    assert not any(p.built for p in window.panels if p.widget.objectName() == STUDIO_NAME)
    studio = window.ensure_studio()
    assert window.studio is studio and studio.objectName() == STUDIO_NAME
    assert not hasattr(window, "studio_guard") and not hasattr(window, "studio_drops")  # nothing pinned on it
    window.close()


def test_sampling_settings_go_to_the_panel_and_come_back(shared_window):
    output = shared_window.output_view
    before = output.sampling_settings()
    chosen = SamplingSettings(temperature=0.7, top_k=5, top_p=0.9, greedy=True, generate_count=33)
    output.set_sampling_settings(chosen)
    assert output.sampling_settings() == chosen
    assert (output.temperature, output.top_k, output.top_p) == (0.7, 5, 0.9)
    output.set_sampling_settings(before)


def test_sampling_settings_are_stored_between_runs(tmp_path):
    from app.settings import AppSettings

    chosen = SamplingSettings(temperature=1.5, top_k=7, top_p=0.5, greedy=True, generate_count=9)
    AppSettings(tmp_path / "s.ini").set_sampling(chosen)
    assert AppSettings(tmp_path / "s.ini").sampling() == chosen
    assert AppSettings(tmp_path / "other.ini").sampling() == SamplingSettings()  # nothing stored: the defaults


def test_errors_go_to_the_status_bar_and_one_reused_box(shared_window):
    window = shared_window
    window.errors.show_error("Could not open the checkpoint", "meta.json is damaged.\n\nMore detail.")
    window.errors.show_error("Could not save the picture", "x.png could not be written.")
    boxes = window.findChildren(QMessageBox, "errorBox")
    assert len(boxes) == 1 and boxes[0].windowTitle() == "Could not save the picture"
    assert window.statusBar().currentMessage() == "Could not save the picture: x.png could not be written."
    boxes[0].close()


def test_no_file_in_the_window_layer_is_longer_than_the_limit():
    mine = [
        "window.py",
        "window_menus.py",
        "window_layout.py",
        "model_opening.py",
        "error_display.py",
        "panel_dock.py",
        "controller.py",
        "screenshot.py",
        "settings.py",
    ]
    lengths = {name: len((APP / name).read_text(encoding="utf-8").splitlines()) for name in mine}
    lengths |= {
        f"state/{path.name}": len(path.read_text(encoding="utf-8").splitlines())
        for path in (APP / "state").glob("*.py")
    }
    assert max(lengths.values()) <= LONGEST_FILE, lengths


def test_a_class_file_builds_the_studio_only_when_it_carries_training(qtbot, session_factory, tmp_path):
    from app.settings import AppSettings
    from app.window import MainWindow
    from core.files.class_file import load_class_file, save_class_file

    window = MainWindow(
        settings=AppSettings(tmp_path / "s.ini"), session=session_factory(), prompt="abc", remember_layout=False
    )
    qtbot.addWidget(window)
    plain = window.classroom.save_class_file(tmp_path / "plain")
    assert window.studio is None  # saving looked for a run without building the studio
    assert load_class_file(plain).losses is None
    window.classroom.open_class_file(plain)
    assert window.studio is None  # nothing to show in it: still not built

    trained = dataclasses.replace(load_class_file(plain), losses={"train": [[1, 3.5], [2, 3.0]], "val": []})
    save_class_file(tmp_path / "trained.attnlab", trained)
    window.classroom.open_class_file(tmp_path / "trained.attnlab")
    assert window.studio is not None and window.studio.training_losses()["train"] == [[1, 3.5], [2, 3.0]]
    window.close()
