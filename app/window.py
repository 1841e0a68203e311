"""The explorer window: every panel in a dock, one controller feeding them all.

    window = MainWindow()                      # opens on the default model with a sample prompt
    window.add_panel(widget, "Training", Qt.DockWidgetArea.BottomDockWidgetArea)

A panel is any QWidget; if it has `show_snapshot(snapshot)` it is redrawn from every new snapshot
while it is visible (a hidden panel catches up when it is shown), and `apply_theme(dark)` if present.
A big panel that starts behind a tab can be added with `add_lazy_panel(build, name, ...)`: it is built
the first time it comes on screen (or `built_panel(name)` asks for it), so opening the window never
waits for it.
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QApplication, QDockWidget, QFileDialog, QLabel, QMainWindow, QMenu, QMessageBox,
                               QProgressBar, QSpinBox, QToolBar, QToolTip, QWidget)

from .controller import Controller
from .lessons.classroom import Classroom
from .dialogs.new_model import NewModelDialog
from .model_loader import BackgroundJob
from .selection import Selection
from .sessions import (CHARACTER_MODEL_FOLDER, ModelSession, character_model_session, default_session,
                       lessons_tokenizer, load_checkpoint_session, load_gpt2_session, load_hub_session,
                       new_untrained_session, sample_prompts)
from .settings import AppSettings, RecentItem
from .snapshot import Snapshot
from .theme import apply_theme
from .studio import STUDIO_NAME, add_training_studio
from .views.explain_panels import add_explain_panels
from .views import plot_style
from .views.export import credited_image, set_model_credit
from .views.modified_badge import RESET_SHORTCUT, ModifiedBadge
from .views.output_view import OutputView
from .views.prompt_view import PromptView
from .views.view_base import settle_plots
from .views.whatif_view import WhatIfView

DEFAULT_SIZE = QSize(1600, 1000)
SHORT_WINDOW = 900            # pixels: a window shorter than this has What if beside Next token, not below
ZOOMS = (0.8, 0.9, 1.0, 1.1, 1.25, 1.4, 1.6, 1.8, 2.0)  # Ctrl+= / Ctrl+- step through these font scales
LAYOUT_VERSION = 1            # bump when the default arrangement changes, so old saved layouts are ignored
LEFT, RIGHT = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
LOAD_ERRORS = (ValueError, OSError, RuntimeError, KeyError)  # what a user's bad file can raise

# The panels the default layout arranges by name; any other panel goes where add_panel was told.
EXPLORER_PANELS = ("promptView", "outputView", "whatIfView", "attentionView", "qkvView", "embeddingView",
                   "positionalView")

# The views helper's panels: (module, class, objectName, built at start). Imported by name so a missing
# one only drops its panel; the two that start behind the Q/K/V tab are built when first shown.
MODEL_VIEWS = (
    ("app.views.embedding_view", "EmbeddingView", "embeddingView", False),
    ("app.views.positional_view", "PositionalView", "positionalView", False),
    ("app.views.qkv_view", "QKVView", "qkvView", True),
    ("app.views.attention_view", "AttentionView", "attentionView", True),
)


def fitted_size(wanted: QSize, screen) -> QSize:
    """`wanted`, shrunk to the screen's available area (less the window frame) so the window never opens
    larger than the screen it is on."""
    if screen is None:
        return wanted
    room = screen.availableGeometry().size() - QSize(16, 48)  # title bar and borders drawn by the desktop
    return wanted.boundedTo(room)


def _optional_view(module_name: str, class_name: str):
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as missing:
        if missing.name != module_name:
            raise  # the view exists but something it imports is missing: a real error
        return None
    return getattr(module, class_name)


class PanelDock(QDockWidget):
    """A dock whose one-sentence tooltip shows on its title bar only, not over the whole panel."""

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            inside = self.widget()
            if inside is None or event.pos().y() < inside.geometry().top():
                QToolTip.showText(event.globalPos(), self.toolTip(), self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)


@dataclass
class Panel:
    dock: QDockWidget
    widget: QWidget
    area: Qt.DockWidgetArea = RIGHT   # where "Reset layout" puts it (panels added later)
    tab_with: str | None = None       # or behind this panel's tab (an objectName)
    stale: bool = True                # a snapshot arrived while the panel was hidden
    build: Callable[[], QWidget] | None = None  # makes the real panel; set until it is first shown


class MainWindow(QMainWindow):
    drawn = Signal(object)  # Snapshot: every visible panel has been redrawn from it
    model_loaded = Signal(object)  # ModelSession: a model opened in the background is now shown
    load_failed = Signal(str)      # the sentence shown when opening a model failed (the previous one stays)

    def __init__(self, settings: AppSettings | None = None, session: ModelSession | None = None,
                 prompt: str | None = None, remember_layout: bool = True, size: QSize | None = None) -> None:
        """`size`: the window's size at first; None: DEFAULT_SIZE, shrunk to fit the screen it opens on."""
        super().__init__()
        self._opening_size = size or fitted_size(DEFAULT_SIZE, QApplication.primaryScreen())
        self.setObjectName("mainWindow")
        self.setWindowTitle("Attention Lab")
        self.setDockNestingEnabled(True)
        self.settings = settings or AppSettings()
        notice = ""
        if session is None:
            session, notice = default_session()
        self.selection = Selection(session.config.n_layers, session.config.n_heads)
        self.controller = Controller(session, self)
        first_prompt = sample_prompts()[0] if prompt is None else prompt
        self.controller.set_prompt(first_prompt)  # traced on the worker thread while the panels are built
        self.panels: list[Panel] = []
        self.menus: dict[str, QMenu] = {}
        self.dark = self.settings.dark_theme
        apply_theme(QApplication.instance(), self.dark)  # first: each panel takes its colours as it is added
        self._error_box: QMessageBox | None = None
        self._job: BackgroundJob | None = None  # the model being opened, if any
        self._model_zoo = None                   # the Model zoo dialog, made when first asked for

        self._build_status_bar()
        self._build_selectors()
        self._build_panels()
        self._build_menus()
        self._connect()
        self.classroom = Classroom(self)  # lesson pane, presenter mode (F5), hand-outs, session files
        add_training_studio(self)  # training studio: step through training, watch heads form (built when shown)
        add_explain_panels(self)  # logit lens, attribution, patching, neurons, KV cache: tabs, built when shown
        self._show_session(session)
        self.resize(self._opening_size)
        self.remember_layout = remember_layout  # False: neither read nor write the saved layout
        # Default dock sizes are applied once the window is on screen (Qt ignores them before).
        self._sizes_pending = not (remember_layout and self._restore_layout())
        self._tick_dark_action()
        self._restore_sampling()
        if self.settings.value("view/zoom", 1.0) != 1.0:  # the zoom the user left (at 1.0 nothing to redo)
            self.set_zoom(self.settings.value("view/zoom", 1.0), announce=False)
        if notice:
            self.statusBar().showMessage(notice, 15000)
        self.prompt_view.set_text(first_prompt)  # the same prompt again: the worker reuses its trace
        self.prompt_view.editor.document().clearUndoRedoStacks()  # Undo starts from the opening prompt
        self.focus_prompt()

    # -- building ------------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        self.model_label = QLabel(objectName="modelStatus")
        self.load_progress = QProgressBar(objectName="loadProgress", maximumWidth=140, textVisible=False)
        self.load_progress.setRange(0, 0)  # busy: opening a model does not say how far it got
        self.load_progress.hide()
        self.modified_badge = ModifiedBadge("modifiedBadge")  # a what-if is changing what every panel shows
        self.modified_badge.reset_requested.connect(self.reset_everything)
        self.statusBar().addPermanentWidget(self.modified_badge)
        self.statusBar().addPermanentWidget(self.load_progress)
        self.statusBar().addPermanentWidget(self.model_label)

    def _build_selectors(self) -> None:
        toolbar = QToolBar("Layer and head", objectName="selectionToolbar")
        toolbar.setMovable(False)
        self.layer_selector = QSpinBox(objectName="layerSelector", prefix="layer ")
        self.layer_selector.setToolTip("Which transformer block the attention and Q/K/V panels show (Alt+Up/Down).")
        self.layer_selector.setAccessibleName("Layer")
        self.head_selector = QSpinBox(objectName="headSelector", prefix="head ")
        self.head_selector.setToolTip("Which attention head of that block they show (Alt+Left/Right).")
        self.head_selector.setAccessibleName("Head")
        toolbar.addWidget(QLabel(" Looking at  "))
        toolbar.addWidget(self.layer_selector)
        toolbar.addWidget(self.head_selector)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)

    def _build_panels(self) -> None:
        self.prompt_view = PromptView(self.selection)
        self.output_view = OutputView(self.selection)
        self.whatif_view = WhatIfView(self.selection)
        for widget in (self.prompt_view, self.output_view, self.whatif_view):
            self.add_panel(widget)
        for module_name, class_name, name, at_start in MODEL_VIEWS:
            view_class = _optional_view(module_name, class_name)
            if view_class is None:
                continue
            if at_start:
                self.add_panel(view_class(self.selection))
            else:
                self.add_lazy_panel(lambda view_class=view_class: view_class(self.selection), name,
                                    view_class.TITLE, view_class.TOOLTIP)
        self._arrange_explorer_panels()

    def add_panel(self, widget: QWidget, title: str | None = None, area: Qt.DockWidgetArea = RIGHT,
                  tooltip: str | None = None, tab_with: str | None = None) -> QDockWidget:
        """Put `widget` in a dock listed in the View menu; it gets snapshots if it has show_snapshot.

        `tab_with` (an existing panel's objectName, e.g. "attentionView") puts the new dock behind that
        panel's tab instead of in `area`: the way to add a big panel without growing the window.
        """
        title = title or getattr(widget, "TITLE", widget.objectName())
        tooltip = tooltip or getattr(widget, "TOOLTIP", "")
        dock = PanelDock(title, self)
        dock.setObjectName(f"{widget.objectName() or title}Dock")  # saveState finds docks by name
        dock.setToolTip(tooltip)
        dock.setWidget(widget)
        panel = Panel(dock, widget, area, tab_with)
        self.panels.append(panel)
        self._place(panel)
        dock.visibilityChanged.connect(lambda visible, panel=panel: self._on_panel_visibility_changed(panel, visible))
        action = dock.toggleViewAction()
        action.setToolTip(tooltip)
        action.setStatusTip(tooltip)
        if "View" in self.menus:  # panels added after the window is built join the menu too
            self.menus["View"].insertAction(self._view_separator, action)
        if hasattr(widget, "apply_theme"):
            widget.apply_theme(self.dark)
        QTimer.singleShot(0, self._catch_up)  # a panel added later shows the current prompt at once
        return dock

    def add_lazy_panel(self, build: Callable[[], QWidget], name: str, title: str, tooltip: str,
                       area: Qt.DockWidgetArea = RIGHT, tab_with: str | None = None) -> QDockWidget:
        """add_panel for a panel that is slow to build and starts out of sight (behind a tab): `build()`
        makes it (its objectName must be `name`) the first time its dock comes on screen."""
        dock = self.add_panel(QWidget(objectName=name), title, area, tooltip, tab_with)
        self.panels[-1].build = build
        return dock

    def built_panel(self, name: str) -> QWidget:
        """The panel called `name`, built now if it has not been shown yet."""
        panel = next(p for p in self.panels if p.widget.objectName() == name)
        if panel.build is not None:
            build, panel.build = panel.build, None
            empty, panel.widget = panel.widget, build()
            panel.dock.setWidget(panel.widget)
            empty.setParent(None)  # gone from findChild: the name now finds the real panel
            if hasattr(panel.widget, "apply_theme"):
                panel.widget.apply_theme(self.dark)
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
        """The training studio panel (built on first use)."""
        return self.built_panel(STUDIO_NAME)

    def _place(self, panel: Panel) -> None:
        """Put a dock where its panel asked to go: behind another panel's tab, or in its area."""
        self.addDockWidget(panel.area, panel.dock)  # a dock must belong to the window before it can join tabs
        beside = next((p.dock for p in self.panels if p.widget.objectName() == panel.tab_with), None)
        if beside is None:
            return
        in_front = self._front_tab(beside)
        self.tabifyDockWidget(beside, panel.dock)
        in_front.raise_()  # the new tab waits behind; the one the user was looking at stays in front

    def _front_tab(self, dock: QDockWidget) -> QDockWidget:
        """The dock in front of `dock`'s tab group (a dock whose region is on screen)."""
        group = [dock, *self.tabifiedDockWidgets(dock)]
        return next((d for d in group if not d.visibleRegion().isEmpty()), dock)

    def _arrange_explorer_panels(self) -> None:
        """Left: prompt, next token, what-if. Right: attention over the Q/K/V, embedding and position tabs."""
        docks = self._explorer_docks()
        for dock in docks.values():
            dock.setFloating(False)
            dock.show()
        self.addDockWidget(LEFT, docks["promptView"])
        self.splitDockWidget(docks["promptView"], docks["outputView"], Qt.Orientation.Vertical)
        if self._short():  # three panels above each other would not fit: What if goes beside Next token
            self.splitDockWidget(docks["outputView"], docks["whatIfView"], Qt.Orientation.Horizontal)
        else:
            self.splitDockWidget(docks["outputView"], docks["whatIfView"], Qt.Orientation.Vertical)
        attention = docks.get("attentionView")
        tabbed = [docks[name] for name in ("qkvView", "embeddingView", "positionalView") if name in docks]
        if attention is not None:
            self.addDockWidget(RIGHT, attention)
        for index, dock in enumerate(tabbed):
            if index > 0:
                self.tabifyDockWidget(tabbed[0], dock)
            elif attention is not None:
                self.splitDockWidget(attention, dock, Qt.Orientation.Vertical)
            else:
                self.addDockWidget(RIGHT, dock)
        if tabbed:
            tabbed[0].raise_()

    def _short(self) -> bool:
        """Too short for the prompt, Next token and What if above each other (e.g. a 1280x720 screen)."""
        height = self.height() if self.isVisible() else self._opening_size.height()
        return height < SHORT_WINDOW

    def _explorer_docks(self) -> dict[str, QDockWidget]:
        return {p.widget.objectName(): p.dock for p in self.panels if p.widget.objectName() in EXPLORER_PANELS}

    def _size_default_layout(self) -> None:
        docks = self._explorer_docks()
        if self._short():
            left = [docks["promptView"], docks["outputView"]]
            self.resizeDocks(left, [200, 800], Qt.Orientation.Vertical)  # Next token takes what is left
            self.resizeDocks([docks["outputView"], docks["whatIfView"]], [1, 1], Qt.Orientation.Horizontal)
        else:
            left = [docks["promptView"], docks["outputView"], docks["whatIfView"]]
            self.resizeDocks(left, [250, 380, 370], Qt.Orientation.Vertical)
        attention = docks.get("attentionView")
        below = docks.get("qkvView") or docks.get("embeddingView") or docks.get("positionalView")
        right = attention or below
        if right is not None:
            self.resizeDocks([left[0], right], [500, 1100], Qt.Orientation.Horizontal)
        if attention is not None and below is not None:
            self.resizeDocks([attention, below], [420, 580], Qt.Orientation.Vertical)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = self.menus["File"] = bar.addMenu("&File")
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.setObjectName("recentMenu")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        self._action(file_menu, "Save window picture…", self._ask_save_picture, "Ctrl+Shift+P",
                     "Save a PNG picture of the whole window.")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit, "Close Attention Lab.")

        edit_menu = self.menus["Edit"] = bar.addMenu("&Edit")
        self._action(edit_menu, "&Undo", self.undo_prompt, QKeySequence.StandardKey.Undo,
                     "Undo the last change to the prompt (typing, Next token, or a whole Generate).")
        self._action(edit_menu, "&Redo", self.redo_prompt, "Ctrl+Shift+Z", "Redo what Undo took back.")

        model_menu = self.menus["Model"] = bar.addMenu("&Model")
        self._action(model_menu, "&New untrained model…", self.ask_new_model, "Ctrl+N",
                     "Make a model with random weights: pick its size and positional encoding.")
        self._action(model_menu, "&Open checkpoint…", self.ask_open_checkpoint, "Ctrl+O",
                     "Open a model saved by Attention Lab (a checkpoint folder).")
        self._action(model_menu, "&Save checkpoint…", self.ask_save_checkpoint, "Ctrl+S",
                     "Save the current model and tokenizer to a folder.")
        self._action(model_menu, "Open &Hugging Face folder…", self.ask_open_gpt2, "Ctrl+Shift+O",
                     "Open a model saved in Hugging Face's layout (GPT-2, GPT-Neo, Pythia, Llama, Qwen2) "
                     "from a local folder.")
        self._action(model_menu, "Model &zoo…", self.show_model_zoo, "Ctrl+Shift+M",
                     "Real language models from the Hugging Face Hub: see which are on this computer, download, open.")
        self._action(model_menu, "Reload &default model", self.load_default_model, None,
                     "Go back to the pretrained model the app ships with: simple stories, word by word.")
        self._action(model_menu, "Open &character model (Python docs)", self.open_character_model, None,
                     "Open the second built-in model: one token per character, trained on Python's help pages.")
        self._action(model_menu, "&About this model…", self.show_model_card, None,
                     "The architecture's choices and its parameters by part.")
        model_menu.addSeparator()
        self._action(model_menu, "Sample &next token", self.output_view.sample_one, "Ctrl+Return",
                     "Sample one token and add it to the prompt.")
        self._action(model_menu, "&Generate", lambda: self.output_view.start_generating(
            self.output_view.generate_count.value()), "Ctrl+G", "Add tokens one at a time.")
        self._action(model_menu, "S&top generating", self.output_view.stop_generating, "Ctrl+.",
                     "Stop adding tokens.")
        model_menu.addSeparator()
        self._action(model_menu, "&Reset everything", self.reset_everything, RESET_SHORTCUT,
                     "Switch every what-if off: all heads and the positional encoding back on.")

        view_menu = self.menus["View"] = bar.addMenu("&View")
        for panel in self.panels:
            view_menu.addAction(panel.dock.toggleViewAction())
        self._view_separator = view_menu.addSeparator()
        self.dark_action = self._action(view_menu, "&Dark theme", self.set_dark_theme, "Ctrl+Shift+D",
                                        "Switch between light and dark colours.", checkable=True)
        self._action(view_menu, "&Reset layout", self.reset_layout, None, "Put every panel back where it started.")
        view_menu.addSeparator()
        self._action(view_menu, "Zoom &in", lambda: self.step_zoom(1), "Ctrl+=", "Larger plot text and prompt.")
        self._action(view_menu, "Zoom &out", lambda: self.step_zoom(-1), "Ctrl+-", "Smaller plot text and prompt.")
        self._action(view_menu, "&Actual size", lambda: self.set_zoom(1.0), "Ctrl+0", "Plot text and prompt at 100%.")
        view_menu.addSeparator()
        self._action(view_menu, "Focus the &prompt", self.focus_prompt, "Ctrl+L", "Put the cursor in the prompt.")
        self._action(view_menu, "Previous layer", lambda: self._step_selection(-1, 0), "Alt+Up", None)
        self._action(view_menu, "Next layer", lambda: self._step_selection(1, 0), "Alt+Down", None)
        self._action(view_menu, "Previous head", lambda: self._step_selection(0, -1), "Alt+Left", None)
        self._action(view_menu, "Next head", lambda: self._step_selection(0, 1), "Alt+Right", None)

        help_menu = self.menus["Help"] = bar.addMenu("&Help")
        self._action(help_menu, "&Keyboard shortcuts", self.show_shortcuts, "F1", "List every keyboard shortcut.")
        self._action(help_menu, "&About Attention Lab", self.show_about, None, None)

    def _action(self, menu: QMenu, text: str, slot, shortcut=None, tip: str | None = None,
                checkable: bool = False) -> QAction:
        action = QAction(text, self, checkable=checkable)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        (action.toggled if checkable else action.triggered).connect(slot if checkable else lambda *_: slot())
        menu.addAction(action)
        self.addAction(action)  # shortcuts work even while the menu bar is hidden
        return action

    def _connect(self) -> None:
        self.controller.snapshot_ready.connect(self._on_snapshot)
        self.controller.session_changed.connect(self._show_session)
        self.controller.message.connect(self._on_message)
        self.prompt_view.prompt_changed.connect(self.controller.set_prompt)
        self.output_view.token_chosen.connect(self._on_token_chosen)
        self.whatif_view.intervention_changed.connect(self.controller.set_intervention)
        self.output_view.badge.reset_requested.connect(self.reset_everything)
        self.layer_selector.valueChanged.connect(lambda layer: self.selection.select(layer, self.selection.head))
        self.head_selector.valueChanged.connect(lambda head: self.selection.select(self.selection.layer, head))
        self.selection.changed.connect(self._on_selection_changed)
        self.selection.changed.connect(lambda *_: self._settle_before_paint())  # after the views redrew

    # -- snapshots ---------------------------------------------------------------------------
    @property
    def snapshot(self) -> Snapshot | None:
        return self.controller.snapshot

    def _on_snapshot(self, snapshot: Snapshot) -> None:
        for panel in self.panels:
            if self.is_on_screen(panel):
                self._redraw(panel, snapshot)
            else:
                panel.stale = True  # drawn when it is shown again
        self.modified_badge.show_intervention(snapshot.trace.intervention)
        self._settle_before_paint()
        self.drawn.emit(snapshot)

    @staticmethod
    def is_on_screen(panel: Panel) -> bool:
        """Visible and not behind another tab (a tabbed-away dock still counts as 'visible' to Qt)."""
        return panel.dock.isVisible() and not panel.dock.visibleRegion().isEmpty()

    def _catch_up(self) -> None:
        """Redraw the panels that missed snapshots while they were out of sight."""
        snapshot = self.controller.snapshot
        if snapshot is None:
            return
        for panel in self.panels:
            if panel.stale and self.is_on_screen(panel):
                self._redraw(panel, snapshot)
        self._settle_before_paint()

    def _settle_before_paint(self) -> None:
        """Every plot on screen laid out and prepared now, so that each paints once per snapshot."""
        settle_plots(panel.widget for panel in self.panels if self.is_on_screen(panel))

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

    def _redraw(self, panel: Panel, snapshot: Snapshot) -> None:
        if hasattr(panel.widget, "show_snapshot"):
            try:
                panel.widget.show_snapshot(snapshot)
            except Exception:  # one broken view must not keep the others from drawing: report it (crash dialog)
                sys.excepthook(*sys.exc_info())
        panel.stale = False

    def _on_panel_visibility_changed(self, panel: Panel, visible: bool) -> None:
        if visible and panel.build is not None:
            self.built_panel(panel.widget.objectName())  # before it is painted: the empty stand-in is never seen
        if visible and panel.stale:
            QTimer.singleShot(0, self._catch_up)  # once the dock is laid out and really on screen

    def _on_message(self, text: str) -> None:
        if text:
            self.statusBar().showMessage(text)
        else:
            self.statusBar().clearMessage()

    # -- the prompt and the selection ----------------------------------------------------------
    def set_prompt(self, text: str) -> None:
        self.prompt_view.set_text(text)

    def focus_prompt(self) -> None:
        self.prompt_view.editor.setFocus()

    def _on_token_chosen(self, token_id: int) -> None:
        # The tokens of one Generate join one undo step; each Next token is a step of its own.
        self.prompt_view.append_text(self.controller.decode_token(token_id), join_undo=self.output_view.continuing)

    def undo_prompt(self) -> None:
        self.output_view.stop_generating()  # undoing under a running Generate would be undone by its next token
        self.prompt_view.editor.undo()

    def redo_prompt(self) -> None:
        self.output_view.stop_generating()
        self.prompt_view.editor.redo()

    def reset_everything(self) -> None:
        """Every what-if off: the intact model everywhere (the badge disappears with the next drawing)."""
        self.whatif_view.reset()
        self.statusBar().showMessage("Every head and the positional encoding are back on.", 5000)

    def _on_selection_changed(self, layer: int, head: int) -> None:
        for selector, value in ((self.layer_selector, layer), (self.head_selector, head)):
            selector.blockSignals(True)
            selector.setValue(value)
            selector.blockSignals(False)

    def _step_selection(self, layers: int, heads: int) -> None:
        self.selection.select(self.selection.layer + layers, self.selection.head + heads)

    # -- models ----------------------------------------------------------------------------------
    def set_session(self, session: ModelSession) -> None:
        """Show a different model everywhere."""
        self.output_view.stop_generating()
        self.controller.set_session(session)

    def _show_session(self, session: ModelSession) -> None:
        config = session.config
        self.selection.set_shape(config.n_layers, config.n_heads)
        self.layer_selector.setRange(0, config.n_layers - 1)
        self.head_selector.setRange(0, config.n_heads - 1)
        self._on_selection_changed(self.selection.layer, self.selection.head)
        self.whatif_view.set_intervention(self.controller.intervention)
        self.model_label.setText(session.describe())
        self.setWindowTitle(f"Attention Lab — {session.source}")
        set_model_credit(f"Attention Lab — {session.describe()}")  # every exported picture names its model

    # Each opener reads the files on a background thread. wait=False (menus, the zoo) returns at once and the
    # window stays responsive; wait=True (scripts, tests) returns once the model is shown or the error is.
    def open_checkpoint(self, folder: str | Path, wait: bool = True) -> bool:
        return self._load(lambda: load_checkpoint_session(folder), "Could not open the checkpoint",
                          RecentItem("checkpoint", str(folder)), Path(folder).name, wait)

    def open_gpt2_folder(self, folder: str | Path, wait: bool = True) -> bool:
        return self._load(lambda: load_gpt2_session(folder), "Could not open the GPT-2 folder",
                          RecentItem("gpt2", str(folder)), Path(folder).name, wait)

    def open_hub_model(self, name: str, wait: bool = True) -> bool:
        """A Hugging Face model: a Hub id already in the cache, or a local folder."""
        return self._load(lambda: load_hub_session(name), "Could not open the model", RecentItem("hub", name),
                          name, wait)

    def open_character_model(self, wait: bool = False) -> bool:
        return self._load(character_model_session, "Could not open the character model",
                          RecentItem("checkpoint", str(CHARACTER_MODEL_FOLDER)), "the character model", wait)

    def load_default_model(self) -> None:
        session, notice = default_session()
        self.set_session(session)
        if notice:
            self.statusBar().showMessage(notice, 15000)

    def new_model(self, config, tokenizer_choice: str = "current", seed: int = 0) -> None:
        tokenizer = self.controller.session.tokenizer if tokenizer_choice == "current" else lessons_tokenizer()
        self.set_session(new_untrained_session(config, tokenizer, seed))

    def save_checkpoint(self, folder: str | Path) -> bool:
        from core.files.checkpoint import save_checkpoint

        session = self.controller.session
        try:
            save_checkpoint(folder, session.model, session.tokenizer, step=session.step or 0)
        except LOAD_ERRORS as error:
            self.show_error("Could not save the checkpoint", str(error))
            return False
        self.settings.add_recent(RecentItem("checkpoint", str(folder)))
        self.statusBar().showMessage(f"Saved the model to {folder}", 8000)
        return True

    @property
    def loading(self) -> bool:
        return self._job is not None

    def _load(self, make_session, failure_title: str, recent: RecentItem, what: str, wait: bool) -> bool:
        """Replace the model from a background thread, or say why not and keep the one shown."""
        if self._job is not None:
            self.statusBar().showMessage(f"Still opening {self._job.what}; try again once it is shown.", 8000)
            return False
        job = self._job = BackgroundJob(lambda report, cancelled: make_session())
        job.what, job.recent, job.failure_title = what, recent, failure_title
        self.load_progress.show()
        self.statusBar().showMessage(f"Opening {what}…")
        if wait:  # the caller blocks until it is done (no events are handled meanwhile: nothing can interleave)
            job.start()
            self._on_load_finished()
            return job.error is None
        job.finished.connect(self._on_load_finished)
        job.start()
        return True

    def _on_load_finished(self) -> None:
        self.load_progress.hide()
        job, self._job = self._job, None
        job.wait()  # 'finished' comes just before the thread ends: let it end before the job is dropped
        if job.error is not None:
            self.show_error(job.failure_title, f"{job.error}\n\nThe previous model is still shown.")
            self.load_failed.emit(job.error)
            return
        self.set_session(job.result)
        self.settings.add_recent(job.recent)
        self.statusBar().showMessage(f"Opened {job.what}.", 8000)
        self.model_loaded.emit(job.result)

    def show_error(self, title: str, text: str) -> None:
        """A message where the user is looking; not modal, so nothing waits on it."""
        self.statusBar().showMessage(f"{title}: {text.splitlines()[0]}", 15000)
        if self._error_box is None:  # one box, reused: a second failure replaces the first message
            self._error_box = QMessageBox(QMessageBox.Icon.Warning, "", "", QMessageBox.StandardButton.Ok, self)
            self._error_box.setObjectName("errorBox")
        self._error_box.setWindowTitle(title)
        self._error_box.setText(text)
        self._error_box.open()

    # -- menu actions that ask first -----------------------------------------------------------
    def ask_new_model(self) -> None:
        vocab_sizes = {"current": self.controller.session.tokenizer.vocab_size,
                       "lessons": lessons_tokenizer().vocab_size}
        dialog = NewModelDialog(vocab_sizes, self)
        if dialog.exec() == NewModelDialog.DialogCode.Accepted:
            choice = dialog.choice()
            self.new_model(choice.config, choice.tokenizer, choice.seed)

    def ask_open_checkpoint(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a checkpoint folder", self._last_folder())
        if folder:
            self.open_checkpoint(folder, wait=False)

    def ask_open_gpt2(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a Hugging Face model folder (config.json, model "
                                                  "weights, tokenizer files)", self._last_folder())
        if folder:
            self.open_hub_model(folder, wait=False)

    def show_model_zoo(self) -> None:
        """The Model zoo dialog (one, kept): which models are cached, download, open."""
        if self._model_zoo is None:
            from .dialogs.model_zoo import ModelZooDialog

            self._model_zoo = ModelZooDialog(self.settings, self)
            self._model_zoo.open_requested.connect(lambda model_id: self.open_hub_model(model_id, wait=False))
        self._model_zoo.refresh()
        self._model_zoo.show()
        self._model_zoo.raise_()

    def ask_save_checkpoint(self) -> None:
        folder, _ = QFileDialog.getSaveFileName(self, "Save the model as a checkpoint folder",
                                                str(Path(self._last_folder()) / "my-model"))
        if folder:
            self.save_checkpoint(folder)

    def _ask_save_picture(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save a picture of the window", "attention-lab.png",
                                              "PNG image (*.png)")
        if path and not self.save_picture(path):
            self.show_error("Could not save the picture", f"{path} could not be written.")

    def save_picture(self, path: str | Path) -> bool:
        return credited_image(self).save(str(path), "PNG")

    def _last_folder(self) -> str:
        recent = self.settings.recent_items()
        return str(Path(recent[0].path).parent) if recent else str(Path.home())

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        items = self.settings.recent_items()
        openers = {"checkpoint": self.open_checkpoint, "gpt2": self.open_gpt2_folder, "hub": self.open_hub_model}
        for item in items:
            opener = openers.get(item.kind, self.open_gpt2_folder)
            action = self.recent_menu.addAction(f"{Path(item.path).name}  ({item.kind}: {item.path})")
            action.triggered.connect(lambda *_, opener=opener, path=item.path: opener(path, wait=False))
        if not items:
            self.recent_menu.addAction("No recent models").setEnabled(False)
        self.recent_menu.addSeparator()
        self.recent_menu.addAction("Clear the list", self.settings.clear_recent)

    # -- theme, layout, help -----------------------------------------------------------------
    def set_dark_theme(self, dark: bool) -> None:
        self.dark = bool(dark)
        apply_theme(QApplication.instance(), self.dark)
        for panel in self.panels:
            if hasattr(panel.widget, "apply_theme"):
                panel.widget.apply_theme(self.dark)
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
        zoom = min(max(float(zoom), ZOOMS[0]), ZOOMS[-1])
        plot_style.set_zoom(zoom)
        self.prompt_view.set_zoom(zoom)
        self.settings.set_value("view/zoom", zoom)
        self.set_dark_theme(self.dark)  # every panel re-makes its fonts and redraws, as presenter mode does
        if announce:
            self.statusBar().showMessage(f"Zoom {zoom:.0%}", 3000)

    def step_zoom(self, steps: int) -> None:
        larger = [z for z in ZOOMS if z > self.zoom + 1e-6]
        smaller = [z for z in ZOOMS if z < self.zoom - 1e-6]
        if steps > 0 and larger:
            self.set_zoom(larger[0])
        elif steps < 0 and smaller:
            self.set_zoom(smaller[-1])

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

    def show_shortcuts(self) -> None:
        lines = [f"<tr><td><b>{a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)}</b></td>"
                 f"<td>{a.text().replace('&', '')}</td></tr>" for a in self.actions() if not a.shortcut().isEmpty()]
        box = QMessageBox(QMessageBox.Icon.Information, "Keyboard shortcuts", "<table>" + "".join(lines) + "</table>",
                          QMessageBox.StandardButton.Ok, self)
        box.setObjectName("shortcutsBox")
        box.open()

    def show_model_card(self) -> None:
        from core.model.model_card import model_card

        from .dialogs.model_card import ModelCardDialog

        session = self.controller.session
        dialog = ModelCardDialog(model_card(session.config, session.source), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def show_about(self) -> None:
        QMessageBox.about(self, "About Attention Lab",
                          "Attention Lab shows every internal of a GPT-style model as it reads your prompt: "
                          "tokens, embeddings, positions, queries, keys, values, attention and the next-token "
                          "prediction. Every number on screen comes from the model you see.")

    def _restore_sampling(self) -> None:
        """The sampling knobs as the user left them last time."""
        view, settings = self.output_view, self.settings
        view.set_temperature(settings.value("sampling/temperature", 1.0))
        view.top_k_spin.setValue(settings.value("sampling/top_k", 0))
        view.top_p_slider.setValue(round(100 * settings.value("sampling/top_p", 1.0)))
        view.greedy_check.setChecked(settings.value("sampling/greedy", False))
        view.generate_count.setValue(settings.value("sampling/generate_count", 20))

    def _save_sampling(self) -> None:
        view = self.output_view
        for key, value in (("temperature", view.temperature), ("top_k", view.top_k or 0), ("top_p", view.top_p),
                           ("greedy", view.greedy_check.isChecked()), ("generate_count", view.generate_count.value())):
            self.settings.set_value(f"sampling/{key}", value)

    def closeEvent(self, event) -> None:
        if self._job is not None:  # a model being read cannot be interrupted: let its thread end first
            self._job.wait()
        if self._model_zoo is not None:
            self._model_zoo.stop()  # a download is cancelled (what it fetched is kept for next time)
        self.output_view.stop_generating()
        self._save_sampling()
        if self.remember_layout:
            self.settings.save_window_layout(self.saveGeometry(), self.saveState(LAYOUT_VERSION))
            self.settings.sync()
        self.controller.shutdown()
        super().closeEvent(event)
