"""The layers of Attention Lab, checked by reading every module's imports with `ast` (nothing is imported).

Lower layers never import higher ones, and no module imports itself round a loop. Every import counts: at
the top of a file, inside a function (a lazy import) and under `if TYPE_CHECKING:`.

    layer (bottom first)              may import from the project
    core.speed                        nothing else in core
    core.files.json_values            nothing in core (a leaf helper the model's config and tokenizers share)
    core.model                        core.model, core.files.json_values
    core.files.text_files             core.model (its size limits) -- read by tokenizers and corpora
    core.tokenizers                   core.tokenizers, core.files.json_values, core.files.text_files
    core.explain                      core.explain, core.model
    core.files                        the rows above and core.files; not training or teaching (but see KNOWN)
    core.training                     the rows above, core.files and core.training; not teaching (see KNOWN)
    core.teaching                     anything in core
    core (all of it)                  never app, PySide6 or pyqtgraph
    app.state                         core and app.state only; never Qt
    app base: controller, selection,  app.state and core; never views, dialogs, lessons, studio, the window
      settings, theme, error_display,
      crash, screenshot, model_loader
    app.views                         the app base; never dialogs, lessons, studio, the window or main
    app.dialogs                       views and the base; never lessons, studio, the window or main
    app.lessons, app.studio           views, dialogs and the base (lessons may name the studio); never the
                                      window or main: they are handed contexts (app/lessons/context.py)
    app.window*, model_opening,       everything below; never main
      panel_dock
    app.main, app.__main__            everything
"""

from __future__ import annotations

import ast
from fnmatch import fnmatchcase
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "app")

APP_BASE = (
    "app.controller",
    "app.selection",
    "app.settings",
    "app.theme",
    "app.error_display",
    "app.crash",
    "app.screenshot",
    "app.model_loader",
)
WINDOW = ("app.window*", "app.model_opening", "app.panel_dock")
MAIN = ("app.main", "app.__main__")
QT = ("PySide6", "pyqtgraph")

# (who, "only" or "never", which): a module matching `who` imports only / never modules matching `which`.
# A pattern names a module and everything under it; `*` works as in fnmatch ("app.window*").
RULES = (
    ("core", "never", ("app",) + QT),
    ("core.speed", "only", ("core.speed",)),
    ("core.files.json_values", "only", ()),
    ("core.model", "only", ("core.model", "core.files.json_values")),
    ("core.files.text_files", "only", ("core.model",)),
    ("core.tokenizers", "only", ("core.tokenizers", "core.files.json_values", "core.files.text_files")),
    ("core.explain", "only", ("core.explain", "core.model")),
    ("core.files", "never", ("core.training", "core.teaching")),
    ("core.training", "never", ("core.teaching",)),
    ("app.state", "only", ("core", "app.state")),
    ("app.state", "never", QT),
    (APP_BASE, "never", ("app.views", "app.dialogs", "app.lessons", "app.studio") + WINDOW + MAIN),
    ("app.views", "never", ("app.dialogs", "app.lessons", "app.studio") + WINDOW + MAIN),
    ("app.dialogs", "never", ("app.lessons", "app.studio") + WINDOW + MAIN),
    (("app.lessons", "app.studio"), "never", WINDOW + MAIN),
    ("app.studio", "never", ("app.lessons",)),
    (WINDOW, "never", MAIN),
)

# Imports that break a rule above today, each with why it is there. Do not add to this list: move the
# function to the lower module or pass a callable in. A rule that holds again fails the test until its
# line here is removed.
KNOWN = {
    # A checkpoint holds a training run: its TrainConfig and the optimizer state the trainer checks.
    ("core.files.checkpoint", "core.training.trainer"),
    ("core.files.checkpoint_meta", "core.training.train_config"),
    # The induction detector's probe (repeated random tokens) is drawn for shipped models and new runs.
    ("core.files.shipped_models", "core.teaching.detectors"),
    ("core.training.recipe", "core.teaching.detectors"),
}


