"""app/state/ is the explorer's state without Qt: a script or notebook can use it with no window, and
the Qt layer wraps it. Importing every module there must pull in no Qt (nor any Qt view of app/)."""
import pkgutil
import subprocess
import sys
from pathlib import Path

import app.state

STATE = Path(app.state.__file__).resolve().parent
FORBIDDEN = ("PySide6", "PySide2", "PyQt5", "PyQt6", "pyqtgraph", "shiboken6", "shiboken2", "qtpy")


def _state_modules() -> list[str]:
    return ["app.state"] + [module.name for module in pkgutil.walk_packages([str(STATE)], prefix="app.state.")]


def test_importing_every_state_module_loads_no_qt():
    modules = _state_modules()
    expected = {"app.state.model_in_use", "app.state.snapshot", "app.state.snapshot_maker", "app.state.palette"}
    assert expected <= set(modules)
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"qt = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print('QT:' + ','.join(qt))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            cwd=STATE.parent.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "QT:", f"app/state pulled in Qt: {result.stdout}"


def test_the_check_would_catch_a_qt_import():
    script = "import app.theme, sys\nprint('PySide6' in sys.modules)\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            cwd=STATE.parent.parent)
    assert result.stdout.strip() == "True"  # app/theme.py is the Qt side: the same probe sees it
