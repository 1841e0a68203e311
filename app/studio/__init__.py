"""The training studio: set up a run, step through training, watch attention heads form.

    add_training_studio(window)    # a dock tabbed beside the explorer's Q/K/V panel
    window.ensure_studio()         # the StudioPanel, built the first time it is shown or asked for
    window.studio                  # the StudioPanel if it has been built, else None

The studio's code (the trainer, timelines, tokenizer training) is imported only when the panel is
built, so opening the explorer does not wait for it.

    identity.py              its name, title and tooltip, known before it is built
    studio_panel.py          the studio's view: lays out the parts and says what happens
    setup_panel.py           the form: text, tokenizer, model size, hyperparameters
    scrolling_tabs.py        the studio's tabs, each page scrolling instead of growing the window
    narrow.py                parts that stack or shorten when the studio is narrow (1280x720)
    builder.py               building a run off the GUI thread
    run_controller.py        the run and its thread: set up, train, pause, roll back, save
    worker.py                the training thread driving core's Trainer
    run_store.py             saving a run to resume after a restart; the autosave
    timeline_controller.py   the worker's news drawn at a calm pace, the timeline, the explorer
    draw_budget.py           how much the GUI may draw while training: a share of the training's CPU time
    timeline_bar.py          the timeline slider
    saved_history.py         a session's saved training history rebuilt as a Timeline
    display.py               a run's weights shown in the explorer
    controls.py              Play, Pause, Step, Train N, Reset, Save and the pace
    message_line.py          what just happened, and a Roll back offer
    live_plots.py            live loss, learning rate and gradient curves
    heads_view.py            every head at once, and what each became over training
    one_step_view.py         one optimizer step opened up
    bpe_view.py              BPE training shown merge by merge
    attention_frames.py      the probe's attention over training as pictures
    attention_export.py      those pictures exported as GIF or PNGs in the background
    startup.py               `--train-steps N`: train N steps before the screenshot
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt

from .identity import NEIGHBOUR_PANEL, STUDIO_NAME, TITLE, TOOLTIP


def add_training_studio(window) -> None:
    """Put the studio in the explorer window: it drives the window's panels with the run's weights.
    The guard and the drop handler are children of the window (Qt keeps them), not attributes of it."""

    def build():
        from .studio_panel import StudioPanel

        studio = StudioPanel(
            window.controller,
            window.selection,
            show_session=window.set_session,
            set_prompt=window.set_prompt,
            settings=window.settings,
        )
        WindowCloseGuard(window, studio)  # stops training when the window closes
        return studio

    window.add_lazy_panel(
        build, STUDIO_NAME, TITLE, TOOLTIP, Qt.DockWidgetArea.RightDockWidgetArea, tab_with=NEIGHBOUR_PANEL
    )
    FilesDroppedBeforeStudio(window)


class WindowCloseGuard(QObject):
    """Watches the main window: closing it stops training first (and autosaves)."""

    def __init__(self, window, studio) -> None:
        super().__init__(window)
        self.studio = studio
        window.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Close:
            self.studio.shutdown()
        return False


class FilesDroppedBeforeStudio(QObject):
    """A file dropped on the window goes to the studio's set-up, even before the studio was ever shown
    (then the studio is built for it)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        window.installEventFilter(self)
        window.setAcceptDrops(True)

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if kind == QEvent.Type.DragEnter and event.mimeData().hasUrls():
            event.acceptProposedAction()
            return True
        if kind == QEvent.Type.Drop and event.mimeData().hasUrls():
            return self.window.ensure_studio().open_dropped(event.mimeData().urls())
        return False


def show_training_studio(window) -> None:
    """Bring the studio's tab to the front (building it first if it has not been shown yet)."""
    studio = window.ensure_studio()
    for panel in window.panels:
        if panel.widget is studio:
            panel.dock.show()
            panel.dock.raise_()


def __getattr__(name: str):
    """`from app.studio import StudioPanel` still works; the module is loaded on that first use."""
    if name == "StudioPanel":
        from .studio_panel import StudioPanel

        return StudioPanel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["STUDIO_NAME", "StudioPanel", "add_training_studio", "show_training_studio"]