def module_files() -> dict[str, Path]:
    """{"core.model.trace": path, "core.model": path of its __init__.py, ...} for every module of ours."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imported_names(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The dotted names one import statement reaches: `from . import x` in core/model/config.py gives
    core.model.x; `from core.model import trace` gives core.model.trace."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level == 0:
        base = node.module or ""
    else:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([node.module] if node.module else []))
    return [f"{base}.{alias.name}" for alias in node.names] + [base]


def nearest_module(name: str, modules: dict[str, Path]) -> str:
    """The module a dotted name lives in (core.model.trace.Trace -> core.model.trace); a name from outside
    the project keeps its top-level package (PySide6.QtCore -> PySide6)."""
    while name and name not in modules:
        if "." not in name:
            return name
        name = name.rpartition(".")[0]
    return name


def import_graph() -> dict[str, set[str]]:
    """{module: the modules it imports}: ours by full name, others by their top-level package."""
    modules = module_files()
    graph = {}
    for module, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = imported_names(module, path, node)
                if isinstance(node, ast.ImportFrom):  # `from x import name`: the submodule x.name if it is one
                    names = [n for n in names[:-1] if n in modules] or names[-1:]
                targets |= {nearest_module(name, modules) for name in names}
        graph[module] = targets - {module, ""}
    return graph


def matches(module: str, patterns) -> bool:
    patterns = (patterns,) if isinstance(patterns, str) else patterns
    return any(fnmatchcase(module, p) or fnmatchcase(module, p + ".*") for p in patterns)


def forbidden_imports(graph: dict[str, set[str]]) -> dict[tuple[str, str], str]:
    """{(module, what it imports): the first rule it breaks} for every import a rule forbids."""
    ours = set(graph)
    forbidden = {}
    for who, kind, which in RULES:
        for module, targets in sorted(graph.items()):
            if not matches(module, who):
                continue
            for target in sorted(targets):
                if kind == "never" and matches(target, which):
                    forbidden.setdefault((module, target), f"never {', '.join(which)}")
                if kind == "only" and target in ours and not matches(target, which):
                    forbidden.setdefault((module, target), f"only {', '.join(which) or 'nothing of ours'}")
    return forbidden


def broken_rules(graph: dict[str, set[str]], known=frozenset()) -> list[str]:
    """One line per forbidden import that is not in `known`."""
    return [
        f"{module} imports {target} ({rule})"
        for (module, target), rule in forbidden_imports(graph).items()
        if (module, target) not in known
    ]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import loops: strongly connected groups of more than one module (Tarjan's algorithm)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph.get(module, ()):
            if target not in graph:
                continue
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_the_graph_reads_every_kind_of_import():
    """The reader is not blind: relative, absolute, package and lazy imports all show up."""
    graph = import_graph()
    assert len(graph) > 150
    assert "core.model.trace" in graph["core.explain.logit_lens"]  # from core.model.trace import ...
    assert "app.state.model_in_use" in graph["app.controller"]  # from .state.model_in_use import ...
    assert "app.studio.studio_panel" in graph["app.studio"]  # a lazy import inside a function
    assert "PySide6" in graph["app.window"] and "torch" in graph["core.model.model"]


def test_no_module_imports_from_a_higher_layer():
    broken = broken_rules(import_graph(), KNOWN)
    assert not broken, "\n".join(broken)


def test_every_known_exception_is_still_needed():
    assert not KNOWN - set(forbidden_imports(import_graph())), "remove these from KNOWN: they hold again"


def test_no_import_cycle():
    loops = cycles(import_graph())
    assert not loops, "\n".join(" <-> ".join(loop) for loop in loops)


def test_the_checks_can_fail():
    """A made-up graph with a loop and a core module reaching into the app is caught."""
    graph = {
        "core.model.model": {"app.window"},
        "app.window": {"app.views.panel"},
        "app.views.panel": {"app.window", "PySide6"},
    }
    assert cycles(graph) == [["app.views.panel", "app.window"]]
    assert "core.model.model imports app.window (never app, PySide6, pyqtgraph)" in broken_rules(graph)
    assert any(line.startswith("app.views.panel imports app.window") for line in broken_rules(graph))


def test_each_package_says_its_job_and_names_every_file():
    """Each package's __init__.py docstring names each of its files ("trace.py", "pretrained/") beside its job."""
    unnamed = []
    for init in sorted(ROOT.glob("core/**/__init__.py")) + sorted(ROOT.glob("app/**/__init__.py")):
        text = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        parts = [
            p.name if p.suffix == ".py" else p.name + "/"
            for p in init.parent.iterdir()
            if (p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").exists()
        ]
        unnamed += [f"{init.parent.relative_to(ROOT)}/{name}" for name in sorted(parts) if name not in text]
    assert not unnamed, "name these in their package's __init__.py docstring: " + ", ".join(unnamed)


def test_no_file_over_400_lines():
    """Small files with one clear job: none in core/ or app/ grows past 400 lines."""
    long = [
        f"{path.relative_to(ROOT)} ({n} lines)"
        for path in module_files().values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400
    ]
    assert not long, "split these: " + ", ".join(long)
