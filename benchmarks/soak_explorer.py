"""Many windows of work: does the explorer give back what it takes? Threads, memory and old models.

The real MainWindow (offscreen), driven the way a long lesson drives it:
(a) switch models: the shipped default checkpoint, new untrained models of every preset and both
    tokenizer choices, a checkpoint saved to a temporary folder, and a session file — typing a prompt
    after each switch so every visible panel redraws;
(b) open and close every panel (each dock's View-menu action, the lesson pane and the training studio
    among them), with a new prompt traced while they are closed so they catch up when reopened;
(c) scrub the training studio's timeline back and forth over the kept snapshots of a short run;
(d) set up a new training run in the studio again and again (a new seed each time, as Reset does),
    training each a few steps.

Per phase: RSS before/after, RSS growth per cycle fitted over the second half (the first half pays
for one-off caches: fonts, glyphs, pyqtgraph's colour maps, torch's allocator pools), Python threads,
OS threads, QThreads (running, and alive at all), gc object counts, and how many of the sessions and
models shown are still alive.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/soak_explorer.py [--switches 100] [--panels 100]
        [--scrubs 1000] [--runs 30] [--tracemalloc]

Prints a line per phase, then one JSON line with every figure. The test suite runs smaller versions
of the same phases (tests/app/test_no_leaks.py imports this file).
"""
from __future__ import annotations

import argparse
import faulthandler
import gc
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DRAW_TIMEOUT_S = 60          # a trace + redraw that takes longer than this is a hang, not a slow machine
MB = 2**20

# A short run of the studio's nano model: about 48 kept snapshots to scrub over.
SCRUB_RUN = dict(corpus_kind="synthetic", corpus_name="previous-token", model_preset="nano", context_length=16,
                 batch_size=8, max_steps=96, warmup_steps=5, eval_interval=1000, sample_interval=1000)


# -- what is measured ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reading:
    rss_mb: float            # resident memory of the process
    python_threads: int      # threading.active_count()
    os_threads: int          # every thread of the process (Qt's, torch's, ours)
    qthreads: int            # QThread objects known to Python that are running...
    qthread_objects: int     # ...and all of them, running or ended (an ended one still holds what it worked on)
    gc_objects: int          # objects tracked by the garbage collector (less the Phase's own bookkeeping)
    sessions_alive: int      # of the ModelSessions this phase showed, how many are still in memory
    models_alive: int        # of their models (the studio recycles models, so there are fewer), how many


def qthreads(objects: list) -> list:
    """The QThread objects among `objects` (gc.get_objects()), leaving out Python wrappers whose Qt object
    is already deleted (a finished thread given to deleteLater: nothing of it is left to leak)."""
    import shiboken6
    from PySide6.QtCore import QThread

    # type(): no proxy's __class__ property runs
    return [o for o in objects if issubclass(type(o), QThread) and shiboken6.isValid(o)]


