"""A settings file edited by hand or damaged: every value the window cannot use is its default, and the
window opens (it used to stop at a temperature of nan, a top-k past 2**31 or a number where a list belongs)."""

from __future__ import annotations

import pytest

from app.settings import AppSettings
from app.views import plot_style
from app.window import MainWindow

# What a damaged .ini can hold: text where numbers belong, numbers no knob can show, a number for a list.
DAMAGED_INI = """[sampling]
temperature=nan
top_k=99999999999999999999
top_p=inf
greedy=perhaps
generate_count=-3

[view]
zoom=nan
dark_theme=@Invalid()

[window]
geometry=not a layout
state=12

[files]
recent=42
"""


def test_a_value_that_does_not_fit_its_type_or_range_is_the_default(tmp_path):
    settings = AppSettings(tmp_path / "s.ini")
    for key, stored in {"a": "nan", "b": "-inf", "c": "1e400", "d": "hot", "e": [1, 2], "f": "7", "g": "0.25"}.items():
        settings.set_value(key, stored)
    assert [settings.value(key, 1.5) for key in "abcde"] == [1.5] * 5
    assert settings.value("f", 0) == 7 and settings.value("f", 0, lowest=0, highest=6) == 0
    assert settings.value("g", 1.0, lowest=0.05, highest=3.0) == 0.25
    assert settings.value("g", 1.0, lowest=0.5) == 1.0
    assert settings.value("missing", 3) == 3


def test_recent_models_survive_a_number_or_junk_where_the_list_belongs(tmp_path):
    settings = AppSettings(tmp_path / "s.ini")
    settings.set_value("files/recent", 42)
    assert settings.recent_items() == []
    settings.set_value("files/recent", ["checkpoint|/models/a", "no bar here", "|", 7])
    assert [(item.kind, item.path) for item in settings.recent_items()] == [("checkpoint", "/models/a")]


@pytest.fixture
def normal_zoom(monkeypatch):
    """The plot zoom is the whole application's: put it back after the test."""
    monkeypatch.setattr(plot_style, "_zoom", plot_style.zoom())


def test_the_window_opens_with_defaults_from_a_damaged_settings_file(qtbot, tmp_path, session, normal_zoom):
    path = tmp_path / "damaged.ini"
    path.write_text(DAMAGED_INI, encoding="utf-8")
    window = MainWindow(settings=AppSettings(path), session=session, prompt="abc")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.snapshot is not None and not window.controller.busy, timeout=10_000)
    output = window.output_view
    assert output.temperature == 1.0 and output.top_k is None and output.top_p == 1.0
    assert not output.greedy_check.isChecked() and output.generate_count.value() == 20
    assert window.zoom == 1.0 and window.dark is False
    assert window.settings.recent_items() == []
    window.models.fill_recent_menu(window.recent_menu)
    assert [action.text() for action in window.recent_menu.actions()][0] == "No recent models"
    assert window.snapshot.n_tokens == 3  # and it draws
    window.close()


def test_good_stored_knobs_still_come_back(qtbot, tmp_path, session, normal_zoom):
    path = tmp_path / "good.ini"
    path.write_text(
        "[sampling]\ntemperature=0.6\ntop_k=5\ntop_p=0.9\ngreedy=true\ngenerate_count=40\n", encoding="utf-8"
    )
    window = MainWindow(settings=AppSettings(path), session=session, prompt="")
    qtbot.addWidget(window)
    output = window.output_view
    assert (output.temperature, output.top_k, output.top_p) == (0.6, 5, 0.9)
    assert output.greedy_check.isChecked() and output.generate_count.value() == 40
    window.close()
