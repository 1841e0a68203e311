"""Long session: train 20,000 steps with the studio open; does memory stay bounded and the window responsive?

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/soak_studio.py [--steps 20000] [--csv rss.csv]

The real explorer window (offscreen) with the training studio trains the studio's default run (nano model,
previous-token task) for N steps through its own worker thread — "Train N steps" on the default run, so
the timeline keeps recording and thins itself several times, and the live curves, head detectors and
the probe prompt's panels update as in normal use. Meanwhile, on the GUI thread:

- a stall meter: a QTimer every 10 ms; each gap between ticks beyond 10 ms is time the event loop was
  blocked (worst, p99, and how many gaps exceeded 100 ms and 250 ms);
- a simulated user: every 0.5 s one action in turn — type in the probe prompt (Backspace, then the
  character again), drag the timeline back to a random step (and later back to live), switch the
  studio's tab.

Before training, the same meter and the same simulated user run for --baseline-s seconds with the run
set up but idle: the baseline, in the same process, of what the machine's load and the user's own
actions cost the event loop. A second Python thread samples the process's RSS every second (psutil).
One JSON line reports the figures (stalls also per 1,000 steps, to show whether they grow as the
session goes on); --csv writes the RSS curve (seconds, step, MB).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
from PySide6.QtCore import QElapsedTimer, QEvent, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.bench_studio import idle_for, wait_for  # noqa: E402  (running the event loop until...)

TICK_MS = 10  # the stall meter's heartbeat
LONGEST_GAP_MS = 60_000  # gaps are counted in 1 ms bins up to this (longer ones land in the last bin)
ACTION_MS = 500  # one simulated user action every this often
RSS_EVERY_S = 1.0
SEGMENT_STEPS = 1000  # stall figures are also kept per this many steps
MB = 2**20


class StallMeter:
    """Gaps between the ticks of a 10 ms QTimer, in a fixed-size histogram (so a long soak adds no memory)."""

    def __init__(self, where=lambda: "", segment=lambda: 0) -> None:
        self.where = where  # says what was going on (step, last action) at a stall
        self.segment = segment  # which part of the session we are in (e.g. step // 1000)
        self.counts = np.zeros(LONGEST_GAP_MS + 1, dtype=np.int64)  # counts[g]: gaps of g ms (rounded up)
        self.worst: list[tuple[float, str]] = []  # the 10 longest gaps and where they happened
        self.segments: dict[int, np.ndarray] = {}  # segment -> its own histogram, to 1 s (a few KB each)
        self._clock = QElapsedTimer()
        self._timer = QTimer(interval=TICK_MS)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._clock.start()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        gap_ms = self._clock.nsecsElapsed() / 1e6
        self._clock.restart()
        self.counts[min(LONGEST_GAP_MS, int(np.ceil(gap_ms)))] += 1
        segment = self.segments.setdefault(self.segment(), np.zeros(1001, dtype=np.int64))
        segment[min(1000, int(np.ceil(gap_ms)))] += 1
        if len(self.worst) < 10 or gap_ms > self.worst[-1][0]:
            self.worst = sorted([*self.worst, (gap_ms, self.where())], reverse=True)[:10]

    def percentile(self, q: float, counts: np.ndarray | None = None) -> float:
        """The q-th percentile gap in ms (to the 1 ms bin)."""
        cumulative = np.cumsum(self.counts if counts is None else counts)
        return float(np.searchsorted(cumulative, q / 100 * cumulative[-1]))

    def by_segment(self) -> dict[int, list]:
        """segment -> [p99 gap ms, worst gap ms (to 1 s), gaps over 100 ms]."""
        return {
            segment: [self.percentile(99, counts), int(np.flatnonzero(counts)[-1]), int(counts[101:].sum())]
            for segment, counts in sorted(self.segments.items())
        }

    def summary(self) -> dict:
        gaps = np.arange(len(self.counts))
        ticks = int(self.counts.sum())
        return {
            "ticks": ticks,
            "tick_ms": TICK_MS,
            "worst_gap_ms": round(self.worst[0][0], 1) if self.worst else 0.0,
            "worst_stall_ms": round(max(0.0, self.worst[0][0] - TICK_MS), 1) if self.worst else 0.0,
            "p50_gap_ms": self.percentile(50),
            "p99_gap_ms": self.percentile(99),
            "p999_gap_ms": self.percentile(99.9),
            "gaps_over_100ms": int(self.counts[gaps > 100].sum()),
            "gaps_over_250ms": int(self.counts[gaps > 250].sum()),
            "worst_10": [[round(gap, 1), where] for gap, where in self.worst],
        }


class RssSampler(threading.Thread):
    """The process's resident memory every second, with the training step it was taken at."""

    def __init__(self, step_now) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.step_now = step_now
        self.samples: list[tuple[float, int, float]] = []  # (seconds since start, step, RSS MB)
        self._process = psutil.Process()
        self._finished = threading.Event()
        self._clock_zero = time.perf_counter()

    def sample(self) -> None:
        self.samples.append(
            (time.perf_counter() - self._clock_zero, self.step_now(), self._process.memory_info().rss / MB)
        )

    def run(self) -> None:
        while not self._finished.wait(RSS_EVERY_S):
            self.sample()

    def finish(self) -> None:
        self._finished.set()
        self.join()
        self.sample()

    def summary(self, first_steps: int) -> dict:
        rss = [mb for _, _, mb in self.samples]
        after_first = next((mb for _, step, mb in self.samples if step >= first_steps), None)
        return {
            "rss_start_mb": round(rss[0], 1),
            f"rss_after_{first_steps}_steps_mb": None if after_first is None else round(after_first, 1),
            "rss_peak_mb": round(max(rss), 1),
            "rss_end_mb": round(rss[-1], 1),
            "rss_samples": len(rss),
        }