class Phase:
    """Readings at the end of each cycle of one phase, and the sessions and models it showed (weakly)."""

    def __init__(self, name: str, light: bool = False, period: int = 1) -> None:
        """light: between the first and last reading, skip the full garbage collection and the object
        census (~0.5 s on a busy 2-core machine): young objects only, and -1 for the counts not taken.
        period: cycles after which the window is in the same state again (the same kind of model shown):
        object counts are compared a whole period apart, or a bigger model would look like growth."""
        self.name = name
        self.light = light
        self.period = period
        self.readings: list[Reading] = []
        self._sessions: list[weakref.ref] = []
        self._models: list[weakref.ref] = []
        self.before = self.read()
        self.started = time.perf_counter()

    def remember(self, session) -> None:
        """Note the session now shown (and its model), without keeping either alive."""
        for refs, thing in ((self._sessions, session), (self._models, session.model)):
            if not any(ref() is thing for ref in refs[-8:]):
                refs.append(weakref.ref(thing))

    def bookkeeping(self) -> int:
        """Objects this Phase itself keeps (its weak references and readings), left out of the gc count."""
        return len(self._sessions) + len(self._models) + len(self.readings)

    @staticmethod
    def alive(refs: list[weakref.ref]) -> int:
        return sum(1 for ref in refs if ref() is not None)

    def read(self, full: bool = True) -> Reading:
        if not full:
            gc.collect(1)
            process = psutil.Process()
            return Reading(rss_mb=process.memory_info().rss / MB, python_threads=threading.active_count(),
                           os_threads=process.num_threads(), qthreads=-1, qthread_objects=-1, gc_objects=-1,
                           sessions_alive=-1, models_alive=-1)
        gc.collect()
        objects = gc.get_objects()
        threads = qthreads(objects)
        process = psutil.Process()
        return Reading(rss_mb=process.memory_info().rss / MB, python_threads=threading.active_count(),
                       os_threads=process.num_threads(), qthreads=sum(1 for thread in threads if thread.isRunning()),
                       qthread_objects=len(threads), gc_objects=len(objects) - 1 - self.bookkeeping(),
                       sessions_alive=self.alive(self._sessions), models_alive=self.alive(self._models))

    def end_cycle(self) -> None:
        self.readings.append(self.read(full=not self.light))

    def finish(self) -> Reading:
        """A full reading to end a light phase with (a full phase has one already)."""
        if self.light:
            self.readings.append(self.read())
        return self.readings[-1]

    def rss_slope(self) -> float:
        """MB per cycle, fitted over the second half of the cycles (the first half warms caches up)."""
        return slope([r.rss_mb for r in self.readings[len(self.readings) // 2:]])

    def objects_slope(self) -> float:
        """gc objects per cycle: over the second half, or (period > 1) between ends of periods after the first."""
        if self.period == 1:
            return slope([r.gc_objects for r in self.readings[len(self.readings) // 2:]])
        ends = self.readings[self.period - 1::self.period][1:]
        return slope([r.gc_objects for r in ends]) / self.period

    def summary(self) -> dict:
        after = self.readings[-1] if self.readings else self.before
        return dict(phase=self.name, cycles=len(self.readings), seconds=round(time.perf_counter() - self.started, 1),
                    before=asdict(self.before), after=asdict(after),
                    rss_growth_mb=round(after.rss_mb - self.before.rss_mb, 2),
                    rss_slope_mb_per_cycle=round(self.rss_slope(), 4),
                    gc_objects_slope_per_cycle=round(self.objects_slope(), 2) if not self.light else None,
                    peak_rss_mb=round(max([self.before.rss_mb, *(r.rss_mb for r in self.readings)]), 1),
                    sessions_shown=len(self._sessions), models_shown=len(self._models))


def slope(values: list[float]) -> float:
    """Least-squares growth per cycle (0 for fewer than two points)."""
    return statistics.linear_regression(range(len(values)), values).slope if len(values) >= 2 else 0.0


# -- driving the window ------------------------------------------------------------------------------
def make_window(folder: Path):
    """The explorer as a user gets it (default model, every panel, lessons, studio), settings in `folder`."""
    from app.settings import AppSettings
    from app.window import MainWindow

    window = MainWindow(settings=AppSettings(folder / "settings.ini"), prompt="", remember_layout=False)
    window.ensure_studio().autosave_folder = folder / "autosave"
    window.show()
    settle()
    return window


def settle(rounds: int = 3) -> None:
    """Let posted events (zero-delay timers, layout, paint) run."""
    from PySide6.QtWidgets import QApplication

    for _ in range(rounds):
        QApplication.processEvents()


def wait_until(condition: Callable[[], bool], signal=None, timeout_s: float = DRAW_TIMEOUT_S) -> None:
    """Run the event loop until condition() holds, woken by `signal` or a 10 ms poll."""
    from PySide6.QtCore import QEventLoop, QTimer

    if condition():
        return
    loop = QEventLoop()
    check = lambda *_: condition() and loop.quit()  # noqa: E731
    poll = QTimer(interval=10)
    poll.timeout.connect(check)
    poll.start()
    if signal is not None:
        signal.connect(check)
    deadline = QTimer(singleShot=True)
    deadline.timeout.connect(loop.quit)
    deadline.start(int(timeout_s * 1000))
    loop.exec()
    poll.stop()
    deadline.stop()
    if signal is not None:
        signal.disconnect(check)
    if not condition():
        faulthandler.dump_traceback(all_threads=True)  # where every thread is: a hang, or only a slow machine?
        raise TimeoutError(f"gave up after {timeout_s} s waiting for the window")


def wait_drawn(window) -> None:
    """Until the newest request has been answered and every visible panel redrawn from it."""
    wait_until(lambda: not window.controller.busy and window.snapshot is not None, window.drawn)
    settle()


def numbered(prompts: list[str], count: int) -> list[str]:
    """`count` different prompts: the given ones in turn, each with the cycle's number."""
    return [f"{prompts[cycle % len(prompts)]} {cycle}" for cycle in range(count)]


def type_prompt(window, text: str) -> None:
    window.prompt_view.set_text(text)
    wait_drawn(window)


# -- (a) switching models -----------------------------------------------------------------------------
def model_switches(window, folder: Path) -> list[Callable[[], None]]:
    """The ways a user changes the model, each a call on the window (round-robin over the list)."""
    from app.state.model_in_use import DEFAULT_MODEL_FOLDER
    from core import preset

    checkpoint = folder / "saved-checkpoint"
    window.models.new_model(preset("micro"), "lessons", seed=1)
    wait_drawn(window)
    window.models.save_checkpoint(checkpoint)
    session_file = window.classroom.save_class_file(folder / "saved")
    switches = [lambda: window.models.open_checkpoint(DEFAULT_MODEL_FOLDER)]
    for number, (name, tokenizer) in enumerate([("nano", "current"), ("micro", "lessons"), ("small", "current"),
                                                ("nano", "lessons"), ("micro", "current"), ("small", "lessons")]):
        switches.append(lambda name=name, tokenizer=tokenizer, seed=number:
                        window.models.new_model(preset(name), tokenizer, seed=seed))
        switches.append(lambda: window.models.open_checkpoint(checkpoint))
        switches.append(lambda: window.classroom.open_class_file(session_file))
        switches.append(lambda: window.models.open_checkpoint(DEFAULT_MODEL_FOLDER))
    return switches


def switch_models(window, phase: Phase, switches: list[Callable[[], None]], count: int, prompts: list[str]) -> None:
    for cycle in range(count):
        switches[cycle % len(switches)]()
        phase.remember(window.controller.session)
        type_prompt(window, prompts[cycle % len(prompts)])
        phase.end_cycle()


# -- (b) opening and closing panels --------------------------------------------------------------------
def toggle_panels(window, phase: Phase, count: int, prompts: list[str]) -> None:
    """Close every panel through its View-menu action, trace a new prompt, open them all again."""
    for cycle in range(count):
        actions = [panel.dock.toggleViewAction() for panel in window.panels]
        for action in actions:
            if action.isChecked():
                action.trigger()
        settle()
        type_prompt(window, prompts[cycle % len(prompts)])
        for action in actions:
            action.trigger()
        settle()  # reopened panels catch up on the prompt they missed
        phase.remember(window.controller.session)
        phase.end_cycle()


# -- (c) scrubbing the timeline ----------------------------------------------------------------------------
def record_timeline(window, steps: int = SCRUB_RUN["max_steps"], seed: int = 0) -> list[int]:
    """Set up and train a short studio run; the kept steps of its timeline (the last one is 'live')."""
    from app.studio import show_training_studio
    from core.training.run_setup import RunSetup

    studio = window.ensure_studio()
    show_training_studio(window)
    old_run = studio.run
    studio.set_up(RunSetup(**{**SCRUB_RUN, "seed": seed}))
    wait_until(lambda: studio.run is not old_run, studio.run_ready)
    studio.train_steps(steps)
    wait_until(lambda: studio.worker.trainer.step_count >= steps and not studio.worker.busy, studio.paused,
               timeout_s=600)
    wait_drawn(window)
    return studio.timeline.steps()


def scrub_timeline(window, phase: Phase, count: int, kept_steps: list[int], read_every: int = 10,
                   draw_every: int = 1) -> None:
    """Drag the slider back and forth over the kept steps (never onto the last one, which means 'live').

    Every scrub shows another kept step (a new session of the run's weights); the window is let draw
    after every `draw_every` scrubs (a quick drag moves on before the panels have caught up), and a
    cycle of the phase is `read_every` scrubs."""
    bar = window.ensure_studio().timeline_bar
    path = kept_steps[:-1]
    sweep = path + path[-2:0:-1]  # there and back
    for scrub in range(count):
        bar.scrub_to(sweep[scrub % len(sweep)])
        phase.remember(window.controller.session)
        if (scrub + 1) % draw_every == 0:
            wait_drawn(window)
        if (scrub + 1) % read_every == 0:
            phase.end_cycle()


# -- (d) setting up training runs ----------------------------------------------------------------------
def set_up_runs(window, phase: Phase, count: int, steps: int = 8) -> None:
    """Set up a new run in the studio (a new seed each time, as Reset does) and train it a few steps."""
    for cycle in range(count):
        record_timeline(window, steps=steps, seed=cycle + 1)
        phase.remember(window.controller.session)
        phase.end_cycle()


# -- the whole soak ---------------------------------------------------------------------------------
def soak(switches: int, panels: int, scrubs: int, runs: int, with_tracemalloc: bool = False) -> dict:
    import torch
    from PySide6.QtWidgets import QApplication

    from app.state.model_in_use import sample_prompts

    app = QApplication.instance() or QApplication([])
    prompts = sample_prompts()
    results: dict = dict(machine=f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
                         torch_threads=torch.get_num_threads(), date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        window = make_window(folder)
        type_prompt(window, prompts[0])
        if with_tracemalloc:
            tracemalloc.start(8)
        phases = []

        def measured(name: str, drive, period: int = 1, **extra) -> None:
            start = tracemalloc.take_snapshot() if with_tracemalloc else None
            phase = Phase(name, period=period)
            drive(phase)
            phases.append(report(phase, start) | extra)

        if switches:
            kinds = model_switches(window, folder)
            measured("switch models", lambda phase: switch_models(window, phase, kinds, switches,
                                                                  numbered(prompts, switches)), period=len(kinds))
        if panels:
            measured("open and close panels", lambda phase: toggle_panels(window, phase, panels,
                                                                          numbered(prompts, panels)))
        if scrubs:
            kept = record_timeline(window)
            measured("scrub the timeline", lambda phase: scrub_timeline(window, phase, scrubs, kept),
                     kept_snapshots=len(kept), scrubs=scrubs)
        if runs:
            measured("set up studio runs", lambda phase: set_up_runs(window, phase, runs))

        window.close()
        settle()
        results["phases"] = phases
        results["after_close"] = asdict(Phase("closed").before)
        window = None  # let the window go before the last reading
    app.processEvents()
    return results


def report(phase: Phase, tracemalloc_start) -> dict:
    summary = phase.summary()
    b, a = summary["before"], summary["after"]
    print(f"{phase.name}: {summary['cycles']} cycles in {summary['seconds']:.0f} s; "
          f"RSS {b['rss_mb']:.0f} -> {a['rss_mb']:.0f} MB "
          f"(peak {summary['peak_rss_mb']:.0f}), second-half slope {summary['rss_slope_mb_per_cycle']:+.3f} MB/cycle; "
          f"OS threads {b['os_threads']} -> {a['os_threads']}, Python threads {b['python_threads']} -> "
          f"{a['python_threads']}, QThreads running {b['qthreads']} -> {a['qthreads']}, "
          f"alive {b['qthread_objects']} -> "
          f"{a['qthread_objects']}; gc objects "
          f"{b['gc_objects']} -> {a['gc_objects']} ({summary['gc_objects_slope_per_cycle']:+.1f}/cycle); "
          f"sessions shown {summary['sessions_shown']}, alive {a['sessions_alive']}; models shown "
          f"{summary['models_shown']}, alive {a['models_alive']}", flush=True)
    if tracemalloc_start is not None:
        growth = tracemalloc.take_snapshot().compare_to(tracemalloc_start, "lineno")[:5]
        summary["tracemalloc_top"] = [str(stat) for stat in growth]
        for stat in growth:
            print(f"    {stat}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--switches", type=int, default=100, help="model switches")
    parser.add_argument("--panels", type=int, default=100, help="close-and-reopen-every-panel cycles")
    parser.add_argument("--scrubs", type=int, default=1000, help="timeline scrubs")
    parser.add_argument("--runs", type=int, default=30, help="studio run set-ups")
    parser.add_argument("--tracemalloc", action="store_true", help="also list the top Python allocation growth")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    results = soak(args.switches, args.panels, args.scrubs, args.runs, args.tracemalloc)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
