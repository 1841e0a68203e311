"""The settings of a training run (one frozen dataclass), and the device it runs on."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

import torch

from core.training.schedule import LR_DECAYS

OPTIMIZERS = ("adamw", "muon")


@dataclass(frozen=True)
class TrainConfig:
    # The defaults are the recipe measured fastest to a given validation loss on a 2-core CPU for the
    # micro preset (benchmarks/bench_training.py): nanoGPT's batch, a 5x higher learning rate, shorter
    # warmup, and less momentum (beta1 0.8), which lets the high learning rate turn corners faster.
    learning_rate: float = 5e-3  # peak learning rate, reached at the end of warmup
    min_lr: float = 5e-4  # the decay ends here, at max_steps
    lr_decay: str = "cosine"  # the decay's shape from learning_rate to min_lr: "cosine" or "linear"
    warmup_steps: int = 30  # steps of linear growth from ~0 to learning_rate
    max_steps: int = 1300  # length of the schedule; run() with no count stops here
    batch_size: int = 12  # context windows per optimizer step (over all processes together)
    context_length: int = 64  # tokens per window; at most the model's context_length
    weight_decay: float = 0.1  # AdamW's pull of 2-D weight matrices towards 0 (biases, norms: none)
    beta1: float = 0.8  # AdamW's memory of past gradients (momentum)
    beta2: float = 0.99  # AdamW's memory of past squared gradients
    grad_clip: float = 1.0  # gradients longer than this (overall norm) are shortened; 0 = off
    eval_interval: int = 100  # measure train and validation loss every N steps; 0 = never
    eval_batches: int = 10  # batches averaged for each of those measurements
    sample_interval: int = 200  # write a short text sample every N steps; 0 = never
    sample_length: int = 100  # tokens in each sample
    snapshot_interval: int = 100  # keep a copy of the weights every N steps; 0 = never
    seed: int = 1337  # the same seed gives the same batches, hence the same run
    device: str = "auto"  # "auto" (cuda, then mps, then cpu), or "cpu", "cuda", "cuda:1", "mps"
    # bfloat16 autocast. Measured on the 2-core CPU this was written on (AMX bf16 units): slower than
    # float32 for models this small (the casts cost more than the faster matmuls), so off by default.
    bf16: bool = False
    # False: the plain step, which records per-part gradient norms and update ratios (the studio's charts)
    # and runs AdamW's written-out formula on the CPU. True (the command line): only the loss is recorded
    # and AdamW runs torch's fused kernel on the CPU too; about 4% less time a step, the same weights to
    # float precision (tests/core/test_fast_step.py).
    fast_step: bool = False
    # "adamw": AdamW moves every weight. "muon": Muon (core/training/muon.py) moves the blocks' weight
    # matrices by orthogonalised momentum and AdamW the rest; about half the steps to the same loss on the
    # micro preset at ~20% more time a step on a CPU (BENCHMARKS.md, "Training").
    optimizer: str = "adamw"

    def __post_init__(self) -> None:
        for name in ("max_steps", "batch_size", "context_length", "eval_batches", "sample_length"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive whole number, but it is {value!r}.")
        for name in ("warmup_steps", "eval_interval", "sample_interval", "snapshot_interval", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a whole number of 0 or more, but it is {value!r}.")
        if not self.learning_rate > 0 or not math.isfinite(self.learning_rate):
            raise ValueError(f"learning_rate must be a positive number (e.g. 1e-3), but it is {self.learning_rate}.")
        if not 0 <= self.min_lr <= self.learning_rate:
            raise ValueError(
                f"min_lr must be between 0 and learning_rate ({self.learning_rate}), but it is {self.min_lr}."
            )
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 0 and below 1 (e.g. 0.9), but it is {getattr(self, name)}.")
        if self.weight_decay < 0 or self.grad_clip < 0:
            raise ValueError("weight_decay and grad_clip must be 0 or more.")
        if self.lr_decay not in LR_DECAYS:
            raise ValueError(f"Unknown learning-rate decay {self.lr_decay!r}; use one of {', '.join(LR_DECAYS)}.")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Unknown optimizer {self.optimizer!r}; use one of {', '.join(OPTIMIZERS)}.")
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", self.device):
            raise ValueError(f"Unknown device {self.device!r}; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"Unknown training settings: {', '.join(sorted(unknown))}.")
        return cls(**values)


def pick_device(requested: str = "auto") -> torch.device:
    """'auto' takes a GPU when there is one: cuda, then Apple's mps, else the CPU."""
    if requested != "auto":
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())  # under torchrun: this process's GPU
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
