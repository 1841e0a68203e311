"""AdamW, written out: how each weight is moved once its gradient is known.

For every weight w with gradient g, at update number t (counting from 1):

    w  <- w - lr * weight_decay * w              decoupled weight decay (2-D weight matrices only)
    m  <- beta1 * m + (1 - beta1) * g            running mean of the gradient ("momentum")
    v  <- beta2 * v + (1 - beta2) * g * g        running mean of its square (how big it usually is)
    m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)        undo the pull towards the zero start
    w  <- w - lr * m_hat / (sqrt(v_hat) + eps)   a step of about lr in the gradient's usual direction

`_step_by_formula` is exactly this, for all tensors at once. Where PyTorch has a fused kernel for the
device (CPU and CUDA), the same update runs as one pass over memory, several times faster. Written
here rather than taken from torch.optim: the state is plain named tensors (simple to save and to
show), and creating a torch.optim optimizer imports torch's compiler stack, a pause of seconds.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import torch

FUSED_DEVICES = ("cpu", "cuda")


class AdamW:
    def __init__(self, named_parameters: Iterable[tuple[str, torch.nn.Parameter]], betas=(0.9, 0.99),
                 weight_decay: float = 0.1, eps: float = 1e-8) -> None:
        named = [(name, p) for name, p in named_parameters if p.requires_grad]
        self.names = [name for name, _ in named]
        self.parameters = [p for _, p in named]
        self.beta1, self.beta2 = betas
        self.weight_decay = weight_decay
        self.eps = eps
        # Only weight matrices are pulled towards 0; biases and LayerNorm gains keep their values.
        self.decayed = [name for name, p in named if p.dim() >= 2]
        self.exp_avg = {name: torch.zeros_like(p) for name, p in named}     # m: mean gradient
        self.exp_avg_sq = {name: torch.zeros_like(p) for name, p in named}  # v: mean squared gradient
        self.updates_done = 0                                               # t
        self._group_tensors()

    def _group_tensors(self) -> None:
        """(weight decay, parameters, m, v) per group, listed once so a step does no lookups."""
        decayed = set(self.decayed)
        self._groups = []
        for weight_decay, chosen in ((self.weight_decay, lambda n: n in decayed), (0.0, lambda n: n not in decayed)):
            names = [n for n in self.names if chosen(n)]
            params = [p for n, p in zip(self.names, self.parameters) if chosen(n)]
            if names:
                self._groups.append((weight_decay, params, [self.exp_avg[n] for n in names],
                                     [self.exp_avg_sq[n] for n in names]))

    @torch.no_grad()
    def step(self, lr: float) -> None:
        """One update of every parameter, with learning rate `lr` (every parameter needs a .grad)."""
        self.updates_done += 1
        for weight_decay, params, exp_avg, exp_avg_sq in self._groups:
            grads = [p.grad for p in params]
            if params[0].device.type in FUSED_DEVICES and params[0].dtype == torch.float32:
                t = torch.tensor(float(self.updates_done), device=params[0].device)
                torch._fused_adamw_(
                    params, grads, exp_avg, exp_avg_sq, [], [t] * len(params), lr=lr, beta1=self.beta1,
                    beta2=self.beta2, weight_decay=weight_decay, eps=self.eps, amsgrad=False, maximize=False,
                )
            else:
                self._step_by_formula(params, grads, exp_avg, exp_avg_sq, lr, weight_decay)

    def _step_by_formula(self, params, grads, exp_avg, exp_avg_sq, lr: float, weight_decay: float) -> None:
        """The update as written in the module docstring, on lists of tensors."""
        t = self.updates_done
        torch._foreach_mul_(params, 1.0 - lr * weight_decay)                      # weight decay
        torch._foreach_lerp_(exp_avg, grads, 1.0 - self.beta1)                     # m
        torch._foreach_mul_(exp_avg_sq, self.beta2)
        torch._foreach_addcmul_(exp_avg_sq, grads, grads, 1.0 - self.beta2)        # v
        denominator = torch._foreach_sqrt(exp_avg_sq)                               # sqrt(v)
        torch._foreach_div_(denominator, math.sqrt(1.0 - self.beta2 ** t))         # sqrt(v_hat)
        torch._foreach_add_(denominator, self.eps)
        torch._foreach_addcdiv_(params, exp_avg, denominator, -lr / (1.0 - self.beta1 ** t))

    # -- state, as named tensors ----------------------------------------------------------------------
    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Everything needed to continue: "adamw.updates_done", "adamw.exp_avg.<name>", "adamw.exp_avg_sq.<name>"."""
        state = {"adamw.updates_done": torch.tensor(self.updates_done, dtype=torch.int64)}
        for name in self.names:
            state[f"adamw.exp_avg.{name}"] = self.exp_avg[name].detach().cpu().clone()
            state[f"adamw.exp_avg_sq.{name}"] = self.exp_avg_sq[name].detach().cpu().clone()
        return state

    def load_state_tensors(self, state: Mapping[str, torch.Tensor]) -> None:
        """Put back what `state_tensors()` returned (shapes are checked by check_optimizer_state)."""
        self.updates_done = int(state["adamw.updates_done"])
        for name, p in zip(self.names, self.parameters):
            self.exp_avg[name] = state[f"adamw.exp_avg.{name}"].to(p.device, p.dtype).clone()
            self.exp_avg_sq[name] = state[f"adamw.exp_avg_sq.{name}"].to(p.device, p.dtype).clone()
        self._group_tensors()


def check_optimizer_state(state_shapes: Mapping[str, tuple], param_shapes: Mapping[str, tuple]) -> None:
    """Raise ValueError naming the first AdamW entry that does not fit parameters of these shapes."""
    if tuple(state_shapes.get("adamw.updates_done", (None,))) != ():
        raise ValueError("AdamW's state has no single 'adamw.updates_done' count.")
    for name, shape in param_shapes.items():
        for slot in ("exp_avg", "exp_avg_sq"):
            key = f"adamw.{slot}.{name}"
            if key not in state_shapes:
                raise ValueError(f"AdamW's state has no {slot} for {name}.")
            if tuple(state_shapes[key]) != tuple(shape):
                raise ValueError(
                    f"AdamW's {slot} for {name} has shape {tuple(state_shapes[key])}, but the parameter has {tuple(shape)}."
                )
    expected = {"adamw.updates_done"} | {f"adamw.{s}.{n}" for n in param_shapes for s in ("exp_avg", "exp_avg_sq")}
    extra = [key for key in state_shapes if key.startswith("adamw.") and key not in expected]
    if extra:
        raise ValueError(f"AdamW's state holds {extra[0]!r}, which belongs to no parameter of this model.")
