"""The training studio: set up a run, step through it, watch the attention heads form.

    studio = StudioPanel(controller)                 # the explorer's controller shows the run's weights
    studio.set_up(RunSetup())                        # build (off the GUI thread); run_ready when done
    studio.play() / studio.pause() / studio.step()   # what the buttons do

Data flow (the GUI thread never trains and never waits on training):
    TrainingWorker --outbox--> _on_frame (≤ 30 fps): curves, progress, detector scores, timeline
                               every DISPLAY_INTERVAL_MS while live: newest weights -> controller
    timeline slider --> nearest kept snapshot --> controller (every explorer panel) + markers
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from PySide6.QtCore import QEvent, QObject, Qt, QThread, QTimer, Signal
from PySide6.QtWidgets import (QApplication, QFileDialog, QHBoxLayout, QLabel, QPushButton, QScrollArea, QTabWidget,
                               QVBoxLayout,
                               QWidget)

from core.teaching.timeline import Timeline, capacity_for, snapshot_nbytes
from core.training.recipe import PreparedRun, StartingModel, prepare_run, reads_the_same_text
from core.training.run_setup import RunSetup
from core.training.trainer import StepRecord, WeightSnapshot

from .. import studio as studio_package
from .attention_frames import attention_frames, export_gif, export_png_sequence
from .bpe_view import BPEView
from .builder import RunBuilder, measure_steps_per_second
from .controls import ControlBar
from .display import WeightDisplay
from .heads_view import HeadsView
from .live_plots import LivePlots
from .one_step_view import OneStepView
from .run_store import default_autosave_folder, read_run_info, resume_run, save_run
from .setup_panel import SetupPanel
from .timeline_bar import TimelineBar
from .worker import DisplayWeights, HeadScores, SharedTimeline, TrainingWorker

FRAME_MS = 33                 # the worker's news is collected ~30 times a second...
DRAW_INTERVAL_S = 0.1         # ...but while training one piece is drawn every 0.1 s (each plot ~2-3 times a
                              # second): painting holds the GIL, and at 30 fps training lost 2/3 of its speed
DISPLAY_INTERVAL_MS = 2000    # how often the explorer's panels get the newest weights while training
STOP_TIMEOUT_MS = 2000        # closing the window waits at most this long for the step in progress
ROLLBACK_LR_SCALE = 0.5
TIMELINE_SNAPSHOTS = 128      # at most this many kept steps (fewer for big models: see capacity_for)
FIRST_SNAPSHOTS = 48          # snapshots planned over the run's steps at first


class StudioPanel(QWidget):
    TITLE, TOOLTIP = studio_package.TITLE, studio_package.TOOLTIP  # the window names its dock before building it
    OBJECT_NAME = studio_package.STUDIO_NAME
    FOLLOWS_SELECTION = False

    run_ready = Signal()                 # a new run is installed (set up, reset or resumed)
    setup_failed = Signal(str)           # the sentence shown to the user; nothing was changed
    frame_drawn = Signal(int)            # the studio took in this step (while paused: every curve drawn with it)
    paused = Signal(int)                 # training stopped at this step
    diverged = Signal(object)            # StepRecord of the refused step
    shown_step_changed = Signal(int)     # the explorer now shows the weights of this step
    saved = Signal(str)                  # a run was saved to this folder

    def __init__(self, controller=None, selection=None, show_session=None, set_prompt=None,
                 autosave_folder: str | Path | None = None, parent: QWidget | None = None) -> None:
        """show_session(ModelInUse) / set_prompt(text): how the explorer is told (default: the controller)."""
        super().__init__(parent)
        self.setObjectName(studio_package.STUDIO_NAME)
        self.setAccessibleName(self.TITLE)
        self.controller = controller
        self._show_session = show_session or (controller.set_session if controller is not None else None)
        self._set_prompt = set_prompt or (controller.set_prompt if controller is not None else None)
        self.autosave_folder = Path(autosave_folder) if autosave_folder else default_autosave_folder()
        self.run: PreparedRun | None = None
        self.worker: TrainingWorker | None = None
        self.timeline: SharedTimeline | None = None
        self.display: WeightDisplay | None = None
        self._builder: RunBuilder | None = None
        self._speed_builder: RunBuilder | None = None
        self._shown_step: int | None = None
        self._last_display_request = 0.0
        self._display_pending = False
        self._saved_step = 0
        self._running = False
        self._play_when_ready = False
        self._undrawn_records: list[StepRecord] = []
        self._scores_changed = False
        self._next_draw = 0.0
        self._draw_turn = 0
        self._history: tuple | None = None   # (ModelInUse, losses) of a saved session's run, shown read-only

        self.controls = ControlBar()
        self.timeline_bar = TimelineBar()
        self.message = QLabel(objectName="studioMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        self.rollback_button = QPushButton(objectName="rollbackButton")
        self.rollback_button.hide()
        self.rollback_button.clicked.connect(self.roll_back)
        self.setup_panel = SetupPanel()
        self.plots = LivePlots()
        self.heads = HeadsView(selection)
        self.one_step = OneStepView()
        self.bpe_view = BPEView()
        self.tabs = QTabWidget(objectName="studioTabs")
        for widget, title in ((_scrolling(self.setup_panel), "Set up"), (self.plots, "Curves"), (self.heads, "Heads"),
                              (self.one_step, "One step"), (self.bpe_view, "Tokenizer")):
            self.tabs.addTab(widget, title)
        message_row = QHBoxLayout()
        message_row.addWidget(self.message, 1)
        message_row.addWidget(self.rollback_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.timeline_bar)
        layout.addLayout(message_row)
        layout.addWidget(self.tabs, 1)

        self._frame_timer = QTimer(self, interval=FRAME_MS)
        self._frame_timer.timeout.connect(self._on_frame)
        self._connect()
        self.controls.set_enabled_for_run(False)
        self.controls.set_running(False)
        self.controls.set_enabled_for_run(False)
        self.setAcceptDrops(True)
        if controller is not None:
            controller.snapshot_ready.connect(self._on_snapshot)
        self._offer_autosave()

    def _connect(self) -> None:
        self.controls.play_clicked.connect(self.play)
        self.controls.pause_clicked.connect(self.pause)
        self.controls.step_clicked.connect(self.step)
        self.controls.step10_clicked.connect(lambda: self.train_steps(10, progress=False))
        self.controls.train_n_clicked.connect(self.train_steps)
        self.controls.reset_clicked.connect(self.reset)
        self.controls.save_clicked.connect(self._ask_save)
        self.timeline_bar.scrubbed.connect(self._on_scrubbed)
        self.timeline_bar.export_gif_requested.connect(self._ask_export_gif)
        self.timeline_bar.export_png_requested.connect(self._ask_export_pngs)
        self.setup_panel.setup_requested.connect(self.set_up)
        self.setup_panel.resume_requested.connect(self.resume)
        self.setup_panel.estimate_requested.connect(self.measure_speed)

    # -- building a run -----------------------------------------------------------------------------
    def set_up(self, setup: RunSetup, start: StartingModel | None = None) -> None:
        """Build a run from `setup` off the GUI thread; the current run keeps going until it is ready.
        A run that starts from the model on screen trains a copy of `start` (default: the explorer's model now)."""
        finetune = setup.start_from == "screen"
        if finetune and start is None:
            start = self._model_on_screen()
        reuse = self.run if self.run is not None and reads_the_same_text(self.run.setup, setup) else None
        if setup.tokenizer == "bpe" and reuse is None and not finetune:
            self.bpe_view.training_started(setup.bpe_vocab_size - 256)
            self.tabs.setCurrentWidget(self.bpe_view)
        notice = f"Setting up: {setup.describe_corpus()}, {setup.tokenizer} tokens…"
        if finetune and start is not None:
            notice = f"Setting up: a copy of {start.source} to fine-tune on {setup.describe_corpus()}…"
        self._build(lambda progress: prepare_run(
            setup, text=reuse.text if reuse else None, tokenizer=reuse.tokenizer if reuse else None,
            progress=progress, start=start), notice)

    def _model_on_screen(self) -> StartingModel | None:
        if self.controller is None:
            return None
        session = self.controller.session
        return StartingModel(session.model, session.tokenizer, session.source, owner=session)

    def resume(self, folder: str) -> None:
        """Continue a run saved by the studio (after a restart, say)."""
        self._build(lambda progress: resume_run(folder), f"Resuming the run saved in {folder}…")

    def reset(self) -> None:
        """The same settings from fresh random weights (a fine-tune: from the model it started from)."""
        if self.run is not None:
            self.set_up(self.run.setup, self.run.start)

    def _build(self, make, notice: str) -> None:
        if self._builder is not None and self._builder.isRunning():
            if not self._builder.delivered:
                self._say("Still setting up the previous run; try again in a moment.")
                return
            self._builder.wait()  # its answer came (a set-up asked for right after a refusal): it is returning
        self._say(notice)
        _forget(self._builder)  # a finished builder holds its closure (and the run it reused) while it lives
        self._builder = RunBuilder(make, self)
        self._builder.built.connect(self._install_run)
        self._builder.failed.connect(self._on_build_failed)
        self._builder.progress.connect(self.bpe_view.training_progress)
        self._builder.start()

    def _on_build_failed(self, sentence: str) -> None:
        kept = " The current run is untouched." if self.run is not None else ""
        self._say(f"Could not set up the run: {sentence}{kept}", error=True)
        self.bpe_view.progress.hide()
        self._play_when_ready = False
        self.setup_failed.emit(sentence)

    def _install_run(self, run: PreparedRun) -> None:
        self._stop_worker()
        self._drop_worker()  # or every set-up keeps the old run (trainer, timeline) alive as our child
        self.run = run
        self._history = None
        trainer = run.trainer
        snapshot = trainer.last_good
        capacity = capacity_for(snapshot_nbytes(snapshot.tensors), largest=TIMELINE_SNAPSHOTS)
        # Start with about FIRST_SNAPSHOTS over the planned run (each also scores every head: ~1/3 of a step);
        # the timeline thins itself if the run goes on longer.
        every = max(1, -(-run.setup.max_steps // FIRST_SNAPSHOTS))
        self.timeline = SharedTimeline(Timeline(capacity=capacity, every=every))
        source = f"training run ({run.setup.describe_corpus()})"
        if run.start is not None:
            source = f"{run.start.source}, fine-tuned on {run.setup.describe_corpus()}"
        self.display = WeightDisplay(trainer.model.config, run.tokenizer, source)
        self.worker = TrainingWorker(trainer, self.timeline, run.detector_probe, self._encode_probe(run), self)
        self.worker.progressed.connect(self._on_progressed)
        self.worker.running_changed.connect(self._on_running_changed)
        self.worker.paused.connect(self._on_worker_paused)
        self.worker.diverged.connect(self._on_diverged)
        self.worker.called.connect(self._on_called)
        self.worker.start()

        self.plots.clear()
        self.plots.load_history(trainer.loss_history)
        self.heads.detectors.clear()
        self.one_step.clear()
        self.one_step.set_parameter_names(trainer.parameter_names)
        self.bpe_view.show_tokenizer(run.tokenizer, run.probe_prompt)
        self.timeline_bar.reset()
        self.timeline_bar.set_latest_step(trainer.step_count, every, 1)
        self.setup_panel.set_setup(run.setup)
        self.controls.set_enabled_for_run(True)
        self.controls.set_running(False)
        self.rollback_button.hide()
        self._saved_step = trainer.step_count
        self._shown_step = None
        if run.start is None:  # a fine-tune leaves the explorer on its model (and prompt) until training changes it
            self._show_weights(snapshot)
            if self._set_prompt is not None:
                self._set_prompt(run.probe_prompt)
        params = sum(array.size for array in {id(a): a for a in snapshot.tensors.values()}.values())
        ready = f"Ready: {run.setup.describe_corpus()}"
        if run.start is not None:
            ready = (f"Ready to fine-tune a copy of {run.start.source} (the explorer shows the original until "
                     f"training changes the copy): {run.setup.describe_corpus()}")
        self._say(f"{ready}, {run.tokenizer.vocab_size} tokens, {len(run.tokens):,} training tokens, a model of "
                  f"{params:,} numbers, at step {trainer.step_count}. Press Play or Step.")
        self.tabs.setCurrentWidget(self.heads if run.tokenizer.kind != "bpe" else self.bpe_view)
        self.run_ready.emit()
        if self._play_when_ready:
            self._play_when_ready = False
            self.play()

    # -- the buttons ----------------------------------------------------------------------------------
    def play(self) -> None:
        """Train until the planned number of steps (another round of them if already there)."""
        if self.run is None:  # nothing set up yet: set up the form's run, then play it
            self._play_when_ready = True
            self.set_up(self.setup_panel.setup())
            return
        left = self.run.setup.max_steps - self.worker.trainer.step_count
        self.train_steps(left if left > 0 else self.run.setup.max_steps)

    def train_steps(self, n: int, progress: bool = True) -> None:
        if self.worker is None:
            return
        if progress:
            start = self.worker.trainer.step_count
            self.controls.start_progress(start, start + n)
        self._clear_notice()
        self.worker.play(n)

    def step(self) -> None:
        """Exactly one optimizer step, opened up in the One step tab."""
        if self.worker is None:
            return
        self._clear_notice()
        start = self.worker.trainer.step_count
        self.controls.start_progress(start, start + 1)
        self.worker.step(inspect=(self.one_step.chosen_parameter(),))

    def pause(self) -> None:
        if self.worker is not None:
            self.worker.pause()

    def roll_back(self) -> None:
        """Back to the last good snapshot, with the learning rate scaled down."""
        if self.worker is None:
            return
        self.rollback_button.hide()
        self.worker.call(lambda trainer: ("rollback", trainer.roll_back(ROLLBACK_LR_SCALE), trainer.step_count))

    # -- the worker's news ----------------------------------------------------------------------------
    def _on_progressed(self) -> None:
        if not self._frame_timer.isActive():
            self._frame_timer.start()

    def _on_running_changed(self, running: bool) -> None:
        self._running = running
        self.controls.set_running(running)
        if running:
            self._say("Training… Pause stops after the step in progress; drag the timeline to look back.")

    def _on_worker_paused(self, step: int) -> None:
        self.controls.stop_progress(step)
        if not self.rollback_button.isVisible():  # a divergence notice stays until it is dealt with
            self._say(f"Paused at step {step}. Play, Step or Train continue from here.")
        self._on_frame()
        self.paused.emit(step)

    def _on_frame(self) -> None:
        """Take what the worker produced; while training, draw a little of it every DRAW_INTERVAL_S."""
        if self.worker is None:
            self._frame_timer.stop()
            return
        items = self.worker.drain()
        records = [item for item in items if isinstance(item, StepRecord)]
        self.plots.add_records(records)
        self._undrawn_records += records
        for item in items:
            if isinstance(item, HeadScores):
                self.heads.detectors.add_scores(item.step, item.scores)
                self._scores_changed = True
            elif isinstance(item, DisplayWeights):
                self._display_pending = False
                if self.timeline_bar.live:
                    self._show_weights(item.snapshot)
        now = time.perf_counter()
        if not self._running:
            self._draw_everything()
            if not items:
                self._frame_timer.stop()
        elif now >= self._next_draw:
            self._draw_a_little()
            self._next_draw = now + DRAW_INTERVAL_S
        if self._running and self.timeline_bar.live:
            self._request_display()

    def _draw_a_little(self) -> None:
        """One picture per call, in turn: a curve plot, the detector plots, the progress bar.

        Painting holds the GIL, so the training thread waits while the GUI paints; small pieces keep
        both the window's pauses and the training's losses small."""
        self._draw_turn = (self._draw_turn + 1) % 3
        if self._draw_turn == 0:
            self.plots.repaint_one_plot()
        elif self._draw_turn == 1 and self._scores_changed:
            self.heads.detectors.repaint()
            self._scores_changed = False
        elif self._draw_turn == 2 and self._undrawn_records:
            records, self._undrawn_records = self._undrawn_records, []
            self._after_records(records)
            self.frame_drawn.emit(records[-1].step)

    def _draw_everything(self) -> None:
        if self._scores_changed:
            self.heads.detectors.repaint()
            self._scores_changed = False
        self.plots.repaint()
        if self._undrawn_records:
            records, self._undrawn_records = self._undrawn_records, []
            self._after_records(records)
            self.frame_drawn.emit(records[-1].step)

    def _after_records(self, records: list[StepRecord]) -> None:
        last = records[-1]
        speed = self.worker.steps_per_second or _recent_speed(records)
        self.controls.show_progress(last.step, speed)
        self.timeline_bar.set_latest_step(last.step, self.timeline.every, len(self.timeline))
        inspected = [r for r in records if r.details is not None]
        if inspected:
            self.one_step.show_step(inspected[-1], self.run.tokenizer)

    def _on_diverged(self, record: StepRecord) -> None:
        self._say(f"Training paused: {record.message}", error=True)
        self.rollback_button.setText(f"Roll back to step {self.worker.trainer.last_good.step} "
                                     f"with the learning rate ×{ROLLBACK_LR_SCALE}")
        self.rollback_button.show()
        self.diverged.emit(record)

    def _on_called(self, number: int, result, error: str) -> None:
        if error:
            self._say(error, error=True)
            return
        if isinstance(result, tuple) and result and result[0] == "rollback":
            _, sentence, step = result
            self.timeline.truncate_after(step)
            self.plots.keep_until(step)
            self.heads.detectors.keep_until(step)
            self.heads.detectors.repaint()
            self.timeline_bar.set_latest_step(step, self.timeline.every, len(self.timeline))
            self._request_display(force=True)
            self._say(sentence)
        elif isinstance(result, tuple) and result and result[0] == "saved":
            _, folder, step = result
            self._saved_step = step
            self._say(f"Saved the run at step {step} to {folder}. Resume it any time with “Resume a saved run…”.")
            self.saved.emit(str(folder))

    # -- showing weights in the explorer ------------------------------------------------------------
    def _request_display(self, force: bool = False) -> None:
        now = time.perf_counter()
        if self.worker is None or (not force and (self._display_pending or
                                                  now - self._last_display_request < DISPLAY_INTERVAL_MS / 1000)):
            return
        self._last_display_request = now
        self._display_pending = True
        self.worker.request_display_weights()

    def _show_weights(self, weights: WeightSnapshot) -> None:
        if self._show_session is None or self.display is None:
            return
        self._shown_step = weights.step
        self._show_session(self.display.session_for(weights))
        self.shown_step_changed.emit(weights.step)

    @property
    def shown_step(self) -> int | None:
        """The step whose weights the explorer shows (None before any run)."""
        return self._shown_step

    def _on_scrubbed(self, step) -> None:
        if self.timeline is None or not len(self.timeline):
            return
        if step is None:  # back to live
            self.plots.show_marker(None)
            self.heads.detectors.show_marker(None)
            if self._history is not None and self._show_session is not None:
                self._show_session(self._history[0])   # a saved history's "live" end is the session's own model
            self._request_display(force=True)
            return
        kept_step, weights = self.timeline.nearest(step)
        self.timeline_bar.show_step(kept_step)
        self.plots.show_marker(kept_step)
        self.heads.detectors.show_marker(kept_step)
        if kept_step != self._shown_step:
            self._show_weights(weights)

    def _on_snapshot(self, snapshot) -> None:
        """The explorer traced the probe: the head grid shows the same picture."""
        if self.display is not None and snapshot.config == self.display.config:
            self.heads.show_snapshot(snapshot)

    # -- saving, export -----------------------------------------------------------------------------------
    def save_run(self, folder: str | Path) -> None:
        """Save a checkpoint of the run now (between steps); `saved` reports it."""
        if self.worker is None:
            return
        setup, prompt = self.run.setup, self._probe_prompt()

        def save(trainer):
            try:
                return "saved", save_run(folder, trainer, setup, prompt), trainer.step_count
            except (OSError, ValueError) as problem:  # the run itself is untouched: say so, and keep training
                raise ValueError(f"Could not save the run: {problem}") from problem

        self.worker.call(save)

    def _ask_save(self) -> None:
        folder, _ = QFileDialog.getSaveFileName(self, "Save the training run as a folder",
                                                str(Path.home() / "my-training-run"))
        if folder:
            self.save_run(folder)

    def _probe_prompt(self) -> str:
        if self.controller is not None and self.controller.prompt:
            return self.controller.prompt
        return self.run.probe_prompt if self.run is not None else ""

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
        self.shutdown()
        self._drop_worker()
        self.run = None
        self._history = (shown, losses)
        self.display = WeightDisplay(shown.config, shown.tokenizer, f"{shown.source} (saved history)")
        misfit = _first_misfit(snapshots, shown.model)
        if misfit is not None:   # a hand-edited or mixed-up file: keep the curves, drop the snapshots
            snapshots = ()
        self.timeline = SharedTimeline(_timeline_of(snapshots))
        self.plots.clear()
        self.plots.load_history(losses)
        self.plots.repaint()
        self.heads.detectors.clear()
        self.one_step.clear()
        last_step = max([step for step, _ in snapshots] + [shown.step or 0])
        self.timeline_bar.reset()
        self.timeline_bar.set_latest_step(last_step, self.timeline.every, len(self.timeline))
        self.controls.set_enabled_for_run(False)
        self.controls.set_running(False)
        self._shown_step = shown.step
        if misfit is not None:
            self._say(f"The session's timeline does not fit its model ({misfit}), so only its loss curves are "
                      f"shown.", error=True)
            return
        self._say(f"Opened the training history saved in the session: {len(snapshots)} snapshots up to step "
                  f"{last_step}. Drag the timeline to look back; set up or resume a run to train again.")

    def training_losses(self) -> dict | None:
        """{"train": [[step, loss], ...], "val": [...]} of the run, or of the history shown; None without."""
        history = getattr(getattr(self.run, "trainer", None), "loss_history", None)
        if history:
            return {name: [list(point) for point in list(points)] for name, points in dict(history).items()}
        return self._history[1] if self._history is not None else None

    @staticmethod
    def _encode_probe(run: PreparedRun) -> list[int]:
        return run.tokenizer.encode(run.probe_prompt)[-run.trainer.model.config.context_length:]

    def probe_ids(self):
        """The probe prompt as token ids, cut to the context (what the frames and the explorer show)."""
        ids = self.display.tokenizer.encode(self._probe_prompt())
        return ids[-self.display.config.context_length:]

    def export_frames(self):
        """(step, QImage) for every kept step: the probe's attention as it was."""
        with_weights = [(step, self.timeline.get(step)) for step in self.timeline.steps()]
        return attention_frames(with_weights, self.display.config, self.probe_ids())

    def export_gif(self, path: str | Path) -> Path:
        return export_gif(path, self.export_frames())

    def export_pngs(self, folder: str | Path) -> list[Path]:
        return export_png_sequence(folder, self.export_frames())

    def _ask_export_gif(self) -> None:
        if self.timeline is None or not len(self.timeline):
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save the attention over training as a GIF",
                                              str(Path.home() / "attention-over-training.gif"), "GIF (*.gif)")
        if path:
            self._export(lambda: self.export_gif(path), f"Saved {len(self.timeline)} frames to {path}")

    def _ask_export_pngs(self) -> None:
        if self.timeline is None or not len(self.timeline):
            return
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder for the PNG pictures", str(Path.home()))
        if folder:
            self._export(lambda: self.export_pngs(folder), f"Saved {len(self.timeline)} pictures to {folder}")

    def _export(self, do, done: str) -> None:
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            do()
        except (OSError, ValueError) as problem:
            self._say(f"Could not export: {problem}", error=True)
            return
        finally:
            QApplication.restoreOverrideCursor()
        self._say(done)

    # -- speed estimate ---------------------------------------------------------------------------------
    def measure_speed(self, setup: RunSetup) -> None:
        if self._speed_builder is not None and self._speed_builder.isRunning():
            return
        self.setup_panel.speed_label.setText("measuring…")
        _forget(self._speed_builder)
        start = self._model_on_screen() if setup.start_from == "screen" else None
        self._speed_builder = RunBuilder(lambda progress: measure_steps_per_second(setup, start=start), self)
        self._speed_builder.built.connect(self.setup_panel.show_speed)
        self._speed_builder.failed.connect(lambda sentence: self.setup_panel.speed_label.setText(sentence))
        self._speed_builder.start()

    def show_snapshot(self, snapshot) -> None:
        """Nothing to redraw from the explorer's snapshots: the studio draws its own run."""

    def set_theme(self, dark: bool) -> None:
        for part in (self.plots, self.heads, self.one_step, self.bpe_view):
            part.apply_theme(dark)

    # -- messages ---------------------------------------------------------------------------------------
    def _say(self, text: str, error: bool = False) -> None:
        colour = "#d93025" if error else ""
        self.message.setText(f"<span style='color:{colour}'>{text}</span>" if colour else text)
        self.message.setVisible(bool(text))

    def _clear_notice(self) -> None:
        self.rollback_button.hide()

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
        self._say(f"Corpus: {Path(files[0]).name}. Adjust the settings if you like, then press Set up run.")
        return True

    # -- closing --------------------------------------------------------------------------------------------
    def shutdown(self) -> bool:
        """Stop training within STOP_TIMEOUT_MS and autosave an unsaved run. True if the thread ended."""
        ended = self._stop_worker()
        if self.run is not None and self.run.trainer.step_count > self._saved_step and ended:
            try:
                save_run(self.autosave_folder, self.run.trainer, self.run.setup, self._probe_prompt())
            except (OSError, ValueError) as problem:
                print(f"Could not autosave the training run: {problem}")
        for builder in (self._builder, self._speed_builder):
            if builder is not None:
                builder.wait(STOP_TIMEOUT_MS)
        return ended

    def _stop_worker(self) -> bool:
        self._frame_timer.stop()
        if self.worker is None:
            return True
        ended = self.worker.stop(STOP_TIMEOUT_MS)
        self.worker.drain()
        self._running = False
        self._undrawn_records, self._scores_changed = [], False
        return ended

    def _drop_worker(self) -> None:
        """Forget a stopped worker thread (it is this panel's child until deleted)."""
        _forget(self.worker)
        self.worker = None

    def _offer_autosave(self) -> None:
        try:
            info = read_run_info(self.autosave_folder)
        except ValueError:
            return
        self.setup_panel.show_autosave(str(self.autosave_folder), info.step)


def _first_misfit(snapshots, model) -> str | None:
    """What keeps these snapshots from loading into `model` (a sentence), or None if they all fit."""
    expected = {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}
    for step, tensors in snapshots:
        shapes = {name: tuple(value.shape) for name, value in tensors.items()}
        if set(shapes) != set(expected):
            return f"step {step} holds other parameters than the model"
        wrong = next((name for name, shape in shapes.items() if shape != expected[name]), None)
        if wrong is not None:
            return f"step {step}: {wrong} is {shapes[wrong]}, the model's is {expected[wrong]}"
    return None


def _timeline_of(snapshots) -> Timeline:
    """A timeline holding exactly these (step, tensors) snapshots: its grid is their common spacing."""
    steps = [int(step) for step, _ in snapshots]
    every = 1
    if len(steps) > 1:
        every = math.gcd(*(step - steps[0] for step in steps[1:])) or 1
    timeline = Timeline(capacity=max(2, len(steps)), every=every)
    for step, tensors in snapshots:
        arrays = {name: np.asarray(value.detach().cpu() if hasattr(value, "detach") else value)
                  for name, value in tensors.items()}
        timeline.add(int(step), WeightSnapshot(int(step), arrays))
    return timeline


def _forget(thread: QThread | None) -> None:
    """Delete a thread this panel made once it has ended (a child lives, with all it holds, until deleted)."""
    if thread is None:
        return
    if thread.isRunning():
        thread.finished.connect(thread.deleteLater)
    else:
        thread.deleteLater()


def _scrolling(widget: QWidget) -> QScrollArea:
    """A long form in a scroll area, so it never forces the window to grow."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    return area


def _recent_speed(records: list[StepRecord]) -> float:
    if len(records) < 2:
        return 0.0
    spent = records[-1].elapsed_s - records[0].elapsed_s
    return (len(records) - 1) / spent if spent > 0 else 0.0


class WindowCloseGuard(QObject):
    """Watches the main window: closing it stops training first (and autosaves)."""

    def __init__(self, window, studio: StudioPanel) -> None:
        super().__init__(window)
        self.studio = studio
        window.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Close:
            self.studio.shutdown()
        return False
