"""A saved session's training history (its timeline snapshots), checked and rebuilt as a Timeline.

No Qt here. A session file keeps the studio's timeline as (step, {parameter name: tensor}) pairs for the
model it holds; the studio shows them read-only (a session keeps no optimizer state to train on).
"""

from __future__ import annotations

import math

import numpy as np

from core.teaching.timeline import Timeline
from core.training.trainer import WeightSnapshot


def first_misfit(snapshots, model) -> str | None:
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


def timeline_of(snapshots) -> Timeline:
    """A timeline holding exactly these (step, tensors) snapshots: its grid is their common spacing."""
    steps = [int(step) for step, _ in snapshots]
    every = 1
    if len(steps) > 1:
        every = math.gcd(*(step - steps[0] for step in steps[1:])) or 1
    timeline = Timeline(capacity=max(2, len(steps)), every=every)
    for step, tensors in snapshots:
        arrays = {
            name: np.asarray(value.detach().cpu() if hasattr(value, "detach") else value)
            for name, value in tensors.items()
        }
        timeline.add(int(step), WeightSnapshot(int(step), arrays))
    return timeline
