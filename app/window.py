"""The explorer window: every panel in a dock, one controller feeding them all.

    window = MainWindow()                      # opens on the default model with a sample prompt
    window.add_panel(widget, "Training", Qt.DockWidgetArea.BottomDockWidgetArea)

A panel implements the Panel protocol (app/views/panel.py): it is redrawn with show_snapshot(snapshot) from
every new snapshot while it is visible (a hidden one catches up when shown), and recoloured with set_theme(dark).
A big panel behind a tab can be added with `add_lazy_panel(build, name, ...)`: built the first time it comes on
screen (or `built_panel(name)` asks for it), so opening the window never waits for it. The window docks panels
and routes between them. The menus are app/window_menus.py, the default arrangement app/window_layout.py,
opening and saving models app/model_opening.py, error messages app/error_display.py.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow, QWidget

from . import window_layout
from .panel_dock import DockedPanel, PanelDock, front_tab
from .controller import Controller
from .error_display import ERROR_SHOWN_MS, ErrorDisplay
from .lessons.classroom import Classroom
from .model_opening import ModelOpener
from .selection import Selection
from .settings import AppSettings
from .state.model_in_use import ModelInUse, default_model, sample_prompts
from .state.snapshot import Snapshot
from .studio import STUDIO_NAME, add_training_studio
from .theme import apply_theme
from .views.explain_panels import add_explain_panels
from .views import plot_style
from .views.export import credited_image, set_model_credit
from .views.modified_badge import ModifiedBadge
from .views.output_view import OutputView
from .views.panel import Panel
from .views.prompt_view import PromptView
from .views.view_base import settle_plots
from .views.selection_toolbar import SelectionToolbar
from .views.whatif_view import WhatIfView
from .window_layout import EXPLORER_PANELS, RIGHT, explorer_docks, fitted_size, optional_view
from .window_classroom import classroom_context
from .window_compare import add_compare_bar
from .window_menus import build_menus

DEFAULT_SIZE = QSize(1600, 1000)
LAYOUT_VERSION = 1            # bump when the default arrangement changes, so old saved layouts are ignored

# The views helper's panels: (module, class, objectName, built at start). Imported by name so a missing
# one only drops its panel; the two that start behind the Q/K/V tab are built when first shown.
MODEL_VIEWS = (
    ("app.views.embedding_view", "EmbeddingView", "embeddingView", False),
    ("app.views.positional_view", "PositionalView", "positionalView", False),
    ("app.views.qkv_view", "QKVView", "qkvView", True),
    ("app.views.attention_view", "AttentionView", "attentionView", True),
)


class MainWindow(QMainWindow):
    drawn = Signal(object)  # Snapshot: every visible panel has been redrawn from it
    model_loaded = Signal(object)  # ModelInUse: a model opened in the background is now shown
    load_failed = Signal(str)      # the sentence shown when opening a model failed (the previous one stays)
    _snapshot_due = False  # True while a new model is being shown: its first snapshot is on its way

    def __init__(self, settings: AppSettings | None = None, session: ModelInUse | None = None,
                 prompt: str | None = None, remember_layout: bool = True, size: QSize | None = None) -> None:
        """`session`: the model to show (None: the default one). `size`: the window's size at first;
        None: DEFAULT_SIZE, shrunk to fit the screen it opens on."""
        super().__init__()
        self._opening_size = size or fitted_size(DEFAULT_SIZE, QApplication.primaryScreen())
        self.setObjectName("mainWindow")
        self.setWindowTitle("Attention Lab")
        self.setDockNestingEnabled(True)
        self.settings = settings or AppSettings()
        notice = ""
        if session is None:
            session, notice = default_model()
        self.selection = Selection(session.config.n_layers, session.config.n_heads)
        self.controller = Controller(session, self)
        first_prompt = sample_prompts()[0] if prompt is None else prompt
        self.controller.set_prompt(first_prompt)  # traced on the worker thread while the panels are built
        self.panels: list[DockedPanel] = []
        self.menus: dict = {}  # by title; filled by build_menus once the panels are docked
        self.dark = self.settings.dark_theme
        apply_theme(QApplication.instance(), self.dark)  # first: each panel takes its colours as it is added
        self.errors = ErrorDisplay(self)
        self.models = ModelOpener(self.controller, self.settings, self.errors, self.set_session, self)
        self.models.model_loaded.connect(self.model_loaded)
        self.models.load_failed.connect(self.load_failed)

        self._build_status_bar()
        self.selection_toolbar = SelectionToolbar(self.selection)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.selection_toolbar)
        self.layer_selector, self.head_selector = self.selection_toolbar.selectors()
        self._build_panels()
        self.menus = build_menus(self)
        self._connect()
        self.compare_bar = add_compare_bar(self)  # a second prompt: panels show clean, corrupted or the difference
        self.classroom = Classroom(classroom_context(self))  # lesson pane, presenter mode (F5), hand-outs, class files
        add_training_studio(self)  # training studio: step through training, watch heads form (built when shown)
        add_explain_panels(self)  # logit lens, attribution, patching, neurons, KV cache: tabs, built when shown
        self._show_session(session)
        self.resize(self._opening_size)
        self.remember_layout = remember_layout  # False: neither read nor write the saved layout
        # Default dock sizes are applied once the window is on screen (Qt ignores them before).
        self._sizes_pending = not (remember_layout and self._restore_layout())
        self._tick_dark_action()
        self.output_view.set_sampling_settings(self.settings.sampling(self.output_view.sampling_ranges()))  # as left
        if self.settings.value("view/zoom", 1.0) != 1.0:  # the zoom the user left (at 1.0 nothing to redo)
            self.set_zoom(self.settings.value("view/zoom", 1.0), announce=False)
        if notice:
            self.statusBar().showMessage(notice, ERROR_SHOWN_MS)
        self.prompt_view.set_text(first_prompt)  # the same prompt again: the worker reuses its trace
        self.prompt_view.forget_undo()  # Undo starts from the opening prompt
        self.focus_prompt()

    # -- building ------------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        self.model_label = QLabel(objectName="modelStatus")
        self.load_progress = self.models.progress  # shown while a model is being opened
        self.modified_badge = ModifiedBadge("modifiedBadge")  # a what-if is changing what every panel shows
        self.modified_badge.reset_requested.connect(self.reset_everything)
        for widget in (self.modified_badge, self.load_progress, self.model_label):
            self.statusBar().addPermanentWidget(widget)

    def _build_panels(self) -> None:
        self.prompt_view = PromptView(self.selection)
        self.output_view = OutputView(self.selection)
        self.whatif_view = WhatIfView(self.selection)
        for widget in (self.prompt_view, self.output_view, self.whatif_view):
            self.add_panel(widget)
        for module_name, class_name, name, at_start in MODEL_VIEWS:
            view_class = optional_view(module_name, class_name)
            if view_class is None:
                continue
            if at_start:
                self.add_panel(view_class(self.selection))
            else:
                self.add_lazy_panel(lambda view_class=view_class: view_class(self.selection), name,
                                    view_class.TITLE, view_class.TOOLTIP)
        self._arrange_explorer_panels()

    def add_panel(self, widget: Panel, title: str | None = None, area: Qt.DockWidgetArea = RIGHT,
                  tooltip: str | None = None, tab_with: str | None = None) -> QDockWidget:
        """Put the panel `widget` in a dock listed in the View menu; it gets every snapshot while on screen.

        `tab_with` (an existing panel's objectName, e.g. "attentionView") puts the new dock behind that
        panel's tab instead of in `area`: the way to add a big panel without growing the window.
        """
        return self._dock(widget, title or widget.TITLE, area, tooltip or widget.TOOLTIP, tab_with, None)

    def add_lazy_panel(self, build: Callable[[], Panel], name: str, title: str, tooltip: str,
                       area: Qt.DockWidgetArea = RIGHT, tab_with: str | None = None) -> QDockWidget:
        """add_panel for a panel that is slow to build and starts out of sight (behind a tab): `build()`
        makes it (its objectName must be `name`) the first time its dock comes on screen."""
        return self._dock(QWidget(objectName=name), title, area, tooltip, tab_with, build)

    def _dock(self, widget: QWidget, title: str, area: Qt.DockWidgetArea, tooltip: str, tab_with: str | None,
              build: Callable[[], Panel] | None) -> QDockWidget:
        dock = PanelDock(title, self)
        dock.setObjectName(f"{widget.objectName() or title}Dock")  # saveState finds docks by name
        dock.setToolTip(tooltip)
        dock.setWidget(widget)
        panel = DockedPanel(dock, widget, area, tab_with, build=build)
        self.panels.append(panel)
        self._place(panel)
        dock.visibilityChanged.connect(lambda visible, panel=panel: self._on_panel_visibility_changed(panel, visible))
        action = dock.toggleViewAction()
        action.setToolTip(tooltip)
        action.setStatusTip(tooltip)
        if "View" in self.menus:  # panels added after the window is built join the View menu too
            self.menus["View"].insertAction(self.view_separator, action)
        if build is None:
            widget.set_theme(self.dark)
        QTimer.singleShot(0, self._catch_up)  # a panel added later shows the current prompt at once
        return dock

    def built_panel(self, name: str) -> Panel:
        """The panel called `name`, built now if it has not been shown yet."""
        panel = next(p for p in self.panels if p.widget.objectName() == name)
        if panel.build is not None:
            build, panel.build = panel.build, None
            empty, panel.widget = panel.widget, build()
            panel.dock.setWidget(panel.widget)
            empty.setParent(None)  # gone from findChild: the name now finds the real panel
            panel.widget.set_theme(self.dark)
            panel.stale = True
            QTimer.singleShot(0, self._catch_up)
        return panel.widget

    def find_widget(self, name: str) -> QWidget | None:
        """findChild(QWidget, name), building the panel of that name first if it has not been shown yet."""
        if any(p.widget.objectName() == name for p in self.panels):
            return self.built_panel(name)  # the panel, built first if it was waiting behind a tab
        return self.findChild(QWidget, name)

    @property
    def studio(self):
        """The training studio panel, or None while it has not been built (ensure_studio builds it)."""
        panel = next((p for p in self.panels if p.widget.objectName() == STUDIO_NAME), None)
        return None if panel is None or panel.build is not None else panel.widget

    def ensure_studio(self):
        """The training studio panel, built now if it has not been shown yet."""
        return self.built_panel(STUDIO_NAME)

    def _place(self, panel: DockedPanel) -> None:
        """Put a dock where its panel asked to go: behind another panel's tab, or in its area."""
        self.addDockWidget(panel.area, panel.dock)  # a dock must belong to the window before it can join tabs
        beside = next((p.dock for p in self.panels if p.widget.objectName() == panel.tab_with), None)
        if beside is None:
            return
        in_front = front_tab(self, beside)
        self.tabifyDockWidget(beside, panel.dock)
        in_front.raise_()  # the new tab waits behind; the one the user was looking at stays in front

    # -- the default layout ----------------------------------------------------------------------
    def _short(self) -> bool:
        return window_layout.is_short(self.height() if self.isVisible() else self._opening_size.height())

    def _arrange_explorer_panels(self) -> None:
        window_layout.arrange_explorer_panels(self, explorer_docks(self.panels), self._short())

    def _size_default_layout(self) -> None:
        window_layout.size_default_layout(self, explorer_docks(self.panels), self._short())

    def reset_layout(self) -> None:
        """Every panel back where it started: the explorer's own, then those added later."""
        self._arrange_explorer_panels()
        for panel in self.panels:
            if panel.widget.objectName() not in EXPLORER_PANELS:
                panel.dock.setFloating(False)
                panel.dock.show()
                self._place(panel)
        self._size_default_layout()
        self.settings.forget_window_layout()

    def _restore_layout(self) -> bool:
        """The layout saved by the last run; False if there was none (or it no longer fits)."""
        geometry, state = self.settings.window_layout()
        if geometry is not None:
            self.restoreGeometry(geometry)
        return state is not None and self.restoreState(state, LAYOUT_VERSION)

    def _connect(self) -> None:
        self.controller.snapshot_ready.connect(self._on_snapshot)
        self.controller.session_changed.connect(self._show_session)
        self.controller.message.connect(self.errors.show_notice)
        self.prompt_view.prompt_changed.connect(self.controller.set_prompt)
        self.output_view.token_chosen.connect(self._on_token_chosen)
        self.whatif_view.intervention_changed.connect(self.controller.set_intervention)
        self.output_view.badge.reset_requested.connect(self.reset_everything)
        self.selection.changed.connect(self._settle_before_paint)  # after the views redrew

    # -- snapshots ---------------------------------------------------------------------------
    @property
    def snapshot(self) -> Snapshot | None:
        return self.controller.snapshot

    def _on_snapshot(self, snapshot: Snapshot) -> None:
        for panel in self.panels:
            if panel.is_on_screen():
                self._redraw(panel, snapshot)
            else:
                panel.stale = True  # drawn when it is shown again
        self.modified_badge.show_intervention(snapshot.trace.intervention)
        self._settle_before_paint()
        self.drawn.emit(snapshot)

    def _catch_up(self) -> None:
        """Redraw the panels that missed snapshots while they were out of sight."""
        snapshot = self.controller.snapshot
        if snapshot is None:
            return
        for panel in self.panels:
            if panel.stale and panel.is_on_screen():
                self._redraw(panel, snapshot)
        self._settle_before_paint()

    def _settle_before_paint(self, *_) -> None:
        """Every plot on screen laid out and prepared now, so that each paints once per snapshot."""
        if not self._snapshot_due:  # a new model's selection: its snapshot follows and settles them
            settle_plots(panel.widget for panel in self.panels if panel.is_on_screen())

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._sizes_pending:
            self._sizes_pending = False
            QTimer.singleShot(0, self._size_default_layout)
        QTimer.singleShot(0, self._catch_up)  # after the docks have their final geometry

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.WindowStateChange:
            QTimer.singleShot(0, self._catch_up)  # e.g. restored from minimised

    def _redraw(self, panel: DockedPanel, snapshot: Snapshot) -> None:
        if panel.built:  # an empty stand-in has nothing to draw
            try:
                panel.widget.show_snapshot(snapshot)
            except Exception:  # one broken view must not keep the others from drawing: report it (crash dialog)
                sys.excepthook(*sys.exc_info())
        panel.stale = False

    def _on_panel_visibility_changed(self, panel: DockedPanel, visible: bool) -> None:
        if visible and panel.build is not None:
            self.built_panel(panel.widget.objectName())  # before it is painted: the empty stand-in is never seen
        if visible and panel.stale:
            QTimer.singleShot(0, self._catch_up)  # once the dock is laid out and really on screen

    # -- the prompt and the selection ----------------------------------------------------------
    def set_prompt(self, text: str) -> None:
        self.prompt_view.set_text(text)

    def focus_prompt(self) -> None:
        self.prompt_view.focus()

    def _on_token_chosen(self, token_id: int) -> None:
        # The tokens of one Generate join one undo step; each Next token is a step of its own.
        self.prompt_view.append_text(self.controller.decode_token(token_id), join_undo=self.output_view.continuing)

    def undo_prompt(self) -> None:
        self.output_view.stop_generating()  # undoing under a running Generate would be undone by its next token
        self.prompt_view.undo()

    def redo_prompt(self) -> None:
        self.output_view.stop_generating()
        self.prompt_view.redo()

    def reset_everything(self) -> None:
        """Every what-if off: the intact model everywhere (the badge disappears with the next drawing)."""
        self.whatif_view.reset()
        self.statusBar().showMessage("Every head and the positional encoding are back on.", 5000)

    # -- the model in use ------------------------------------------------------------------------
    def set_session(self, session: ModelInUse) -> None:
        """Show a different model everywhere."""
        self.output_view.stop_generating()
        self.controller.set_session(session)

    def _show_session(self, session: ModelInUse) -> None:
        config, self._snapshot_due = session.config, True  # the new model's snapshot settles the plots, once
        self.selection.set_shape(config.n_layers, config.n_heads)
        self._snapshot_due = False
        self.selection_toolbar.show_shape(config.n_layers, config.n_heads)
        self.whatif_view.set_intervention(self.controller.intervention)
        self.model_label.setText(session.describe())
        self.setWindowTitle(f"Attention Lab — {session.source}")
        set_model_credit(f"Attention Lab — {session.describe()}")  # every exported picture names its model

    def save_picture(self, path: str | Path) -> bool:
        return credited_image(self).save(str(path), "PNG")

    # -- theme and zoom ------------------------------------------------------------------------
    def set_dark_theme(self, dark: bool) -> None:
        self.dark = bool(dark)
        apply_theme(QApplication.instance(), self.dark)
        for panel in self.panels:
            if panel.built:  # a panel not built yet takes the theme when it is
                panel.widget.set_theme(self.dark)
        if self.controller.snapshot is not None:
            self._on_snapshot(self.controller.snapshot)
        self._tick_dark_action()
        self.settings.dark_theme = self.dark

    def _tick_dark_action(self) -> None:
        self.dark_action.blockSignals(True)
        self.dark_action.setChecked(self.dark)
        self.dark_action.blockSignals(False)

    @property
    def zoom(self) -> float:
        return plot_style.zoom()

    def set_zoom(self, zoom: float, announce: bool = True) -> None:
        """Scale plot text and the prompt by `zoom` (1.0: normal), remembered for next time."""
        zoom = min(max(float(zoom), plot_style.ZOOMS[0]), plot_style.ZOOMS[-1])
        plot_style.set_zoom(zoom)
        self.prompt_view.set_zoom(zoom)
        self.settings.set_value("view/zoom", zoom)
        self.set_dark_theme(self.dark)  # every panel re-makes its fonts and redraws, as presenter mode does
        if announce:
            self.statusBar().showMessage(f"Zoom {zoom:.0%}", 3000)

    def step_zoom(self, steps: int) -> None:
        if plot_style.stepped_zoom(steps) != self.zoom:
            self.set_zoom(plot_style.stepped_zoom(steps))

    def closeEvent(self, event) -> None:
        self.models.close()  # a model being read is let finish; a download is cancelled
        self.output_view.stop_generating()
        self.settings.set_sampling(self.output_view.sampling_settings())
        if self.remember_layout:
            self.settings.save_window_layout(self.saveGeometry(), self.saveState(LAYOUT_VERSION))
            self.settings.sync()
        self.controller.shutdown()
        super().closeEvent(event)
