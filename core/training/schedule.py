"""How big a step the optimizer takes at each point of training.

Linear warmup (start gently, while Adam's running averages are still empty), then a decay down to
`min_lr`, so the last steps settle into a minimum instead of bouncing around it: a cosine (slow, fast,
slow), or a straight line, which keeps the rate higher early and lower late and reached a given loss in
fewer steps on the micro preset (BENCHMARKS.md, "Training").
"""

from __future__ import annotations

import math
from typing import Protocol

LR_DECAYS = ("cosine", "linear")


class ScheduleSettings(Protocol):
    learning_rate: float  # the peak, reached at the end of warmup
    min_lr: float  # the floor the cosine decays to
    warmup_steps: int  # steps of linear growth from near 0 to the peak
    max_steps: int  # the step at which the decay reaches min_lr
    lr_decay: str  # "cosine" or "linear": the decay's shape


def learning_rate_at(step: int, cfg: ScheduleSettings) -> float:
    """The learning rate for optimizer step `step` (counted from 0)."""
    if step < cfg.warmup_steps:
        return cfg.learning_rate * (step + 1) / (cfg.warmup_steps + 1)
    if step >= cfg.max_steps:
        return cfg.min_lr
    progress = (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps)  # 0 -> 1
    if cfg.lr_decay == "linear":
        return cfg.min_lr + (1.0 - progress) * (cfg.learning_rate - cfg.min_lr)
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))  # 1 -> 0
    return cfg.min_lr + cosine * (cfg.learning_rate - cfg.min_lr)
