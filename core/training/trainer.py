"""Training, one optimizer step at a time, with a record of what each step did.

    trainer = Trainer(model, TokenDataset(tokens), TrainConfig(max_steps=500), tokenizer)
    for record in trainer.run(500):        # a generator: pause or stop between any two steps
        print(record.step, record.loss)

One step: pick a batch of random windows, run the model, measure how wrong it was (cross-entropy),
backpropagate, clip the gradient, let AdamW (or Muon) move the weights. The record says how big the gradient was
in each layer and how far each layer's weights moved compared with their size. A step whose loss is
not a finite number is refused: the weights stay as they were and the record says so.
Nothing here knows about windows or threads; the GUI drives `run()` from a worker.
"""
from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import nullcontext
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from core.training import distributed
from core.training.dataset import TokenDataset
from core.model.eval_mode import evaluating
from core.speed.malloc import keep_freed_memory
from core.training.muon import build_optimizer, check_any_optimizer_state
from core.model.sampling import generate
from core.training.schedule import learning_rate_at
from core.training.step_record import StepDetails, StepRecord, WeightSnapshot
from core.training.train_config import TrainConfig, pick_device


def part_of(parameter_name: str) -> str:
    """Which part of the model a parameter belongs to: 'embed', 'block N' or 'head'."""
    match = re.match(r"transformer\.h\.(\d+)\.", parameter_name)
    if match:
        return f"block {match.group(1)}"
    if parameter_name.startswith(("transformer.wte", "transformer.wpe")):
        return "embed"
    return "head"  # the final LayerNorm and, when not tied to the embedding, the output matrix


