"""app/state/ is the explorer's state without Qt: a script or notebook can use it with no window, and
the Qt layer wraps it. Importing every module there must pull in no Qt."""

import pkgutil
from pathlib import Path

from qt_free import loaded_by_importing

import app.state

STATE = Path(app.state.__file__).resolve().parent
ROOT = STATE.parent.parent


def _state_modules() -> list[str]:
    return ["app.state"] + [module.name for module in pkgutil.walk_packages([str(STATE)], prefix="app.state.")]


def test_importing_every_state_module_loads_no_qt():
    modules = _state_modules()
    expected = {
        "app.state.model_in_use",
        "app.state.snapshot",
        "app.state.snapshot_maker",
        "app.state.palette",
        "app.state.sampling",
        "app.state.comparison",
    }
    assert expected <= set(modules)
    assert loaded_by_importing(modules, cwd=ROOT) == [], "app/state pulled in Qt"


def test_the_check_would_catch_a_qt_import():
    assert "PySide6" in loaded_by_importing(["app.theme"], cwd=ROOT)  # app/theme.py is the Qt side
