"""The Compare bar in the explorer window: a second prompt every panel can show, remembered between runs.

The bar sits in the toolbar row beside the layer/head selector (a row of its own would take a short
screen's Next token rows). The controller holds the one Comparison
(app/state/comparison.py) that the bar, the patching panel and the worker read; each change is remembered
in the settings, and every dock's title says which prompt its panel shows ("Attention — difference …").
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QToolBar

from .settings import AppSettings
from .state.comparison import CLEAN, MODES, Comparison, mode_title
from .views.compare_bar import CompareBar

TITLE_PROPERTY = "titleBeforeComparing"  # a dock's own title, kept on the dock while its title names a mode
# Panels that do not draw the snapshot's prompt: the lesson, the training studio, patching (always both prompts)
NOT_COMPARED = ("lessonPane", "trainingStudio", "patchingView")


def remembered_comparison(settings: AppSettings) -> Comparison:
    """The second prompt and switch as the user left them (a damaged value: the default)."""
    mode = settings.value("compare/mode", CLEAN, str)
    fix = settings.value("compare/fix", "", str)
    return Comparison(
        settings.value("compare/corrupted_prompt", "", str),
        mode if mode in MODES else CLEAN,
        fix if fix in ("pad", "cut") else "",
    )


def remember_comparison(settings: AppSettings, comparison: Comparison) -> None:
    settings.set_value("compare/corrupted_prompt", comparison.corrupted_prompt)
    settings.set_value("compare/mode", comparison.mode)
    settings.set_value("compare/fix", comparison.fix)


def add_compare_bar(window: QMainWindow) -> CompareBar:
    """`window`: the explorer's MainWindow (app/window.py imports this module, so it is not named here)."""
    bar = CompareBar()
    toolbar = QToolBar("Compare two prompts", objectName="compareToolbar")
    toolbar.setMovable(False)
    toolbar.addWidget(bar)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
    controller = window.controller
    comparison = remembered_comparison(window.settings)
    bar.set_comparison(comparison)
    controller.set_comparison(comparison)
    bar.comparison_changed.connect(controller.set_comparison)
    controller.comparison_changed.connect(bar.set_comparison)  # changed elsewhere, e.g. the patching panel
    controller.comparison_changed.connect(lambda changed: remember_comparison(window.settings, changed))
    window.drawn.connect(bar.show_snapshot)
    window.drawn.connect(lambda snapshot: title_docks(window, snapshot.mode))
    return bar


def title_docks(window: QMainWindow, mode: str) -> None:
    """Every dock's title names the prompt its panel shows (its own title alone for the clean one)."""
    for panel in window.panels:
        if panel.widget.objectName() in NOT_COMPARED:
            continue
        dock = panel.dock
        own = dock.property(TITLE_PROPERTY)
        if own is None:
            own = dock.windowTitle()
            dock.setProperty(TITLE_PROPERTY, own)
        title = mode_title(own, mode)
        if dock.windowTitle() != title:
            dock.setWindowTitle(title)