class Trainer:
    def __init__(self, model: nn.Module, dataset: TokenDataset, config: TrainConfig, tokenizer=None) -> None:
        model_context = model.config.context_length
        if config.context_length > model_context:
            raise ValueError(
                f"The training context length ({config.context_length}) is longer than the model reads "
                f"({model_context}); lower it to {model_context} or less."
            )
        self.world_size = distributed.world_size()
        self.rank = distributed.rank()
        if config.batch_size % self.world_size:
            raise ValueError(
                f"The batch size ({config.batch_size}) must divide evenly over {self.world_size} processes."
            )
        self._check_split_lengths(dataset, config.context_length)
        self.config = config
        self.dataset = dataset
        self.tokenizer = tokenizer
        self.device = pick_device(config.device)
        self.model = model.to(self.device)
        keep_freed_memory()  # every step allocates the same activations again: reuse, no page faults
        self.model.train()
        # Under torchrun the gradients are averaged over processes during backward.
        self._forward_model = distributed.wrap_model(self.model, self.device)
        # The formula runs on the CPU; on CUDA torch's fused kernel (small kernels per tensor cost more there),
        # and on the CPU too for a fast step.
        self.optimizer = build_optimizer(self.model.named_parameters(), config,
                                         fused=self.device.type == "cuda" or config.fast_step)
        self.generator = torch.Generator().manual_seed(config.seed)  # draws every training batch

        self.step_count = 0          # optimizer updates applied so far
        self.tokens_seen = 0
        self.elapsed_s = 0.0
        self.lr_scale = 1.0          # multiplies the schedule; lowered after a divergence
        self.loss_history: dict[str, list[list[float]]] = {"train": [], "val": []}
        self._prepare_bookkeeping()
        self.last_good: WeightSnapshot = self.snapshot()   # weights to roll back to
        self._last_good_optimizer = self._optimizer_copy()

    # -- setup -----------------------------------------------------------------------------------
    @staticmethod
    def _check_split_lengths(dataset: TokenDataset, context_length: int) -> None:
        needed = context_length + 1
        if len(dataset.train) < needed:
            raise ValueError(
                f"The training text has {len(dataset.train)} tokens, but one example needs {needed} "
                f"(a context of {context_length} plus the next token). Use more text or a shorter context."
            )
        if 0 < len(dataset.val) < needed:
            raise ValueError(
                f"The validation part has only {len(dataset.val)} tokens, fewer than the {needed} one example "
                f"needs. Use more text, a larger validation fraction, or a shorter context."
            )

    def _prepare_bookkeeping(self) -> None:
        """Name every parameter once and give it its part's number, so per-part norms are one index_add."""
        named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        self._names = [n for n, _ in named]
        self._params = [p for _, p in named]
        self.parts = list(dict.fromkeys(part_of(n) for n in self._names))  # embed, block 0.., head
        part_number = {part: i for i, part in enumerate(self.parts)}
        self._part_of_param = torch.tensor([part_number[part_of(n)] for n in self._names], device=self.device)
        self._part_of_param_twice = torch.cat([self._part_of_param, self._part_of_param + len(self.parts)])
        self._weights = [p.detach() for p in self._params]               # the same storage, outside autograd
        self._weights_before = [w.clone() for w in self._weights]       # filled before each update
        # Tied weights appear under two names (lm_head.weight is wte.weight); both may be inspected.
        index_of = {id(p): i for i, p in enumerate(self._params)}
        every_name = self.model.named_parameters(remove_duplicate=False)
        self._param_index = {name: index_of[id(p)] for name, p in every_name if id(p) in index_of}

    @property
    def is_main(self) -> bool:
        """Only the first process writes files and prints."""
        return self.rank == 0

    @property
    def parameter_names(self) -> list[str]:
        """Names `step(inspect=...)` accepts (tied weights under both names)."""
        return list(self._param_index)

    # -- the learning rate -------------------------------------------------------------------------
    def learning_rate(self) -> float:
        return learning_rate_at(self.step_count, self.config) * self.lr_scale

    def set_learning_rate_scale(self, scale: float) -> None:
        """Multiply the whole schedule by `scale` from the next step on (e.g. 0.5 after a divergence)."""
        if not scale > 0 or not math.isfinite(scale):
            raise ValueError(f"The learning-rate scale must be a positive number, but it is {scale}.")
        self.lr_scale = float(scale)

    # -- one step ----------------------------------------------------------------------------------
    def step(self, inspect: list[str] | None = None) -> StepRecord:
        """Exactly one optimizer step. `inspect`: parameter names whose gradient and update to return."""
        for name in inspect or ():
            if name not in self._param_index:
                raise ValueError(f"There is no parameter {name!r}; some that exist: {', '.join(self._names[:4])}, ...")
        started = time.perf_counter()
        step_number = self.step_count + 1
        lr = self.learning_rate()
        x, y = self._next_batch()

        loss = self._forward(x, y, step_number)
        loss_value = distributed.mean_over_processes(loss.detach())  # every process gets the same number
        if not math.isfinite(loss_value):  # never backpropagate a nan: it would poison Adam's state
            return self._refused(step_number, lr, loss_value, started, "the loss became")
        loss.backward()
        # Per-part records (the studio's charts) unless the step is a fast one; inspecting needs them.
        per_part = not self.config.fast_step or bool(inspect)
        grad_norms, grad_total = self._gradient_norms() if per_part else ([], self._total_gradient_norm())
        if not math.isfinite(grad_total):
            return self._refused(step_number, lr, loss_value, started, "the gradient became")

        raw_gradients = {n: self._params[self._param_index[n]].grad.detach().cpu().numpy().copy()
                         for n in inspect or ()}
        clip_scale = self._clip_gradients(grad_total)
        if per_part:
            for before, weight in zip(self._weights_before, self._weights):
                before.copy_(weight)
        self.optimizer.step(lr)
        self._forget_gradients()
        update_ratios, updates = self._update_ratios(inspect or ()) if per_part else ({}, {})

        self.step_count = step_number
        self.tokens_seen += self.config.batch_size * self.config.context_length
        self.loss_history["train"].append([step_number, loss_value])
        details = None
        if inspect:
            details = StepDetails(x.numpy(), y.numpy(), raw_gradients, updates, clip_scale)
        record = StepRecord(
            step=step_number, loss=loss_value, lr=lr, tokens_seen=self.tokens_seen, elapsed_s=0.0,
            grad_norms=dict(zip(self.parts, grad_norms)), update_ratios=update_ratios, details=details,
        )
        record = self._periodic_extras(record)
        self.elapsed_s += time.perf_counter() - started
        return replace(record, elapsed_s=self.elapsed_s)

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """This process's share of the batch. Every process draws the same global batch, then takes its rows."""
        cfg = self.config
        starts = self.dataset.sample_starts("train", cfg.batch_size, cfg.context_length, self.generator)
        share = cfg.batch_size // self.world_size
        mine = starts[self.rank * share:(self.rank + 1) * share]
        return self.dataset.windows_at("train", mine, cfg.context_length)

    def _autocast(self):
        if not self.config.bf16:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def _forward(self, x: torch.Tensor, y: torch.Tensor, step_number: int) -> torch.Tensor:
        """The loss on this batch (the model's graph is kept for backward)."""
        x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
        uses_dropout = self.model.config.dropout > 0
        # Dropout draws from torch's global generator: seed it per step so runs (and resumes) repeat.
        with torch.random.fork_rng(devices=[]) if uses_dropout else nullcontext():
            if uses_dropout:
                torch.manual_seed(self.config.seed * 1_000_003 + step_number)
            with self._autocast():
                _, loss = self._forward_model(x, y)
        return loss

    def _gradients(self) -> list[torch.Tensor]:
        for p in self._params:
            if p.grad is None:  # a parameter this batch did not reach: its gradient is 0
                p.grad = torch.zeros_like(p)
        return [p.grad for p in self._params]

    def _gradient_norms(self) -> tuple[list[float], float]:
        """Per-part gradient norms and the overall norm, from one fused norm over all gradients."""
        gradients = self._gradients()
        per_tensor = torch.stack([torch.linalg.vector_norm(g) for g in gradients])  # (n_tensors,)
        per_part_sq = torch.zeros(len(self.parts), device=self.device).index_add_(
            0, self._part_of_param, per_tensor.square()
        )                                                                        # (n_parts,)
        values = torch.cat([per_part_sq.sqrt(), per_part_sq.sum().sqrt()[None]]).tolist()
        return values[:-1], values[-1]

    def _total_gradient_norm(self) -> float:
        """The overall gradient norm alone (what clipping needs), without the per-part split."""
        return torch.nn.utils.get_total_norm(self._gradients()).item()

    def _clip_gradients(self, total_norm: float) -> float:
        """Shorten the whole gradient to length grad_clip if it is longer; returns the factor used."""
        if self.config.grad_clip <= 0 or total_norm <= self.config.grad_clip:
            return 1.0
        # torch's own clipping, given the norm measured above: every gradient times grad_clip / (norm + 1e-6)
        torch.nn.utils.clip_grads_with_norm_(self._params, self.config.grad_clip, torch.tensor(total_norm))
        return self.config.grad_clip / (total_norm + 1e-6)

    def _forget_gradients(self) -> None:
        for p in self._params:
            p.grad = None

    def _update_ratios(self, inspect) -> tuple[dict[str, float], dict[str, np.ndarray]]:
        """How far each part's weights moved, relative to their size: |w_after - w_before| / |w_after|."""
        moved = self._weights_before  # reused in place: becomes before - after
        for change, weight in zip(moved, self._weights):
            change.sub_(weight)
        norms = torch.stack([torch.linalg.vector_norm(t) for t in moved + self._weights])  # (2 n_tensors,)
        by_part = torch.zeros(2 * len(self.parts), device=self.device).index_add_(
            0, self._part_of_param_twice, norms.square()
        ).sqrt()                                                                         # (2 n_parts,)
        moved_norm, size_norm = by_part[: len(self.parts)], by_part[len(self.parts):]
        ratios = (moved_norm / size_norm.clamp_min(1e-12)).tolist()
        updates = {n: -moved[self._param_index[n]].cpu().numpy() for n in inspect}
        return dict(zip(self.parts, ratios)), updates

    def _refused(self, step_number: int, lr: float, loss_value: float, started: float, what: str) -> StepRecord:
        """A step whose loss or gradient is nan/inf: throw the gradient away, change nothing."""
        self._forget_gradients()
        self.elapsed_s += time.perf_counter() - started
        message = (
            f"Step {step_number}: {what} {loss_value if what == 'the loss became' else 'not a finite number'}, "
            f"so this update was not applied and the weights are still those after step {self.step_count}. "
            f"Roll back to the last good snapshot (step {self.last_good.step}) with a lower learning rate."
        )
        return StepRecord(
            step=step_number, loss=loss_value, lr=lr, tokens_seen=self.tokens_seen, elapsed_s=self.elapsed_s,
            grad_norms={}, update_ratios={}, diverged=True, message=message,
        )

    def _periodic_extras(self, record: StepRecord) -> StepRecord:
        """Evaluation, a text sample and a weight copy, each on its own interval."""
        cfg, step = self.config, record.step
        changes: dict = {}
        if _due(step, cfg.eval_interval) or (cfg.eval_interval and step == cfg.max_steps):
            losses = self.evaluate()
            changes.update(val_loss=losses["val"], train_loss_eval=losses["train"])
            if losses["val"] is not None:
                self.loss_history["val"].append([step, losses["val"]])
        if _due(step, cfg.sample_interval) and self.tokenizer is not None and self.is_main:
            changes["sample"] = self.sample_text()
        if _due(step, cfg.snapshot_interval):
            changes["weights"] = self.snapshot()
            self.last_good = changes["weights"]
            self._last_good_optimizer = self._optimizer_copy()
        return replace(record, **changes) if changes else record

    # -- many steps --------------------------------------------------------------------------------
    def run(self, n_steps: int | None = None) -> Iterator[StepRecord]:
        """Yield one record per step for `n_steps` steps (default: until max_steps). Stops after a divergence."""
        if n_steps is None:
            n_steps = max(0, self.config.max_steps - self.step_count)
        for _ in range(n_steps):
            record = self.step()
            yield record
            if record.diverged:
                return

    # -- measuring ---------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self) -> dict[str, float | None]:
        """Mean loss on the same fixed windows every time (so measurements compare), train and val."""
        with evaluating(self.model):
            return {split: self._mean_loss(split) for split in ("train", "val")}

    def _mean_loss(self, split: str) -> float | None:
        if len(self.dataset.split(split)) == 0:
            return None
        cfg = self.config
        windows = torch.Generator().manual_seed(cfg.seed + 1)  # fixed windows, separate from training's draws
        total = 0.0
        for _ in range(cfg.eval_batches):
            x, y = self.dataset.get_batch(split, cfg.batch_size, cfg.context_length, windows)
            with self._autocast():
                _, loss = self.model(x.to(self.device), y.to(self.device))
            total += loss.item()
        return total / cfg.eval_batches

    def sample_text(self, length: int | None = None) -> str:
        """Let the model write: start from the opening tokens of the training text, then sample."""
        prompt = self.dataset.train[: min(8, self.model.config.context_length)].astype(np.int64)
        ids = generate(self.model, prompt, length or self.config.sample_length, seed=self.config.seed + self.step_count)
        # A pretrained model may have more token vectors than its tokenizer has tokens (Qwen2.5 pads its
        # vocabulary to a round number): an id with no token behind it is left out of the text.
        return self.tokenizer.decode([int(i) for i in ids if i < self.tokenizer.vocab_size])

    # -- weights in and out ------------------------------------------------------------------------
    def snapshot(self) -> WeightSnapshot:
        """A detached, read-only CPU copy of the weights (tied weights copied once, shown under both names)."""
        copies: dict[int, np.ndarray] = {}
        tensors = {}
        for name, tensor in self.model.state_dict().items():
            key = tensor.data_ptr()
            if key not in copies:
                copies[key] = tensor.detach().float().cpu().numpy().copy()
                copies[key].setflags(write=False)
            tensors[name] = copies[key]
        return WeightSnapshot(step=self.step_count, tensors=tensors)

    def load_snapshot(self, snapshot: WeightSnapshot) -> None:
        """Put the snapshot's weights into the model (the step count and optimizer stay as they are)."""
        self.model.load_state_dict(snapshot.state_dict())

    def roll_back(self, lr_scale: float = 0.5) -> str:
        """Return to the last good snapshot (weights, optimizer, step) and scale the learning rate down."""
        self.load_snapshot(self.last_good)
        self.optimizer.load_state_tensors(self._last_good_optimizer)
        self.step_count = self.last_good.step
        self.tokens_seen = self.step_count * self.config.batch_size * self.config.context_length
        self.loss_history = {k: [p for p in v if p[0] <= self.step_count] for k, v in self.loss_history.items()}
        self.set_learning_rate_scale(self.lr_scale * lr_scale)
        return f"Rolled back to step {self.step_count}; the learning rate is now {self.lr_scale:g}x the schedule."

    def _optimizer_copy(self) -> dict[str, torch.Tensor]:
        return self.optimizer.state_tensors()

    # -- everything needed to resume exactly (tensors only, so it saves as safetensors) -------------
    def training_state(self) -> dict[str, torch.Tensor]:
        state = {
            "trainer.step": torch.tensor(self.step_count, dtype=torch.int64),
            "trainer.tokens_seen": torch.tensor(self.tokens_seen, dtype=torch.int64),
            "trainer.elapsed_s": torch.tensor(self.elapsed_s, dtype=torch.float64),
            "trainer.lr_scale": torch.tensor(self.lr_scale, dtype=torch.float64),
            "trainer.generator": self.generator.get_state(),
        }
        return {**state, **self.optimizer.state_tensors()}

    def load_training_state(self, state: Mapping[str, torch.Tensor]) -> None:
        """Continue exactly where `training_state()` left off (same model shape required)."""
        check_training_state({k: tuple(v.shape) for k, v in state.items()},
                             {n: tuple(p.shape) for n, p in zip(self._names, self._params)})
        self.step_count = int(state["trainer.step"])
        self.tokens_seen = int(state["trainer.tokens_seen"])
        self.elapsed_s = float(state["trainer.elapsed_s"])
        self.lr_scale = float(state["trainer.lr_scale"])
        self.generator.set_state(state["trainer.generator"].to(torch.uint8))
        self.optimizer.load_state_tensors(state)
        self.last_good = self.snapshot()
        self._last_good_optimizer = self._optimizer_copy()


_OPTIMIZERS = ("adamw.", "muon.")  # what an optimizer's state tensors are called
_COUNTERS = ("trainer.step", "trainer.tokens_seen", "trainer.elapsed_s", "trainer.lr_scale")


def check_training_state(state_shapes: Mapping[str, tuple], param_shapes: Mapping[str, tuple]) -> None:
    """Raise ValueError naming the first entry that does not fit a model with these parameters."""
    for name in _COUNTERS:
        if tuple(state_shapes.get(name, (None,))) != ():
            raise ValueError(f"The training state has no single number {name!r}.")
    if "trainer.generator" not in state_shapes:
        raise ValueError("The training state has no 'trainer.generator' (the batch sampler's state).")
    unknown = [k for k in state_shapes if not k.startswith(_OPTIMIZERS) and k not in (*_COUNTERS, "trainer.generator")]
    if unknown:
        raise ValueError(f"The training state holds {unknown[0]!r}, which the trainer does not know.")
    check_any_optimizer_state(state_shapes, param_shapes)


def _due(step: int, interval: int) -> bool:
    return interval > 0 and step % interval == 0
