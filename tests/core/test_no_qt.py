"""core/ never imports Qt: a student can use it from a plain Python shell, and app/ depends on it, not back."""

import ast
import pkgutil
from pathlib import Path

from qt_free import loaded_by_importing

import core

CORE = Path(core.__file__).resolve().parent
FORBIDDEN = ("PySide6", "PySide2", "PyQt5", "PyQt6", "pyqtgraph", "shiboken6", "shiboken2", "qtpy", "app")


def _core_modules() -> list[str]:
    names = ["core"]
    for module in pkgutil.walk_packages([str(CORE)], prefix="core."):
        names.append(module.name)
    return names


def test_importing_every_core_module_loads_no_qt():
    modules = _core_modules()
    assert "core.model.model" in modules and "core.model.trace" in modules and "core.__main__" in modules
    assert loaded_by_importing(modules, FORBIDDEN) == [], "core pulled in Qt or the app"


def _imported_roots(source: str) -> set[str]:
    """Top-level package of every import statement, wherever it sits (inside functions too)."""
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            roots.add(str(node.args[0].value).split(".")[0])
    return roots


def test_no_core_source_file_imports_qt_or_the_app():
    offenders = {}
    for path in sorted(CORE.rglob("*.py")):
        bad = _imported_roots(path.read_text(encoding="utf-8")) & set(FORBIDDEN)
        if bad:
            offenders[str(path.relative_to(CORE.parent))] = sorted(bad)
    assert offenders == {}, f"core must not import Qt or app: {offenders}"


def test_the_scan_would_catch_a_qt_import():
    assert "PySide6" in _imported_roots("def f():\n    from PySide6.QtCore import QObject\n")
    assert "pyqtgraph" in _imported_roots("import pyqtgraph as pg\n")
    assert "shiboken6" in _imported_roots("import importlib\nimportlib.import_module('shiboken6')\n")
    assert "app" in _imported_roots("from app.state.snapshot import Snapshot\n")
    assert not _imported_roots("from .trace import Trace\nimport torch\n") & set(FORBIDDEN)
