"""The training thread: drives core's Trainer off the GUI thread, pausable between any two steps.

GUI thread                                   worker thread
play(n) / step() / pause() / call(fn)  ->    commands, taken in order
                                             for record in trainer.run(n): ... stop at any yield
drain() every frame                    <-    an outbox of immutable items: StepRecord,
                                             HeadScores (detector scores at timeline steps),
                                             DisplayWeights (a weight copy the GUI asked for)
set_steps_per_second(rate)             ->    each step is published no sooner than 1/rate s
                                             after the one before (a pace a teacher can narrate)

The trainer and its model are touched only on the worker thread while it runs; anything the GUI
wants done to them (save, roll back, load weights) goes in as `call(fn)` and runs between steps.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch
from PySide6.QtCore import QThread, Signal

from core.teaching.detectors import model_head_scores
from core.teaching.timeline import Timeline
from core.training.trainer import StepRecord, Trainer, WeightSnapshot


SCORES_SHARE = 0.01  # at full speed, head-detector scores take at most this share of the thread's CPU time


def training_threads() -> int:
    """Torch threads while the studio trains: every core but one, which the window needs to stay
    responsive, and at most 4 (the studio's models are small; more threads mostly wait on each other).
    On a busy 2-core machine two threads were measured 60x slower than one for the nano model."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


@dataclass(frozen=True)
class HeadScores:
    step: int  # the step the weights had reached
    scores: dict[str, np.ndarray]  # detector name -> (n_layers, n_heads)


@dataclass(frozen=True)
class DisplayWeights:
    snapshot: WeightSnapshot  # the newest weights, for the explorer's panels


@dataclass(frozen=True)
class _Train:
    steps: int  # how many optimizer steps
    inspect: tuple[str, ...]  # parameters to open up (only for a single step)
    epoch: int  # a pause raises the epoch; older commands then stop


@dataclass(frozen=True)
class _Call:
    number: int
    function: Callable[[Trainer], object]


class SharedTimeline:
    """The timeline, behind a lock: the worker adds to it, the GUI scrubs it."""

    def __init__(self, timeline: Timeline) -> None:
        self._timeline = timeline
        self._lock = threading.Lock()

    def __getattr__(self, name):
        method = getattr(self._timeline, name)
        if not callable(method):
            return method

        def locked(*args, **kwargs):
            with self._lock:
                return method(*args, **kwargs)

        return locked

    def __len__(self) -> int:
        with self._lock:
            return len(self._timeline)


class TrainingWorker(QThread):
    progressed = Signal()  # new items wait in the outbox (not repeated until drained)
    running_changed = Signal(bool)  # True while steps are being taken
    paused = Signal(int)  # training stopped taking steps; the step count it stopped at
    diverged = Signal(object)  # StepRecord of a step whose loss was not finite
    called = Signal(int, object, str)  # (call number, result, error sentence or "")
    stepped = Signal(int, float)  # (step, time.monotonic() it was published): once per step, at the set pace

    def __init__(self, trainer: Trainer, timeline: SharedTimeline, detector_probe, probe_ids=None, parent=None) -> None:
        """detector_probe: repeated random tokens (induction); probe_ids: a text prompt (the other detectors)."""
        super().__init__(parent)
        self.trainer = trainer
        self.timeline = timeline
        self.detector_probe = detector_probe
        self.probe_ids = probe_ids
        self._condition = threading.Condition()
        self._commands: deque = deque()
        self._outbox: deque = deque()
        self._epoch = 0
        self._stopping = False
        self._signalled = False  # a `progressed` signal is on its way and not yet drained
        self._display_wanted = False
        self._call_numbers = itertools.count(1)
        self.busy = False  # True while a command runs (read by the GUI for its buttons)
        self.steps_per_second = 0.0  # measured over the last training command
        self.cpu_s = 0.0  # CPU seconds this thread used, as of its last step (the GUI's drawing budget grows with it)
        self._scores_cpu_s = 0.0  # of which scoring the heads
        self._step_interval = 0.0  # seconds at least between two published steps (0: as fast as possible)
        self._last_published = -1e9  # time.monotonic() of the last published step

    # -- commands (GUI thread) -----------------------------------------------------------------------
    def play(self, steps: int) -> None:
        """Take `steps` optimizer steps (stoppable by pause)."""
        self._submit(_Train(max(0, int(steps)), (), self._epoch))

    def step(self, inspect: tuple[str, ...] = ()) -> None:
        """Exactly one optimizer step; `inspect` names parameters whose gradient and update to report."""
        self._submit(_Train(1, tuple(inspect), self._epoch))

    def pause(self) -> None:
        """Stop after the step in progress; waiting training commands are dropped."""
        with self._condition:
            self._epoch += 1
            self._commands = deque(c for c in self._commands if not isinstance(c, _Train))
            self._condition.notify()  # a step waiting for its turn is published at once

    def set_steps_per_second(self, rate: float) -> None:
        """Train at most `rate` steps a second (0: as fast as the machine can); takes effect at once."""
        with self._condition:
            self._step_interval = 1.0 / rate if rate > 0 else 0.0
            self._condition.notify()

    def call(self, function: Callable[[Trainer], object]) -> int:
        """Run function(trainer) on the worker thread between steps; `called` reports its result."""
        number = next(self._call_numbers)
        self._submit(_Call(number, function))
        return number

    def request_display_weights(self) -> None:
        """Ask for a copy of the weights after the next step (or now, when idle)."""
        with self._condition:
            self._display_wanted = True
            if not self.busy:
                self._commands.append(_Call(0, lambda trainer: None))
                self._condition.notify()

    def stop(self, timeout_ms: int = 2000) -> bool:
        """End the thread after the step in progress; True if it ended within the timeout."""
        with self._condition:
            self._stopping = True
            self._epoch += 1
            self._condition.notify()
        return self.wait(timeout_ms)

    def drain(self) -> list:
        """Everything the worker produced since the last drain, oldest first."""
        with self._condition:
            items = list(self._outbox)
            self._outbox.clear()
            self._signalled = False
        return items

    def _submit(self, command) -> None:
        with self._condition:
            self._commands.append(command)
            self._condition.notify()

    # -- the thread ------------------------------------------------------------------------------------
    def run(self) -> None:
        torch.set_num_threads(training_threads())
        self._record_scores(self.trainer.step_count)
        self._take_snapshot_if_wanted(self.trainer.step_count, None)
        while True:
            with self._condition:
                while not self._commands and not self._stopping:
                    self._condition.wait()
                if self._stopping:
                    return
                command = self._commands.popleft()
                self.busy = True
            try:
                if isinstance(command, _Train):
                    self._train(command)
                else:
                    self._call(command)
            except (
                Exception
            ):  # a bug must not end the thread: report it (the crash dialog), stop, take the next command
                sys.excepthook(*sys.exc_info())
                self.running_changed.emit(False)
                self.paused.emit(self.trainer.step_count)
            finally:
                self.busy = False

    def _train(self, command: _Train) -> None:
        if command.epoch != self._epoch or command.steps == 0:
            return
        self.running_changed.emit(True)
        started, done = time.perf_counter(), 0
        records = (
            iter([self.trainer.step(inspect=list(command.inspect))])
            if command.inspect
            else self.trainer.run(command.steps)
        )
        for record in records:
            done += 1
            self.cpu_s = time.thread_time()
            self._wait_for_turn(command.epoch)
            self._after_step(record)
            self._last_published = time.monotonic()
            self.stepped.emit(record.step, self._last_published)
            if record.diverged:
                with self._condition:
                    self._epoch += 1  # stop here and drop what was queued
                    self._commands = deque(c for c in self._commands if not isinstance(c, _Train))
                self.diverged.emit(record)
                break
            if command.epoch != self._epoch:
                break
        elapsed = time.perf_counter() - started
        if done and elapsed > 0:
            self.steps_per_second = done / elapsed
        with self._condition:
            self._display_wanted = False
        self._post(DisplayWeights(self.trainer.snapshot()))  # the explorer ends on the weights training ended on
        self.running_changed.emit(False)
        self.paused.emit(self.trainer.step_count)

    def _wait_for_turn(self, epoch: int) -> None:
        """Hold a finished step until the chosen pace allows it (a pause or stop ends the wait)."""
        with self._condition:
            while epoch == self._epoch and not self._stopping:
                wait = self._last_published + self._step_interval - time.monotonic()
                if wait <= 0:
                    return
                self._condition.wait(wait)

    def _after_step(self, record: StepRecord) -> None:
        if not record.diverged:
            if self._take_snapshot_if_wanted(record.step, record.weights) and self._scores_affordable():
                self._record_scores(record.step)
        with self._condition:
            display, self._display_wanted = self._display_wanted, False
        if display:
            self._post(DisplayWeights(self.trainer.snapshot()))
        # The weight copy (if any) lives on in the timeline; the record itself stays light.
        self._post(record if record.weights is None else replace(record, weights=None))

    def _take_snapshot_if_wanted(self, step: int, weights: WeightSnapshot | None) -> bool:
        if not self.timeline.wants(step):
            return False
        return self.timeline.add(step, weights if weights is not None else self.trainer.snapshot())

    def _scores_affordable(self) -> bool:
        """Score the heads at this kept step? Always at a set pace (the thread waits anyway); at full speed
        only while scoring has taken at most SCORES_SHARE of this thread's CPU time. Scoring costs about a
        third of a tiny model's step, so a short run of one skips some kept steps; a longer one scores them all."""
        return self._step_interval > 0 or self._scores_cpu_s <= SCORES_SHARE * time.thread_time()

    def _record_scores(self, step: int) -> None:
        started = time.thread_time()
        scores = model_head_scores(self.trainer.model, self.detector_probe, self.probe_ids)
        self._scores_cpu_s += time.thread_time() - started
        self._post(HeadScores(step, scores))

    def _call(self, command: _Call) -> None:
        try:
            result, error = command.function(self.trainer), ""
        except (ValueError, OSError, RuntimeError) as problem:
            result, error = None, str(problem)
            traceback.print_exc()
        with self._condition:
            display, self._display_wanted = self._display_wanted, False
        if display:
            self._post(DisplayWeights(self.trainer.snapshot()))
        if command.number:
            self.called.emit(command.number, result, error)

    def _post(self, item) -> None:
        with self._condition:
            self._outbox.append(item)
            signal, self._signalled = not self._signalled, True
        if signal:
            self.progressed.emit()
