"""What one training step reports: the record, the opened-up details, and copies of the weights."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class WeightSnapshot:
    step: int  # optimizer steps the weights had received
    tensors: Mapping[str, np.ndarray]  # the model's state dict as read-only CPU float arrays

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Fresh tensors for `model.load_state_dict`."""
        return {name: torch.tensor(array) for name, array in self.tensors.items()}


@dataclass(frozen=True)
class StepDetails:
    """One step, opened up."""

    x: np.ndarray  # (B, T) the input token ids of the batch
    y: np.ndarray  # (B, T) the target ids: x shifted one to the left
    gradients: dict[str, np.ndarray]  # parameter name -> its gradient, as backprop computed it (before clipping)
    updates: dict[str, np.ndarray]  # parameter name -> the change the optimizer applied (after - before)
    clip_scale: float  # the factor clipping multiplied all gradients by (1.0: not clipped)


@dataclass(frozen=True)
class StepRecord:
    step: int  # number of this step, counting from 1 (weights after it have `step` updates)
    loss: float  # training loss on this step's batch (before the update)
    lr: float  # learning rate used for the update
    tokens_seen: int  # training tokens read so far, this step included
    elapsed_s: float  # seconds spent inside step() so far
    grad_norms: dict[str, float]  # "embed", "block 0", ..., "head" -> gradient norm of that part
    update_ratios: dict[str, float]  # same keys -> |change of its weights| / |its weights|
    val_loss: float | None = None  # loss on held-out text, on evaluation steps
    train_loss_eval: float | None = None  # loss on training text measured like val_loss, on evaluation steps
    sample: str | None = None  # generated text, on sample steps (needs a tokenizer)
    weights: WeightSnapshot | None = None  # a copy of the weights, on snapshot steps
    diverged: bool = False  # True: the loss was not a finite number and nothing was changed
    message: str = ""  # a sentence about anything unusual
    details: StepDetails | None = None  # only when step(inspect=...) asked for it
