"""The training studio's view: set up a run, step through it, watch the attention heads form.

    studio = StudioPanel(controller)                 # the explorer's controller shows the run's weights
    studio.set_up(RunSetup())                        # build (off the GUI thread); run_ready when done
    studio.play() / studio.pause() / studio.step()   # what the buttons do

The view lays out the widgets and says what happens; the work is done by
    RunController       (run_controller.py)       the run's lifecycle and its training thread
    TimelineController  (timeline_controller.py)  the worker's news drawn, scrubbing, the explorer's model
    AttentionExport     (attention_export.py)     GIF / PNG export in the background
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QVBoxLayout, QWidget

from .attention_export import AttentionExport
from .bpe_view import BPEView
from .controls import ControlBar, pace_name
from .identity import STUDIO_NAME, TITLE, TOOLTIP
from .heads_view import HeadsView
from .live_plots import LivePlots
from .message_line import MessageLine
from .one_step_view import OneStepView
from .run_controller import ROLLBACK_LR_SCALE, RunController
from .scrolling_tabs import ScrollingTabs
from core.training.recipe import PreparedRun, StartingModel
from core.training.run_setup import RunSetup
from .setup_panel import SetupPanel
from .timeline_bar import TimelineBar
from .timeline_controller import StudioParts, TimelineController


class StudioPanel(QWidget):
    TITLE, TOOLTIP, OBJECT_NAME = TITLE, TOOLTIP, STUDIO_NAME  # the window names its dock before building it
    FOLLOWS_SELECTION = False

    run_ready = Signal()                 # a new run is installed (set up, reset or resumed)
    setup_failed = Signal(str)           # the sentence shown to the user; nothing was changed
    frame_drawn = Signal(int)            # the studio took in this step (while paused: every curve drawn with it)
    paused = Signal(int)                 # training stopped at this step
    diverged = Signal(object)            # StepRecord of the refused step
    shown_step_changed = Signal(int)     # the explorer now shows the weights of this step
    saved = Signal(str)                  # a run was saved to this folder
    put_away = Signal()                  # another model was opened: the run was stopped and forgotten
    export_finished = Signal(str, bool)  # (sentence, failed) of a background export

    def __init__(self, controller=None, selection=None, show_session=None, set_prompt=None,
                 autosave_folder: str | Path | None = None, settings=None, parent: QWidget | None = None) -> None:
        """show_session(ModelInUse) / set_prompt(text): how the explorer is told (default: the controller);
        settings: an AppSettings that remembers the pace (None: not remembered)."""
        super().__init__(parent)
        self.setObjectName(STUDIO_NAME)
        self.setAccessibleName(self.TITLE)
        self.controller = controller
        show_session = show_session or (controller.set_session if controller is not None else None)
        set_prompt = set_prompt or (controller.set_prompt if controller is not None else None)

        self.controls = ControlBar()
        self.timeline_bar = TimelineBar()
        self.exporter = AttentionExport(self._what_to_draw)
        self.notes = MessageLine()
        self.message, self.rollback_button = self.notes.message, self.notes.rollback_button
        self.setup_panel = SetupPanel()
        self.plots = LivePlots()
        self.heads = HeadsView(selection)
        self.one_step = OneStepView()
        self.bpe_view = BPEView()
        self.tabs = ScrollingTabs(objectName="studioTabs")
        for widget, title in ((self.setup_panel, "Set up"), (self.plots, "Curves"), (self.heads, "Heads"),
                              (self.one_step, "One step"), (self.bpe_view, "Tokenizer")):
            self.tabs.add_page(widget, title)
        self._lay_out()

        self.runs = RunController(self._model_on_screen, autosave_folder, self)
        self.frames = TimelineController(
            self.runs, StudioParts(self.controls, self.timeline_bar, self.plots, self.heads, self.one_step),
            show_session, set_prompt, self)
        self._connect()
        self.controls.set_running(False)
        self.controls.set_enabled_for_run(False)   # after set_running, which turns Play and Step on
        if settings is not None:
            self.controls.remember_pace(settings)
        self.runs.set_steps_per_second(self.controls.pace_rate)
        self.setAcceptDrops(True)
        if controller is not None:
            controller.snapshot_ready.connect(self._on_snapshot)
            controller.session_changed.connect(self._on_session_changed)
        self.setup_panel.offer_autosave(self.runs.autosave_folder)

    def _lay_out(self) -> None:
        layout = QVBoxLayout(self)
        for part in (self.controls, self.timeline_bar, self.exporter, self.notes):
            layout.addWidget(part)
        layout.addWidget(self.tabs, 1)

    def _connect(self) -> None:
        controls, runs = self.controls, self.runs
        controls.play_clicked.connect(self.play)
        controls.pause_clicked.connect(self.pause)
        controls.step_clicked.connect(self.step)
        controls.step10_clicked.connect(lambda: self.train_steps(10, progress=False))
        controls.train_n_clicked.connect(self.train_steps)
        controls.reset_clicked.connect(self.reset)
        controls.save_clicked.connect(self._ask_save)
        controls.pace_changed.connect(self.runs.set_steps_per_second)
        self.notes.roll_back_clicked.connect(self.roll_back)
        self.timeline_bar.export_gif_requested.connect(self.exporter.ask_gif)
        self.timeline_bar.export_png_requested.connect(self.exporter.ask_pngs)
        self.exporter.finished.connect(self._on_export_finished)
        self.setup_panel.setup_requested.connect(self.set_up)
        self.setup_panel.resume_requested.connect(self.resume)
        self.setup_panel.estimate_requested.connect(self.measure_speed)
        runs.notice.connect(self.notes.say)
        runs.bpe_training_started.connect(self._on_bpe_training_started)
        runs.build_progress.connect(self.bpe_view.training_progress)
        runs.setup_failed.connect(self._on_setup_failed)
        runs.run_installed.connect(self._on_run_installed)
        runs.running_changed.connect(self._on_running_changed)
        runs.paused.connect(self._on_paused)
        runs.diverged.connect(self._on_diverged)
        runs.rolled_back.connect(self._on_rolled_back)
        runs.saved.connect(self._on_saved)
        runs.speed_measured.connect(self.setup_panel.show_speed)
        runs.speed_failed.connect(self.setup_panel.speed_label.setText)
        self.frames.frame_drawn.connect(self.frame_drawn)
        self.frames.shown_step_changed.connect(self.shown_step_changed)
        self.frames.took_over.connect(self.notes.show_takeover)

    # -- what the run controller holds (read by the window, lessons, session files and tests) ----------
    run = property(lambda self: self.runs.run, lambda self, run: setattr(self.runs, "run", run))
    timeline = property(lambda self: self.runs.timeline, lambda self, t: setattr(self.runs, "timeline", t))
    worker = property(lambda self: self.runs.worker)
    display = property(lambda self: self.runs.display)
    autosave_folder = property(lambda self: self.runs.autosave_folder,
                               lambda self, folder: setattr(self.runs, "autosave_folder", Path(folder)))

    @property
    def shown_step(self) -> int | None:
        """The step whose weights the explorer shows (None before any run)."""
        return self.frames.shown_step

    def training_losses(self) -> dict | None:
        """{"train": [[step, loss], ...], "val": [...]} of the run, or of the history shown; None without."""
        return self.runs.training_losses()

    # -- building a run -----------------------------------------------------------------------------
    def set_up(self, setup: RunSetup, start: StartingModel | None = None) -> None:
        """Build a run from `setup` off the GUI thread; the current run keeps going until it is ready.
        The explorer keeps its model and prompt until the new run's first training step."""
        self.runs.set_up(setup, start)

    def resume(self, folder: str) -> None:
        """Continue a run saved by the studio (after a restart, say)."""
        self.runs.resume(folder)

    def reset(self) -> None:
        """The same settings from fresh random weights (a fine-tune: from the model it started from)."""
        self.runs.reset()

    def _model_on_screen(self) -> StartingModel | None:
        if self.controller is None:
            return None
        session = self.controller.session
        return StartingModel(session.model, session.tokenizer, session.source, owner=session)

    def _on_bpe_training_started(self, merges: int) -> None:
        self.bpe_view.training_started(merges)
        self.tabs.setCurrentWidget(self.bpe_view)

    def _on_setup_failed(self, sentence: str) -> None:
        self.bpe_view.progress.hide()
        self.setup_failed.emit(sentence)

    def _on_run_installed(self, run: PreparedRun) -> None:
        trainer = run.trainer
        self.frames.attach(trainer.step_count)
        self.plots.load_history(trainer.loss_history)
        self.one_step.set_parameter_names(trainer.parameter_names)
        self.bpe_view.show_tokenizer(run.tokenizer, run.probe_prompt)
        self.setup_panel.set_setup(run.setup)
        self.controls.set_enabled_for_run(True)
        self.controls.set_running(False)
        self.notes.clear_notes()
        snapshot = trainer.last_good
        params = sum(array.size for array in {id(a): a for a in snapshot.tensors.values()}.values())
        ready = f"Ready: {run.setup.describe_corpus()}"
        if run.start is not None:
            ready = f"Ready to fine-tune a copy of {run.start.source}: {run.setup.describe_corpus()}"
        self.notes.say(f"{ready}, {run.tokenizer.vocab_size} tokens, {len(run.tokens):,} training tokens, a model of "
                  f"{params:,} numbers, at step {trainer.step_count}. The explorer keeps its own model until the "
                  f"first step. Press Play or Step.")
        self.tabs.setCurrentWidget(self.heads if run.tokenizer.kind != "bpe" else self.bpe_view)
        self.run_ready.emit()

    # -- the buttons ----------------------------------------------------------------------------------
    def play(self) -> None:
        """Train until the planned number of steps (another round of them if already there)."""
        if self.runs.run is None:  # nothing set up yet: set up the form's run, then play it
            self.runs.set_up(self.setup_panel.setup(), then_play=True)
            return
        left = self.runs.run.setup.max_steps - self.runs.step_count
        self.train_steps(left if left > 0 else self.runs.run.setup.max_steps)

    def train_steps(self, n: int, progress: bool = True) -> None:
        if self.runs.worker is None:
            return
        if progress:
            start = self.runs.step_count
            self.controls.start_progress(start, start + n)
        self.notes.clear_notes(takeover=False)
        self.runs.train_steps(n)

    def step(self) -> None:
        """Exactly one optimizer step, opened up in the One step tab."""
        if self.runs.worker is None:
            return
        self.notes.clear_notes(takeover=False)
        start = self.runs.step_count
        self.controls.start_progress(start, start + 1)
        self.runs.step(inspect=(self.one_step.chosen_parameter(),))

    def pause(self) -> None:
        self.runs.pause()

    def roll_back(self) -> None:
        """Back to the last good snapshot, with the learning rate scaled down."""
        self.notes.clear_notes(takeover=False)
        self.runs.roll_back()

    def set_pace(self, steps_per_second: float) -> None:
        """Train at most this many steps a second (0: as fast as possible), as the pace box would."""
        self.controls.set_pace(steps_per_second)

    # -- the run's news ---------------------------------------------------------------------------------
    def _on_running_changed(self, running: bool) -> None:
        self.controls.set_running(running)
        if running:
            pace = self.runs.steps_per_second_limit
            at = f" at {pace_name(pace)}" if pace > 0 else ""
            self.notes.say(f"Training{at}… Pause stops after the step in progress; drag the timeline to look back.")

    def _on_paused(self, step: int) -> None:
        self.controls.stop_progress(step)
        if not self.notes.roll_back_offered:  # a divergence notice stays until it is dealt with
            self.notes.say(f"Paused at step {step}. Play, Step or Train continue from here.")
        self.frames.on_news()   # everything the worker sent is drawn before anyone hears of the pause
        self.paused.emit(step)

    def _on_diverged(self, record) -> None:
        self.notes.say(f"Training paused: {record.message}", error=True)
        self.notes.offer_roll_back(self.runs.worker.trainer.last_good.step, ROLLBACK_LR_SCALE)
        self.diverged.emit(record)

    def _on_rolled_back(self, step: int, sentence: str) -> None:
        self.frames.rewind(step)
        self.notes.say(sentence)

    def _on_session_changed(self, session) -> None:
        """Another model in the explorer (opened, reloaded, a new one): the studio's run no longer belongs."""
        if self.runs.run is None and self.runs.history is None:
            return
        if self.frames.is_own(session):
            return
        autosaved = self.runs.put_away()
        self.frames.attach(0)
        self._show_no_run()
        kept = " Its unsaved steps were autosaved: resume them from the Set up tab." if autosaved else ""
        if autosaved:
            self.setup_panel.offer_autosave(self.runs.autosave_folder)
        self.notes.say(f"A different model was opened, so the studio put its run away.{kept} "
                       f"Set up a run to train again.")
        self.put_away.emit()

    def _on_snapshot(self, snapshot) -> None:
        """The explorer traced the probe: the head grid shows the same picture."""
        display = self.runs.display
        if display is not None and snapshot.config == display.config:
            self.heads.show_snapshot(snapshot)

    # -- saving -------------------------------------------------------------------------------------------
    def save_run(self, folder: str | Path) -> None:
        """Save a checkpoint of the run now (between steps); `saved` reports it."""
        if self.runs.run is not None:
            self.runs.save_run(folder, self._probe_prompt())

    def _on_saved(self, folder: str, step: int) -> None:
        self.notes.say(f"Saved the run at step {step} to {folder}. Resume it any time with “Resume a saved run…”.")
        self.saved.emit(folder)

    def _ask_save(self) -> None:
        folder, _ = QFileDialog.getSaveFileName(self, "Save the training run as a folder",
                                                str(Path.home() / "my-training-run"))
        if folder:
            self.save_run(folder)

    def _probe_prompt(self) -> str:
        """The explorer's prompt once the run has taken it over, else the run's own probe."""
        if self.frames.taken_over and self.controller is not None and self.controller.prompt:
            return self.controller.prompt
        if self.runs.run is not None:
            return self.runs.run.probe_prompt
        return self.controller.prompt if self.controller is not None else ""

    # -- a saved session's training history -------------------------------------------------------------
    def restore_training_history(self, snapshots, losses: dict | None) -> None:
        """Show the loss curves and timeline saved in a session, to look back through.

        `snapshots`: ((step, {parameter name: tensor}), ...) in step order, for the model the explorer shows
        now (the session's). A session keeps no optimizer state, so this history is for looking, not for
        training on; a run in progress stops first and is autosaved if it has unsaved steps.
        """
        shown = self.controller.session if self.controller is not None else None
        if shown is None:
            return
        misfit = self.frames.show_history(shown, snapshots, losses)
        self._show_no_run()
        if misfit is not None:
            self.notes.say(f"The session's timeline does not fit its model ({misfit}), so only its loss curves "
                           f"are shown.", error=True)
            return
        self.notes.say(f"Opened the training history saved in the session: {len(snapshots)} snapshots up to "
                       f"step {self.timeline_bar.slider.maximum()}. Drag the timeline to look back; set up or resume "
                       f"a run to train again.")

    def _show_no_run(self) -> None:
        """Buttons off and notes hidden: there is no run to train (none yet, put away, or a saved history)."""
        self.controls.set_running(False)
        self.controls.set_enabled_for_run(False)
        self.controls.clear_progress()
        self.notes.clear_notes()

    # -- export (AttentionExport does it; these name it for scripts and tests) ---------------------------
    def _what_to_draw(self) -> tuple:
        """([(step, WeightSnapshot)] of every kept step, the model's config, the probe's token ids)."""
        timeline, display = self.runs.timeline, self.runs.display
        if timeline is None or display is None:
            return [], None, []
        ids = display.tokenizer.encode(self._probe_prompt())[-display.config.context_length:]
        return [(step, timeline.get(step)) for step in timeline.steps()], display.config, ids

    def export_gif(self, path: str | Path) -> Path:
        """Write the GIF now, on this thread; the GIF… button exports in the background instead."""
        return self.exporter.write_gif_now(path)

    def export_pngs(self, folder: str | Path) -> list[Path]:
        return self.exporter.write_pngs_now(folder)

    def export_gif_in_background(self, path: str | Path):
        """Start the GIF export on a thread with a progress bar and Cancel; export_finished tells the end."""
        return self.exporter.start_gif(path)

    def _on_export_finished(self, sentence: str, failed: bool) -> None:
        self.notes.say(sentence, error=failed)
        self.export_finished.emit(sentence, failed)

    # -- speed estimate ---------------------------------------------------------------------------------
    def measure_speed(self, setup: RunSetup) -> None:
        if self.runs.measure_speed(setup):
            self.setup_panel.speed_label.setText("measuring…")

    def show_snapshot(self, snapshot) -> None:
        """Nothing to redraw from the explorer's snapshots: the studio draws its own run."""

    def set_theme(self, dark: bool) -> None:
        for part in (self.plots, self.heads, self.one_step, self.bpe_view):
            part.set_theme(dark)

    # -- files dropped on the studio or the window ---------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        self.open_dropped(event.mimeData().urls())

    def open_dropped(self, urls) -> bool:
        files = [url.toLocalFile() for url in urls if url.isLocalFile()]
        if not files:
            return False
        self.setup_panel.add_file(files[0])
        self.tabs.setCurrentWidget(self.setup_panel)
        self.notes.say(f"Corpus: {Path(files[0]).name}. Adjust the settings if you like, then press Set up run.")
        return True

    # -- closing --------------------------------------------------------------------------------------------
    def shutdown(self) -> bool:
        """Stop training within a moment and autosave an unsaved run; an export is cancelled. True if the
        training thread ended."""
        self.frames.detach()
        self.exporter.wait()
        return self.runs.shutdown()
