"""A bounded history of the model's weights during training, so a learner can scrub back in time.

Snapshots are kept every `every` steps. When the store is full, every other snapshot is dropped and
`every` doubles, so however long the run, the kept steps stay evenly spread from the first step to
the latest one and memory never exceeds `capacity + 1` snapshots (the +1 is the newcomer that
triggers a thinning, held only for that moment).

    timeline = Timeline(capacity=64)
    for record in trainer.run(1000):
        if timeline.wants(record.step):
            timeline.add(record.step, trainer.snapshot())
    step, weights = timeline.nearest(250)
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np
import torch

DEFAULT_BUDGET_BYTES = 96 * 2**20  # how much memory the history of one run may use


def snapshot_nbytes(weights: Any) -> int:
    """Bytes held by a snapshot: a dict of tensors/arrays, or anything with `.nbytes` or `.tensors`."""
    if isinstance(weights, torch.Tensor):
        return weights.numel() * weights.element_size()
    if isinstance(weights, np.ndarray):
        return weights.nbytes
    if isinstance(weights, dict):
        return sum(snapshot_nbytes(value) for value in weights.values())
    for attribute in ("nbytes", "tensors", "state_dict", "weights"):
        value = getattr(weights, attribute, None)
        if isinstance(value, int):
            return value
        if value is not None and not callable(value):
            return snapshot_nbytes(value)
    return 0


def capacity_for(
    bytes_per_snapshot: int, budget_bytes: int = DEFAULT_BUDGET_BYTES, smallest: int = 8, largest: int = 256
) -> int:
    """How many snapshots fit the memory budget (at least `smallest`, so scrubbing stays useful)."""
    fitting = budget_bytes // max(1, bytes_per_snapshot) - 1  # -1: room for the newcomer
    return int(max(smallest, min(largest, fitting)))


class Timeline:
    """Snapshots keyed by step, evenly thinned to stay within `capacity`."""

    def __init__(self, capacity: int = 64, every: int = 1) -> None:
        if capacity < 2:
            raise ValueError(f"A timeline needs room for at least 2 snapshots, not {capacity}.")
        if every < 1:
            raise ValueError(f"Snapshots are taken every N steps with N >= 1, not {every}.")
        self.capacity = capacity
        self.every = every
        self._origin: int | None = None  # the first step seen; spacing is counted from here
        self._steps: list[int] = []
        self._weights: dict[int, Any] = {}

    def wants(self, step: int) -> bool:
        """Whether a snapshot at this step would be kept (so the caller can skip copying weights)."""
        if self._origin is None:
            return True
        return step > self._origin and (step - self._origin) % self.every == 0 and step not in self._weights

    def add(self, step: int, weights: Any) -> bool:
        """Store the weights of this step if it is on the grid; thin the store when full. Returns kept."""
        if not self.wants(step):
            return False
        if self._steps and step < self._steps[-1]:
            raise ValueError(f"Snapshots must arrive in order; step {step} came after step {self._steps[-1]}.")
        if self._origin is None:
            self._origin = step
        self._steps.append(step)
        self._weights[step] = weights
        if len(self._steps) > self.capacity:
            self._thin()
        return True

    def _thin(self) -> None:
        """Keep every other grid point: the steps on a grid twice as coarse."""
        self.every *= 2
        kept = [s for s in self._steps if (s - self._origin) % self.every == 0]
        for step in set(self._steps) - set(kept):
            del self._weights[step]
        self._steps = kept

    def steps(self) -> list[int]:
        return list(self._steps)

    def __len__(self) -> int:
        return len(self._steps)

    def __contains__(self, step: int) -> bool:
        return step in self._weights

    def get(self, step: int) -> Any:
        return self._weights[step]

    def nearest(self, step: int) -> tuple[int, Any]:
        """(kept step closest to `step`, its weights); ties go to the earlier step."""
        if not self._steps:
            raise ValueError("The timeline is empty: no snapshot has been taken yet.")
        index = bisect.bisect_left(self._steps, step)
        candidates = self._steps[max(0, index - 1) : index + 1]
        best = min(candidates, key=lambda s: (abs(s - step), s))
        return best, self._weights[best]

    def latest(self) -> tuple[int, Any]:
        if not self._steps:
            raise ValueError("The timeline is empty: no snapshot has been taken yet.")
        return self._steps[-1], self._weights[self._steps[-1]]

    def truncate_after(self, step: int) -> None:
        """Forget snapshots later than `step` (after a rollback, the future is rewritten)."""
        for later in [s for s in self._steps if s > step]:
            del self._weights[later]
        self._steps = [s for s in self._steps if s <= step]

    def clear(self) -> None:
        self._origin = None
        self._steps.clear()
        self._weights.clear()

    @property
    def nbytes(self) -> int:
        return sum(snapshot_nbytes(w) for w in self._weights.values())

    def max_nbytes(self, bytes_per_snapshot: int) -> int:
        """The memory bound: never more than capacity + 1 snapshots at once."""
        return (self.capacity + 1) * bytes_per_snapshot
