"""For the tests that keep a layer free of Qt: which Qt modules does importing some modules load?"""

from __future__ import annotations

import subprocess
import sys

QT_PACKAGES = ("PySide6", "PySide2", "PyQt5", "PyQt6", "pyqtgraph", "shiboken6", "shiboken2", "qtpy")


def loaded_by_importing(modules: list[str], packages: tuple[str, ...] = QT_PACKAGES, cwd=None) -> list[str]:
    """The modules of `packages` that a fresh Python has loaded after importing every one of `modules`."""
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"found = sorted(m for m in sys.modules if m.split('.')[0] in {packages!r})\n"
        "print('FOUND:' + ','.join(found))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=cwd)
    assert result.returncode == 0, result.stderr
    found = result.stdout.strip().splitlines()[-1].removeprefix("FOUND:")
    return found.split(",") if found else []
