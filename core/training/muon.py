"""Muon: momentum, then an orthogonalised update, for the weight matrices inside the blocks.

AdamW (optimizer.py) scales every number of a gradient on its own. Muon looks at a weight matrix's
update as a whole. A gradient matrix G = U S V^T (its singular value decomposition) is usually dominated
by a few directions with large singular values; a step along G mostly grows those few. Muon replaces
the singular values by 1:

    m  <- beta * m + (1 - beta) * g              momentum, as in AdamW's first moment
    u  =  beta * m + (1 - beta) * g              Nesterov: look one momentum step ahead
    O  =  orthogonalise(u) = U V^T               the same directions, every singular value 1
    w  <- w - lr * weight_decay * w              decoupled weight decay, as in AdamW
    w  <- w - lr * 0.2 * sqrt(max(rows, cols)) * O

so every direction the gradient points in moves by the same amount, and the rare ones are not drowned
by the common ones. The factor 0.2 * sqrt(max(rows, cols)) makes the update's root-mean-square 0.2,
about what AdamW's is, so the same learning rate suits both (Moonlight, "Muon is scalable", 2025).

U V^T is never computed by an SVD (slow); a few Newton-Schulz iterations, X <- a X + b (X X^T) X +
c (X X^T)^2 X, push every singular value of X towards 1 using matrix products only. With Keller
Jordan's coefficients (a, b, c) = (3.4445, -4.7750, 2.0315), 5 iterations bring every singular value
from [0.002, 1] (after dividing by the matrix's norm) into [0.68, 1.20]; exactness does not matter,
the direction does. The iterations run in
bfloat16 (as the nanoGPT speedrun does), all same-shaped matrices in one batch: on the 2-core CPU of
BENCHMARKS.md (bf16 matrix units) 8.5 ms for the micro preset's 16 matrices, a sixth of a training
step; in float32 they took 30-40 ms. Muon's step costs ~20% more than AdamW's there, and needs about
half the steps to the same loss.

Muon only knows 2-D weight matrices that map one hidden vector to another. The embedding (which here is
also the output matrix), the position table, biases and LayerNorm gains go to AdamW (`MuonWithAdamW`).
tests/core/test_muon.py checks the orthogonalisation and one step against a hand-written reference.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch

from core.training.optimizer import AdamW, check_optimizer_state
from core.training.train_config import TrainConfig

NEWTON_SCHULZ = (3.4445, -4.7750, 2.0315)  # (a, b, c): fast growth of small singular values
RMS_LIKE_ADAMW = 0.2  # the update's root-mean-square, chosen to match AdamW's


def orthogonalise(updates: torch.Tensor, steps: int = 5) -> torch.Tensor:
    """Every singular value of each (rows, cols) matrix in `updates` (k, rows, cols) pushed to about 1."""
    tall = updates.size(-2) > updates.size(-1)
    x = updates.mT if tall else updates  # (k, m, n) with m <= n: X X^T is the smaller m x m product
    x = x.bfloat16()
    x = x / (torch.linalg.matrix_norm(x, keepdim=True) + 1e-7)  # every singular value now at most 1
    a, b, c = NEWTON_SCHULZ
    for _ in range(steps):
        gram = x @ x.mT  # (k, m, m)
        x = a * x + (b * gram + c * gram @ gram) @ x  # (k, m, n): a polynomial in the singular values
    x = x.mT if tall else x  # (k, rows, cols)
    return x.to(updates.dtype)


def is_hidden_matrix(name: str, shape: tuple[int, ...]) -> bool:
    """The weights Muon moves: 2-D matrices inside the transformer blocks (not embeddings, norms, biases)."""
    return len(shape) == 2 and ".h." in f".{name}"


class Muon:
    """Muon for a list of named 2-D weight matrices; same-shaped ones are orthogonalised together."""

    def __init__(
        self,
        named_matrices: Iterable[tuple[str, torch.nn.Parameter]],
        momentum: float = 0.95,
        weight_decay: float = 0.1,
        newton_schulz_steps: int = 5,
    ) -> None:
        named = list(named_matrices)
        self.names = [name for name, _ in named]
        self.parameters = [p for _, p in named]
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.newton_schulz_steps = newton_schulz_steps
        self.velocity = {name: torch.zeros_like(p) for name, p in named}  # m: the momentum buffer
        # One batched orthogonalisation per shape (e.g. the four blocks' MLP matrices at once).
        self.by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, p in enumerate(self.parameters):
            self.by_shape.setdefault(tuple(p.shape), []).append(i)

    @torch.no_grad()
    def step(self, lr: float) -> None:
        for (rows, cols), indices in self.by_shape.items():
            looking_ahead = []
            for i in indices:
                gradient, velocity = self.parameters[i].grad, self.velocity[self.names[i]]
                velocity.lerp_(gradient, 1.0 - self.momentum)  # m = beta m + (1 - beta) g
                looking_ahead.append(gradient.lerp(velocity, self.momentum))  # u = (1 - beta) g + beta m
            directions = orthogonalise(torch.stack(looking_ahead), self.newton_schulz_steps)  # (k, rows, cols)
            scale = RMS_LIKE_ADAMW * max(rows, cols) ** 0.5
            for i, direction in zip(indices, directions):
                weight = self.parameters[i]
                weight.mul_(1.0 - lr * self.weight_decay)  # weight decay
                weight.add_(direction, alpha=-lr * scale)

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {f"muon.velocity.{name}": self.velocity[name].detach().cpu().clone() for name in self.names}

    def load_state_tensors(self, state: Mapping[str, torch.Tensor]) -> None:
        for name, p in zip(self.names, self.parameters):
            self.velocity[name] = state[f"muon.velocity.{name}"].to(p.device, p.dtype).clone()


class MuonWithAdamW:
    """Muon for the blocks' weight matrices, AdamW for every other parameter; one learning rate for both."""

    def __init__(
        self,
        named_parameters: Iterable[tuple[str, torch.nn.Parameter]],
        betas=(0.9, 0.99),
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        fused: bool = False,
    ) -> None:
        named = [(name, p) for name, p in named_parameters if p.requires_grad]
        self.muon = Muon([(n, p) for n, p in named if is_hidden_matrix(n, p.shape)], momentum, weight_decay)
        others = [(n, p) for n, p in named if not is_hidden_matrix(n, p.shape)]
        self.adamw = AdamW(others, betas=betas, weight_decay=weight_decay, fused=fused)

    def step(self, lr: float) -> None:
        self.muon.step(lr)
        self.adamw.step(lr)

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {**self.muon.state_tensors(), **self.adamw.state_tensors()}

    def load_state_tensors(self, state: Mapping[str, torch.Tensor]) -> None:
        self.muon.load_state_tensors(state)
        self.adamw.load_state_tensors(state)