class SimulatedUser:
    """Every ACTION_MS one thing a student does while training runs: type, scrub the timeline, switch tab."""

    def __init__(self, window, seed: int = 0) -> None:
        self.window = window
        self.studio = window.ensure_studio()
        self.random = random.Random(seed)
        self.done = {"typed": 0, "scrubbed": 0, "went_live": 0, "switched_tab": 0}
        self.last = "none"
        self._turn = 0
        self._removed: str | None = None
        self._timer = QTimer(interval=ACTION_MS)
        self._timer.timeout.connect(self.act)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        if self._removed is not None:
            self._type()  # the prompt ends as it started
        if not self.studio.timeline_bar.live:
            self.studio.timeline_bar.go_live()

    def act(self) -> None:
        self._turn += 1
        [self._type, self._scrub, self._switch_tab][self._turn % 3]()

    def _type(self) -> None:
        """Backspace, and on the next turn the same character again: the prompt keeps its length."""
        editor = self.window.prompt_view.editor
        editor.setFocus()
        if self._removed is None:
            self._removed = editor.toPlainText()[-1:]
            QTest.keyClick(editor, Qt.Key.Key_Backspace)
            self.last = "backspace in the prompt"
        else:
            for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):  # any character, as a keyboard sends it
                QApplication.sendEvent(editor, QKeyEvent(kind, 0, Qt.KeyboardModifier.NoModifier, self._removed))
            self.last, self._removed = f"typed {self._removed!r}", None
        self.done["typed"] += 1

    def _scrub(self) -> None:
        """Two drags back in time, then back to live."""
        bar = self.studio.timeline_bar
        if self.done["scrubbed"] % 3 == 2 and not bar.live:
            bar.go_live()
            self.done["went_live"] += 1
            self.last = "timeline back to live"
        elif bar.slider.maximum() > 1:
            step = self.random.randrange(0, bar.slider.maximum())
            bar.scrub_to(step)
            self.last = f"timeline scrubbed to step {step}"
        self.done["scrubbed"] += 1

    def _switch_tab(self) -> None:
        tabs = self.studio.tabs
        tabs.setCurrentIndex((tabs.currentIndex() + 1) % tabs.count())
        self.last = f"tab {tabs.tabText(tabs.currentIndex())!r}"
        self.done["switched_tab"] += 1


def open_window(folder: Path):
    """The real explorer window with the training studio in front, settings and autosave in `folder`."""
    from app.settings import AppSettings
    from app.studio import show_training_studio
    from app.window import MainWindow

    window = MainWindow(settings=AppSettings(folder / "settings.ini"), remember_layout=False)
    window.resize(1600, 1000)
    window.show()
    window.ensure_studio().autosave_folder = folder / "autosave"
    show_training_studio(window)
    return window


def bounded_sizes(studio) -> dict:
    """How much each growing store of the studio holds now."""
    plots, trainer = studio.plots, studio.worker.trainer
    return {
        "timeline_snapshots": len(studio.timeline),
        "timeline_capacity": studio.timeline.capacity,
        "timeline_every": studio.timeline.every,
        "timeline_mb": round(studio.timeline.nbytes / MB, 2),
        "loss_curve_points": len(plots.train_curve.steps),
        "loss_curve_steps_per_point": plots.train_curve.per_point,
        "curve_points_all": sum(len(curve.steps) for curve in plots.all_curves()),
        "sample_log_lines": plots.sample_view.blockCount(),
        "detector_history": len(studio.heads.detectors.steps),
        "trainer_loss_history": sum(len(points) for points in trainer.loss_history.values()),
    }


