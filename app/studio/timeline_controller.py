"""What the studio shows of its run: the worker's news drawn at a calm pace, the timeline, the explorer.

    frames = TimelineController(runs, parts, show_session, set_prompt)
    frames.attach(run)          # a new run: nothing drawn yet, the explorer left alone
    frames.scrub_to(step)       # (the timeline bar does this) the explorer shows the weights of that step

Data flow (the GUI thread never trains and never waits on training):
    worker --outbox--> on_news (<= 30 fps): curves, progress, detector scores, timeline bar
                       every DISPLAY_INTERVAL_MS while live: newest weights -> the explorer
    timeline slider --> nearest kept snapshot --> the explorer (every panel) + markers on the curves

The explorer keeps its own model and prompt until the run's first training step (or a scrub); from
then on it shows the run's weights, and `took_over(step)` says so once.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

from core.training.trainer import StepRecord, WeightSnapshot

from .controls import ControlBar
from .draw_budget import DrawBudget
from .heads_view import HeadsView
from .live_plots import LivePlots
from .one_step_view import OneStepView
from .run_controller import RunController
from .timeline_bar import TimelineBar
from .worker import DisplayWeights, HeadScores

FRAME_MS = 33  # the worker's news is collected ~30 times a second (10 at full speed, when it is drawn less)...
DRAW_INTERVAL_S = 0.1  # ...but while training one piece is drawn every 0.1 s (each plot ~2-3 times a
# second): painting holds the GIL, and at 30 fps training lost 2/3 of its speed
DISPLAY_INTERVAL_MS = 2000  # how often the explorer's panels get the newest weights while training...
# ...at most: at full speed all of it (the explorer's too) is drawn within a budget of the training's CPU
GUI_SHARE = 0.02  # time, and a tiny model on a busy machine sees its pictures less often instead
LONGEST_WAIT_S = 1.0  # but a piece is drawn at least this often...
EXPLORER_LONGEST_WAIT_S = 10.0  # ...and the explorer shows the newest weights at least this often


@dataclass(frozen=True)
class StudioParts:
    """The studio's widgets that show a run (the view owns them; this controller fills them)."""

    controls: ControlBar
    timeline_bar: TimelineBar
    plots: LivePlots
    heads: HeadsView
    one_step: OneStepView