def build_optimizer(named_parameters, config: TrainConfig, fused: bool) -> AdamW | MuonWithAdamW:
    """The optimizer `config.optimizer` names, with the config's betas and weight decay."""
    betas = (config.beta1, config.beta2)
    if config.optimizer == "muon":
        return MuonWithAdamW(named_parameters, betas=betas, weight_decay=config.weight_decay, fused=fused)
    return AdamW(named_parameters, betas=betas, weight_decay=config.weight_decay, fused=fused)


def check_any_optimizer_state(state_shapes: Mapping[str, tuple], param_shapes: Mapping[str, tuple]) -> None:
    """AdamW's state, or Muon's for the hidden matrices with AdamW's for the rest; ValueError naming what
    does not fit parameters of these shapes."""
    if not any(key.startswith("muon.") for key in state_shapes):
        check_optimizer_state(state_shapes, param_shapes)
        return
    matrices = {name: shape for name, shape in param_shapes.items() if is_hidden_matrix(name, shape)}
    for name, shape in matrices.items():
        key = f"muon.velocity.{name}"
        if tuple(state_shapes.get(key, (None,))) != tuple(shape):
            raise ValueError(f"Muon's state has no momentum of shape {tuple(shape)} for {name}.")
    expected = {f"muon.velocity.{name}" for name in matrices}
    extra = [key for key in state_shapes if key.startswith("muon.") and key not in expected]
    if extra:
        raise ValueError(f"Muon's state holds {extra[0]!r}, which belongs to no weight matrix of this model.")
    check_optimizer_state(state_shapes, {n: s for n, s in param_shapes.items() if n not in matrices})
