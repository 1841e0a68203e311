"""A long session in miniature: train past every bound several times, with a simulated user at work.

The soak benchmark (benchmarks/soak_studio.py) trains 20,000 steps this way; here the bounds are made
small (a timeline of 8 snapshots, curves of 40 points) so a few hundred steps cross each of them several
times. What is checked is what would show a leak: every store stays under its cap however many steps
go by, the thinned curves still carry the true losses (as means), and no thread outlives the studio.
"""

from __future__ import annotations

import math
import sys
import threading
from pathlib import Path

import numpy as np
import psutil
import pytest

from app.studio import live_plots, run_controller
from studio_runs import TINY_RUN

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.soak_studio import SimulatedUser, bounded_sizes, open_window  # noqa: E402

STEPS = 200
CHUNKS = 4  # training runs in four stretches; the user acts during each
ACTIONS_PER_CHUNK = 3  # type, scrub, switch tab
CURVE_POINTS = 40
TIMELINE_CAP = 8  # capacity_for's smallest: the studio never keeps fewer
SHORT_RUN = TINY_RUN
WAIT_MS = 120_000


@pytest.fixture
def window(qapp, tmp_path, monkeypatch):
    monkeypatch.setattr(live_plots, "MAX_POINTS", CURVE_POINTS)
    monkeypatch.setattr(run_controller, "TIMELINE_SNAPSHOTS", TIMELINE_CAP)
    window = open_window(tmp_path)
    yield window
    window.close()


def os_threads() -> set[int]:
    return {thread.id for thread in psutil.Process().threads()}


def test_a_long_session_stays_within_every_bound_and_leaves_no_thread(qtbot, window):
    studio = window.ensure_studio()
    python_threads, threads_before = set(threading.enumerate()), os_threads()
    with qtbot.waitSignal(studio.run_ready, timeout=WAIT_MS):
        studio.set_up(SHORT_RUN)
    first_every = studio.timeline.every
    largest = {"timeline": 0, "loss curve": 0, "all curves": 0}

    def measure(_step: int) -> None:  # after every drawn frame: the stores never pass their caps, even briefly
        sizes = bounded_sizes(studio)
        for name, key in (
            ("timeline", "timeline_snapshots"),
            ("loss curve", "loss_curve_points"),
            ("all curves", "curve_points_all"),
        ):
            largest[name] = max(largest[name], sizes[key])

    studio.frame_drawn.connect(measure)
    # The user types, scrubs the timeline and switches tabs while training runs. The actions are made
    # right after each stretch of training starts, not on a clock: on a fast machine a timer might fire
    # once before the whole run is over, and the test would depend on the machine's speed.
    user = SimulatedUser(window)
    for _ in range(CHUNKS):
        with qtbot.waitSignal(studio.paused, timeout=WAIT_MS):
            studio.train_steps(STEPS // CHUNKS)
            for _ in range(ACTIONS_PER_CHUNK):
                user.act()
    user.stop()
    studio.frame_drawn.disconnect(measure)
    trainer = studio.worker.trainer
    assert trainer.step_count == STEPS
    assert user.done["scrubbed"] == CHUNKS and user.done["typed"] == CHUNKS  # the GUI did real work meanwhile

    # The timeline: 25x its capacity in steps, never more than the capacity kept, evenly spread.
    timeline = studio.timeline
    assert timeline.capacity == TIMELINE_CAP and STEPS >= 25 * TIMELINE_CAP * first_every
    assert largest["timeline"] <= TIMELINE_CAP and len(timeline) <= TIMELINE_CAP
    assert timeline.every >= 8 * first_every  # it thinned itself at least three times
    kept = timeline.steps()
    assert np.all(np.diff(kept) == timeline.every) and kept[-1] > STEPS - 2 * timeline.every
    per_snapshot = timeline.nbytes / len(timeline)
    assert timeline.nbytes <= timeline.max_nbytes(per_snapshot)

    # The curves: bounded, and each thinned point is the mean of the losses of its steps.
    curve = studio.plots.train_curve
    assert largest["loss curve"] <= CURVE_POINTS and len(curve.steps) <= CURVE_POINTS
    assert curve.per_point >= 8 and len(curve.steps) >= CURVE_POINTS // 2
    losses = dict(trainer.loss_history["train"])
    for step, value in zip(curve.steps, curve.values):
        own_steps = range(step - curve.per_point + 1, step + 1)
        assert value == pytest.approx(np.mean([losses[s] for s in own_steps]), rel=1e-9)
    curve_count = len(studio.plots.all_curves())
    assert largest["all curves"] <= curve_count * CURVE_POINTS
    drawn_steps, _ = curve.item.getData()
    assert len(drawn_steps) <= CURVE_POINTS + 1 and drawn_steps[-1] == STEPS  # the newest step is on screen

    # The text samples keep a bounded log; the detector history grows with the snapshots taken (logarithmic).
    samples = studio.plots.sample_view
    assert 0 < samples.blockCount() <= samples.maximumBlockCount()
    thinnings = round(math.log2(timeline.every / first_every))
    taken_at_most = TIMELINE_CAP + TIMELINE_CAP // 2 * thinnings + 1
    assert len(studio.heads.detectors.steps) <= taken_at_most

    # Stopping the studio ends its training thread; nothing it started is left running.
    assert studio.shutdown()
    assert studio.worker.isFinished()
    assert set(threading.enumerate()) == python_threads
    assert os_threads() <= threads_before  # (the training thread was started by set_up, after `before`)
