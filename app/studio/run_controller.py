"""The studio's training run and its thread: set up, resume, reset, train, pause, roll back, save, put away.

    runs = RunController(model_on_screen, autosave_folder)
    runs.set_up(RunSetup())              # built off the GUI thread; run_installed(run) once it is ready
    runs.train_steps(200) / runs.step(inspect) / runs.pause()
    runs.set_steps_per_second(1)         # a pace a teacher can talk over (0: as fast as possible)
    runs.put_away()                      # another model was opened: stop, autosave, forget the run
    runs.shutdown()                      # the window closes: stop within STOP_TIMEOUT_MS, autosave

It owns the run's lifecycle: the TrainingWorker (one per run), the timeline of kept weights, and the
WeightDisplay that turns weights into sessions for the explorer. It touches no widget; the studio's
view listens to its signals and says what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal

from core.teaching.timeline import Timeline, capacity_for, snapshot_nbytes

from .builder import RunBuilder, measure_steps_per_second
from .display import WeightDisplay
from core.training.recipe import PreparedRun, StartingModel, prepare_run, reads_the_same_text
from core.training.run_setup import RunSetup
from .run_store import default_autosave_folder, resume_run, save_run
from .saved_history import first_misfit, timeline_of
from .worker import SharedTimeline, TrainingWorker

STOP_TIMEOUT_MS = 2000  # closing the window waits at most this long for the step in progress
ROLLBACK_LR_SCALE = 0.5
TIMELINE_SNAPSHOTS = 128  # at most this many kept steps (fewer for big models: see capacity_for)
FIRST_SNAPSHOTS = 48  # snapshots planned over the run's steps at first


class RunController(QObject):
    notice = Signal(str, bool)  # a sentence for the studio's message line (True: something went wrong)
    bpe_training_started = Signal(int)  # merges a new BPE tokenizer will learn while the run is set up
    build_progress = Signal(int, int)  # (merges learned, merges wanted)
    setup_failed = Signal(str)  # the sentence; the run that was there is untouched
    run_installed = Signal(object)  # PreparedRun: a new worker holds it, paused at its first step
    progressed = Signal()  # the worker's outbox has news (drain it)
    running_changed = Signal(bool)  # True while steps are being taken
    pace_changed = Signal(float)  # the most steps a second from now on (0: as fast as possible)
    paused = Signal(int)  # training stopped at this step
    diverged = Signal(object)  # StepRecord of the refused step
    rolled_back = Signal(int, str)  # (the step the run went back to, a sentence)
    saved = Signal(str, int)  # (folder, step) of a save
    speed_measured = Signal(object)  # steps per second (a float) a set-up would train at here
    speed_failed = Signal(str)

    def __init__(
        self,
        model_on_screen: Callable[[], StartingModel | None] = lambda: None,
        autosave_folder: str | Path | None = None,
        parent: QObject | None = None,
    ) -> None:
        """model_on_screen(): the explorer's model, which a fine-tune ("screen") run trains a copy of."""
        super().__init__(parent)
        self._model_on_screen = model_on_screen
        self.autosave_folder = Path(autosave_folder) if autosave_folder else default_autosave_folder()
        self.run: PreparedRun | None = None
        self.worker: TrainingWorker | None = None
        self.timeline: SharedTimeline | None = None
        self.display: WeightDisplay | None = None
        self.history: tuple | None = None  # (ModelInUse, losses) of a saved session's run, shown read-only
        self.steps_per_second_limit = 0.0  # 0: as fast as possible
        self._builder: RunBuilder | None = None
        self._speed_builder: RunBuilder | None = None
        self._saved_step = 0
        self._play_when_ready = False
        self._generation = 0  # raised by put_away: a set-up asked for before it is not installed

    # -- building a run -----------------------------------------------------------------------------
    def set_up(self, setup: RunSetup, start: StartingModel | None = None, then_play: bool = False) -> None:
        """Build a run from `setup` off the GUI thread; the current run keeps going until it is ready.
        A run that starts from the model on screen trains a copy of `start` (default: the explorer's model now)."""
        finetune = setup.start_from == "screen"
        if finetune and start is None:
            start = self._model_on_screen()
        reuse = self.run if self.run is not None and reads_the_same_text(self.run.setup, setup) else None
        if setup.tokenizer == "bpe" and reuse is None and not finetune:
            self.bpe_training_started.emit(setup.bpe_vocab_size - 256)
        notice = f"Setting up: {setup.describe_corpus()}, {setup.tokenizer} tokens…"
        if finetune and start is not None:
            notice = f"Setting up: a copy of {start.source} to fine-tune on {setup.describe_corpus()}…"
        if self._build(
            lambda progress: prepare_run(
                setup,
                text=reuse.text if reuse else None,
                tokenizer=reuse.tokenizer if reuse else None,
                progress=progress,
                start=start,
            ),
            notice,
        ):
            self._play_when_ready = then_play

    def resume(self, folder: str) -> None:
        """Continue a run saved by the studio (after a restart, say)."""
        self._build(lambda progress: resume_run(folder), f"Resuming the run saved in {folder}…")

    def reset(self) -> None:
        """The same settings from fresh random weights (a fine-tune: from the model it started from)."""
        if self.run is not None:
            self.set_up(self.run.setup, self.run.start)

    def _build(self, make, notice: str) -> bool:
        if self._builder is not None and self._builder.isRunning():
            if not self._builder.delivered:
                self.notice.emit("Still setting up the previous run; try again in a moment.", False)
                return False
            self._builder.wait()  # its answer came (a set-up asked for right after a refusal): it is returning
        self.notice.emit(notice, False)
        _forget(self._builder)  # a finished builder holds its closure (and the run it reused) while it lives
        self._builder = RunBuilder(make, self)
        generation = self._generation
        self._builder.built.connect(lambda run: self._install(run) if generation == self._generation else None)
        self._builder.failed.connect(self._on_build_failed)
        self._builder.progress.connect(self.build_progress)
        self._builder.start()
        return True

    def _on_build_failed(self, sentence: str) -> None:
        kept = " The current run is untouched." if self.run is not None else ""
        self.notice.emit(f"Could not set up the run: {sentence}{kept}", True)
        self._play_when_ready = False
        self.setup_failed.emit(sentence)

    def _install(self, run: PreparedRun) -> None:
        self._stop_worker()
        self._drop_worker()  # or every set-up keeps the old run (trainer, timeline) alive as our child
        self.run, self.history = run, None
        trainer = run.trainer
        capacity = capacity_for(snapshot_nbytes(trainer.last_good.tensors), largest=TIMELINE_SNAPSHOTS)
        # Start with about FIRST_SNAPSHOTS over the planned run (each also scores every head: ~1/3 of a step);
        # the timeline thins itself if the run goes on longer.
        every = max(1, -(-run.setup.max_steps // FIRST_SNAPSHOTS))
        self.timeline = SharedTimeline(Timeline(capacity=capacity, every=every))
        source = f"training run ({run.setup.describe_corpus()})"
        if run.start is not None:
            source = f"{run.start.source}, fine-tuned on {run.setup.describe_corpus()}"
        self.display = WeightDisplay(trainer.model.config, run.tokenizer, source)
        probe_ids = run.tokenizer.encode(run.probe_prompt)[-trainer.model.config.context_length :]
        self.worker = TrainingWorker(trainer, self.timeline, run.detector_probe, probe_ids, self)
        self.worker.set_steps_per_second(self.steps_per_second_limit)
        for news in ("progressed", "running_changed", "paused", "diverged"):
            getattr(self.worker, news).connect(getattr(self, news))
        self.worker.called.connect(self._on_called)
        self.worker.start()
        self._saved_step = trainer.step_count
        self.run_installed.emit(run)
        if self._play_when_ready:
            self._play_when_ready = False
            self.play()

    # -- training ---------------------------------------------------------------------------------------
    @property
    def step_count(self) -> int:
        return self.worker.trainer.step_count if self.worker is not None else 0

    def play(self) -> None:
        """Train until the planned number of steps (another round of them if already there)."""
        if self.worker is not None:
            left = self.run.setup.max_steps - self.step_count
            self.train_steps(left if left > 0 else self.run.setup.max_steps)

    def train_steps(self, n: int) -> None:
        if self.worker is not None:
            self.worker.play(n)

    def step(self, inspect: tuple[str, ...] = ()) -> None:
        """Exactly one optimizer step; `inspect` names parameters whose gradient and update to report."""
        if self.worker is not None:
            self.worker.step(inspect=inspect)

    def pause(self) -> None:
        if self.worker is not None:
            self.worker.pause()

    def set_steps_per_second(self, rate: float) -> None:
        """At most `rate` steps a second from now on (0: as fast as possible)."""
        self.steps_per_second_limit = max(0.0, float(rate))
        if self.worker is not None:
            self.worker.set_steps_per_second(self.steps_per_second_limit)
        self.pace_changed.emit(self.steps_per_second_limit)

    def roll_back(self) -> None:
        """Back to the last good snapshot, with the learning rate scaled down."""
        if self.worker is not None:
            self.worker.call(lambda trainer: ("rollback", trainer.roll_back(ROLLBACK_LR_SCALE), trainer.step_count))

    def _on_called(self, number: int, result, error: str) -> None:
        if error:
            self.notice.emit(error, True)
        elif isinstance(result, tuple) and result and result[0] == "rollback":
            _, sentence, step = result
            self.timeline.truncate_after(step)
            self.rolled_back.emit(step, sentence)
        elif isinstance(result, tuple) and result and result[0] == "saved":
            _, folder, step = result
            self._saved_step = step
            self.saved.emit(str(folder), step)

    # -- saving ----------------------------------------------------------------------------------------
    def save_run(self, folder: str | Path, probe_prompt: str) -> None:
        """Save a checkpoint of the run now (between steps); `saved` reports it."""
        if self.worker is None:
            return
        setup = self.run.setup

        def save(trainer):
            try:
                return "saved", save_run(folder, trainer, setup, probe_prompt), trainer.step_count
            except (OSError, ValueError) as problem:  # the run itself is untouched: say so, and keep training
                raise ValueError(f"Could not save the run: {problem}") from problem

        self.worker.call(save)

    def training_losses(self) -> dict | None:
        """{"train": [[step, loss], ...], "val": [...]} of the run, or of the history shown; None without."""
        history = getattr(getattr(self.run, "trainer", None), "loss_history", None)
        if history:
            return {name: [list(point) for point in list(points)] for name, points in dict(history).items()}
        return self.history[1] if self.history is not None else None

    # -- a saved session's history ------------------------------------------------------------------
    def show_history(self, session, snapshots, losses: dict | None) -> str | None:
        """Hold a saved session's timeline for `session` (the model shown) instead of a run; the run in
        progress is put away first. Returns why the snapshots do not fit the model (then only the losses
        are kept), or None."""
        self.put_away()
        self.history = (session, losses)
        self.display = WeightDisplay(session.config, session.tokenizer, f"{session.source} (saved history)")
        misfit = first_misfit(snapshots, session.model)
        self.timeline = SharedTimeline(timeline_of(() if misfit is not None else snapshots))
        return misfit

    # -- ending a run -----------------------------------------------------------------------------------
    def put_away(self) -> Path | None:
        """Stop and forget the run (another model is on screen now); unsaved steps are autosaved first.
        Returns the autosave folder if it was written."""
        autosaved = self._stop_and_autosave()
        self._drop_worker()
        self.run = self.timeline = self.display = self.history = None
        self._play_when_ready = False
        self._generation += 1
        return autosaved

    def shutdown(self) -> bool:
        """Stop training within STOP_TIMEOUT_MS and autosave an unsaved run. True if the thread ended."""
        ended = self._stop_worker()
        if ended:
            self._autosave()
        for builder in (self._builder, self._speed_builder):
            if builder is not None:
                builder.wait(STOP_TIMEOUT_MS)
        return ended

    def _stop_and_autosave(self) -> Path | None:
        return self._autosave() if self._stop_worker() else None

    def _autosave(self) -> Path | None:
        if self.run is None or self.run.trainer.step_count <= self._saved_step:
            return None
        try:
            save_run(self.autosave_folder, self.run.trainer, self.run.setup, self.run.probe_prompt)
        except (OSError, ValueError) as problem:
            print(f"Could not autosave the training run: {problem}")
            return None
        self._saved_step = self.run.trainer.step_count
        return self.autosave_folder

    def _stop_worker(self) -> bool:
        if self.worker is None:
            return True
        ended = self.worker.stop(STOP_TIMEOUT_MS)
        self.worker.drain()
        return ended

    def _drop_worker(self) -> None:
        """Forget a stopped worker thread (it is this controller's child until deleted)."""
        _forget(self.worker)
        self.worker = None

    # -- speed estimate ---------------------------------------------------------------------------------
    def measure_speed(self, setup: RunSetup) -> bool:
        """Time a few steps of `setup` off the GUI thread (speed_measured); False if a measurement runs."""
        if self._speed_builder is not None and self._speed_builder.isRunning():
            return False
        _forget(self._speed_builder)
        start = self._model_on_screen() if setup.start_from == "screen" else None
        self._speed_builder = RunBuilder(lambda progress: measure_steps_per_second(setup, start=start), self)
        self._speed_builder.built.connect(self.speed_measured)
        self._speed_builder.failed.connect(self.speed_failed)
        self._speed_builder.start()
        return True


def _forget(thread: QThread | None) -> None:
    """Delete a thread this controller made once it has ended (a child lives, with all it holds, until deleted)."""
    if thread is None:
        return
    if thread.isRunning():
        thread.finished.connect(thread.deleteLater)
    else:
        thread.deleteLater()