class TimelineController(QObject):
    frame_drawn = Signal(int)  # the studio took in this step (while paused: every curve drawn with it)
    shown_step_changed = Signal(int)  # the explorer now shows the weights of this step
    took_over = Signal(int)  # the explorer shows the run's model from this step on (once per run)

    def __init__(
        self, runs: RunController, parts: StudioParts, show_session=None, set_prompt=None, parent: QObject | None = None
    ) -> None:
        """show_session(ModelInUse) / set_prompt(text): how the explorer is told (None: it is not)."""
        super().__init__(parent)
        self.runs, self.parts = runs, parts
        self._show_session, self._set_prompt = show_session, set_prompt
        self.shown_step: int | None = None  # the step whose weights the explorer shows
        self.taken_over = False  # the explorer shows this run's model (not its own any more)
        self._first_step = 0  # the run's step when it was set up
        self._shown_session = lambda: None  # weak reference to the last session this studio showed
        self._running = False
        self._undrawn_records: list[StepRecord] = []
        self._scores_changed = False
        self._next_draw = 0.0
        self._draw_turn = 0
        self._last_display_request = 0.0
        self._display_pending = False
        self._budget = DrawBudget(GUI_SHARE)
        self._last_drawn = 0.0
        self._timer = QTimer(self, interval=FRAME_MS)
        self._timer.timeout.connect(self.on_news)
        runs.progressed.connect(self._on_progressed)
        runs.running_changed.connect(self._on_running_changed)
        runs.pace_changed.connect(self._set_frame_interval)  # a run in progress draws at its new pace at once
        parts.timeline_bar.scrubbed.connect(self.scrub_to)

    # -- a run starts or ends ------------------------------------------------------------------------
    def attach(self, first_step: int, shown_step: int | None = None, taken_over: bool = False) -> None:
        """A new run at `first_step` (the explorer not taken over yet), or a saved history whose model the
        explorer already shows (taken_over, at shown_step): empty pictures either way."""
        self.detach()
        self._first_step, self.shown_step, self.taken_over = first_step, shown_step, taken_over
        parts = self.parts
        parts.plots.clear()
        parts.heads.detectors.clear()
        parts.one_step.clear()
        parts.timeline_bar.reset()
        if self.runs.timeline is not None:
            parts.timeline_bar.set_latest_step(first_step, self.runs.timeline.every, len(self.runs.timeline))

    def show_history(self, session, snapshots, losses: dict | None) -> str | None:
        """A saved session's timeline and losses for `session`, the model the explorer shows now (the run in
        progress is put away first). Returns why the snapshots do not fit the model (then only the losses
        are shown), or None."""
        misfit = self.runs.show_history(session, snapshots, losses)
        kept = () if misfit is not None else snapshots
        self.attach(max([step for step, _ in kept] + [session.step or 0]), shown_step=session.step, taken_over=True)
        self.parts.plots.load_history(losses)
        self.parts.plots.repaint()
        return misfit

    def detach(self) -> None:
        """Forget what was waiting to be drawn (the run is stopping or gone)."""
        self._timer.stop()
        self._running = False
        self._undrawn_records, self._scores_changed = [], False
        self._display_pending = False

    def is_own(self, session) -> bool:
        """Whether `session` is one this studio put in the explorer (its run's weights or saved history)."""
        history = self.runs.history
        return session is self._shown_session() or (history is not None and session is history[0])

    # -- the worker's news ----------------------------------------------------------------------------
    def _on_progressed(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def _on_running_changed(self, running: bool) -> None:
        self._running = running
        self._set_frame_interval()
        if running and self.runs.worker is not None:
            self._budget.start(self.runs.worker.cpu_s)
            if self.taken_over:  # the explorer shows the weights training starts from: new ones in a while
                self._last_display_request = time.perf_counter()

    def _set_frame_interval(self, *_) -> None:
        """How often the worker's news is collected: less often while training runs at full speed."""
        full_speed = self._running and self.runs.steps_per_second_limit == 0
        self._timer.setInterval(round(DRAW_INTERVAL_S * 1000) if full_speed else FRAME_MS)

    def on_news(self) -> None:
        """Take what the worker produced; while training, draw a little of it every DRAW_INTERVAL_S."""
        worker = self.runs.worker
        if worker is None:
            self._timer.stop()
            return
        now = time.perf_counter()
        if self._running and not (now >= self._next_draw and self._may_draw(now, self._last_drawn, LONGEST_WAIT_S)):
            return  # no time to draw: the news waits in the worker's outbox (taking it in costs too)
        items = worker.drain()
        records = [item for item in items if isinstance(item, StepRecord)]
        self.parts.plots.add_records(records)
        self._undrawn_records += records
        for item in items:
            if isinstance(item, HeadScores):
                self.parts.heads.detectors.add_scores(item.step, item.scores)
                self._scores_changed = True
            elif isinstance(item, DisplayWeights):
                self._display_pending = False
                trained = item.snapshot.step > self._first_step
                if self.parts.timeline_bar.live and (trained or self.taken_over):
                    self.show_weights(item.snapshot)
        if not self._running:
            self._draw_everything()
            if not items:
                self._timer.stop()
        else:
            self._draw_a_little()
            self._next_draw, self._last_drawn = now + DRAW_INTERVAL_S, now
        if self._running and self.parts.timeline_bar.live:
            self.request_display()

    def _may_draw(self, now: float, last_drawn: float, longest_wait_s: float) -> bool:
        """While training runs at full speed: only within the drawing budget, or when the picture has
        waited longest_wait_s. At a set pace the training thread waits anyway: always."""
        worker = self.runs.worker
        if self.runs.steps_per_second_limit > 0 or worker is None:
            return True
        return self._budget.allows(worker.cpu_s) or now - last_drawn >= longest_wait_s

    def _draw_a_little(self) -> None:
        """One picture per call, in turn: a curve plot, the detector plots, the progress bar; a piece
        that is out of sight (another tab) gives its turn to the next and is drawn when it is shown.

        Painting holds the GIL, so the training thread waits while the GUI paints; small pieces keep
        both the window's pauses and the training's losses small."""
        for _ in range(3):
            self._draw_turn = (self._draw_turn + 1) % 3
            if self._draw_piece(self._draw_turn):
                return

    def _draw_piece(self, turn: int) -> bool:
        """Draw piece number `turn` if it has news and is on screen; whether it was drawn."""
        parts = self.parts
        if turn == 0 and parts.plots.isVisible():
            parts.plots.repaint_one_plot()
            return True
        if turn == 1 and self._scores_changed and parts.heads.detectors.isVisible():
            parts.heads.detectors.repaint()
            self._scores_changed = False
            return True
        if turn == 2 and self._undrawn_records:
            self._take_in_records()
            return True
        return False

    def _draw_everything(self) -> None:
        if self._scores_changed:
            self.parts.heads.detectors.repaint()
            self._scores_changed = False
        self.parts.plots.repaint()
        if self._undrawn_records:
            self._take_in_records()

    def _take_in_records(self) -> None:
        records, self._undrawn_records = self._undrawn_records, []
        last = records[-1]
        speed = self.runs.worker.steps_per_second or _recent_speed(records)
        self.parts.controls.show_progress(last.step, speed)
        self.parts.timeline_bar.set_latest_step(last.step, self.runs.timeline.every, len(self.runs.timeline))
        inspected = [r for r in records if r.details is not None]
        if inspected:
            self.parts.one_step.show_step(inspected[-1], self.runs.run.tokenizer)
        self.frame_drawn.emit(last.step)

    def rewind(self, step: int) -> None:
        """The run went back to `step` (a rollback): forget the curves and scores after it."""
        self.parts.plots.keep_until(step)
        self.parts.heads.detectors.keep_until(step)
        self.parts.heads.detectors.repaint()
        self.parts.timeline_bar.set_latest_step(step, self.runs.timeline.every, len(self.runs.timeline))
        self.request_display(force=True)

    # -- showing weights in the explorer ------------------------------------------------------------
    def request_display(self, force: bool = False) -> None:
        now = time.perf_counter()
        if self.runs.worker is None:
            return
        if not force and (
            self._display_pending
            or now - self._last_display_request < DISPLAY_INTERVAL_MS / 1000
            or not self._may_draw(now, self._last_display_request, EXPLORER_LONGEST_WAIT_S)
        ):
            return
        self._last_display_request = now
        self._display_pending = True
        self.runs.worker.request_display_weights()

    def show_weights(self, weights: WeightSnapshot) -> None:
        display = self.runs.display
        if self._show_session is None or display is None:
            return
        first_time = not self.taken_over
        self.taken_over, self.shown_step = True, weights.step
        session = display.session_for(weights)
        self._shown_session = weakref.ref(session)  # before it is shown: the explorer's news names it
        self._show_session(session)
        run = self.runs.run
        if first_time and run is not None and run.start is None and self._set_prompt is not None:
            self._set_prompt(run.probe_prompt)  # a fine-tune keeps the user's prompt; a new run shows its probe
        self.shown_step_changed.emit(weights.step)
        if first_time:
            self.took_over.emit(weights.step)

    def scrub_to(self, step) -> None:
        """Show the weights kept nearest to `step` (None: follow the live run again)."""
        parts, timeline = self.parts, self.runs.timeline
        if timeline is None or not len(timeline):
            return
        if step is None:  # back to live
            parts.plots.show_marker(None)
            parts.heads.detectors.show_marker(None)
            history = self.runs.history
            if history is not None and self._show_session is not None:
                self._show_session(history[0])  # a saved history's "live" end is the session's own model
            self.request_display(force=True)
            return
        kept_step, weights = timeline.nearest(step)
        parts.timeline_bar.show_step(kept_step)
        parts.plots.show_marker(kept_step)
        parts.heads.detectors.show_marker(kept_step)
        if kept_step != self.shown_step or not self.taken_over:
            self.show_weights(weights)


def _recent_speed(records: list[StepRecord]) -> float:
    if len(records) < 2:
        return 0.0
    spent = records[-1].elapsed_s - records[0].elapsed_s
    return (len(records) - 1) / spent if spent > 0 else 0.0
