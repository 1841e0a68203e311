"""The training timeline: evenly spread snapshots, bounded memory, nearest-step lookup."""

import numpy as np
import pytest
import torch

from core.teaching.timeline import Timeline, capacity_for, snapshot_nbytes


def weights_at(step: int) -> dict:
    return {"w": torch.full((4, 4), float(step))}  # 64 bytes, and it remembers its step


def test_a_long_run_stays_within_capacity_and_evenly_spread():
    timeline = Timeline(capacity=16)
    peak = 0
    for step in range(10_001):
        if timeline.wants(step):
            timeline.add(step, weights_at(step))
        peak = max(peak, len(timeline))
    steps = timeline.steps()
    assert len(steps) <= 16 and peak <= 16
    # The spacing doubles from 1 until 16 snapshots reach step 10,000: 16 · 512 < 10,000 <= 16 · 1024.
    assert timeline.every == 1024
    assert steps[0] == 0
    assert np.all(np.diff(steps) == 1024)
    assert steps[-1] == 9 * 1024
    # Memory: what is held equals the snapshots kept, within the stated bound.
    assert timeline.nbytes == len(steps) * 64
    assert timeline.nbytes <= timeline.max_nbytes(64)


def test_nearest_returns_the_weights_of_the_closest_kept_step():
    timeline = Timeline(capacity=4, every=10)
    for step in range(0, 31, 10):
        timeline.add(step, weights_at(step))
    assert timeline.steps() == [0, 10, 20, 30]
    step, weights = timeline.nearest(14)
    assert step == 10 and weights["w"][0, 0].item() == 10.0
    assert timeline.nearest(15)[0] == 10  # a tie goes to the earlier step
    assert timeline.nearest(16)[0] == 20
    assert timeline.nearest(1_000)[0] == 30
    assert timeline.nearest(-5)[0] == 0


def test_steps_off_the_grid_are_refused_without_copying():
    timeline = Timeline(capacity=8, every=5)
    assert timeline.add(3, weights_at(3))  # the first step is always kept: it is the origin
    assert not timeline.wants(4)
    assert not timeline.add(7, weights_at(7))
    assert timeline.add(8, weights_at(8))
    assert timeline.steps() == [3, 8]


def test_thinning_keeps_the_first_step_and_doubles_the_spacing():
    timeline = Timeline(capacity=4)
    for step in range(5):
        timeline.add(step, weights_at(step))
    assert timeline.steps() == [0, 2, 4]
    assert timeline.every == 2
    assert not timeline.wants(5) and timeline.wants(6)


def test_rollback_forgets_the_future():
    timeline = Timeline(capacity=8)
    for step in range(6):
        timeline.add(step, weights_at(step))
    timeline.truncate_after(3)
    assert timeline.steps() == [0, 1, 2, 3]
    assert timeline.wants(4)
    with pytest.raises(ValueError):
        Timeline(capacity=8).nearest(0)


def test_capacity_follows_the_memory_budget():
    assert snapshot_nbytes(weights_at(0)) == 64
    assert capacity_for(1_000_000, budget_bytes=20_000_000) == 19
    assert capacity_for(10, budget_bytes=10**9) == 256  # never more than the largest
    assert capacity_for(10**9, budget_bytes=10) == 8  # never fewer than the smallest