def idle_baseline(window, user: SimulatedUser, seconds: float) -> dict:
    """The same meter and the same simulated user with the run set up but not training: what this
    machine's load and the user's own actions cost the event loop, measured in the same process."""
    meter = StallMeter(lambda: f"idle, last action: {user.last}")
    meter.start()
    user.start()
    idle_for(int(seconds * 1000))
    user.stop()
    meter.stop()
    figures = meter.summary()
    return {
        "seconds": seconds,
        **{
            key: figures[key]
            for key in ("worst_gap_ms", "p50_gap_ms", "p99_gap_ms", "gaps_over_100ms", "gaps_over_250ms")
        },
    }


def soak(window, setup, steps: int, timeout_s: float, first_steps: int = 1000, baseline_s: float = 0) -> dict:
    """Train `steps` steps in the window's studio with the meters and the simulated user running."""
    studio = window.ensure_studio()
    studio.set_up(setup)
    if not wait_for(studio.run_ready, 600_000) and studio.run is None:
        raise RuntimeError("the studio's run was not set up in time")
    trainer = studio.worker.trainer
    start_step = trainer.step_count
    user = SimulatedUser(window)
    baseline = idle_baseline(window, user, baseline_s) if baseline_s > 0 else {}
    meter = StallMeter(
        lambda: f"step {trainer.step_count}, last action: {user.last}",
        lambda: (trainer.step_count - start_step) // SEGMENT_STEPS,
    )
    rss = RssSampler(lambda: trainer.step_count - start_step)
    gc.collect()
    threads_before = {"python": threading.active_count(), "os": psutil.Process().num_threads()}
    rss.sample()
    rss.start()
    meter.start()
    user.start()
    load_before = psutil.getloadavg()
    started = time.perf_counter()
    studio.train_steps(steps)
    wait_for(studio.paused, int(timeout_s * 1000))
    elapsed = time.perf_counter() - started
    trained = trainer.step_count - start_step
    if trained < steps:  # out of time: stop where it is
        studio.pause()
        wait_for(studio.paused, 60_000)
        trained = trainer.step_count - start_step
    user.stop()
    meter.stop()
    sizes = bounded_sizes(studio)
    ended = studio.shutdown()
    rss.finish()
    gc.collect()
    return {
        "steps": trained,
        "steps_requested": steps,
        "elapsed_s": round(elapsed, 1),
        "steps_per_s": round(trained / elapsed, 2),
        "worker_thread_ended": ended,
        **rss.summary(first_steps),
        **sizes,
        **meter.summary(),
        "actions": user.done,
        f"by_{SEGMENT_STEPS}_steps_p99_worst_over100": meter.by_segment(),
        "idle_baseline": baseline,
        "python_objects_end": len(gc.get_objects()),
        "threads_before": threads_before,
        "threads_end": {"python": threading.active_count(), "os": psutil.Process().num_threads()},
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_end": [round(x, 2) for x in psutil.getloadavg()],
        "rss_curve": rss.samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="optimizer steps to train")
    parser.add_argument("--preset", default="nano", help="model preset of the studio's default run")
    parser.add_argument("--timeout-min", type=float, default=150, help="stop training after this many minutes")
    parser.add_argument(
        "--baseline-s",
        type=float,
        default=60,
        help="seconds of the idle baseline (same user actions, no training) before the run",
    )
    parser.add_argument("--csv", help="write the RSS curve here (seconds, step, MB)")
    args = parser.parse_args()

    QApplication.instance() or QApplication(sys.argv[:1])
    from core.training.run_setup import RunSetup

    setup = RunSetup(model_preset=args.preset)  # the studio's default run; "Train N steps" past its schedule
    window = open_window(Path(tempfile.mkdtemp()))
    result = soak(window, setup, args.steps, args.timeout_min * 60, baseline_s=args.baseline_s)
    curve = result.pop("rss_curve")
    window.close()
    result.update(
        model=args.preset,
        run=setup.describe_corpus(),
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        cpus=psutil.cpu_count(),
    )
    if args.csv:
        lines = ["seconds,step,rss_mb"] + [f"{t:.1f},{step},{mb:.1f}" for t, step, mb in curve]
        Path(args.csv).write_text("\n".join(lines) + "\n")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
