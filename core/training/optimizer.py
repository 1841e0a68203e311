"""AdamW, written out: how each weight is moved once its gradient is known.

For every weight w with gradient g, at update number t (counting from 1):

    w  <- w - lr * weight_decay * w              decoupled weight decay (2-D weight matrices only)
    m  <- beta1 * m + (1 - beta1) * g            running mean of the gradient ("momentum")
    v  <- beta2 * v + (1 - beta2) * g * g        running mean of its square (how big it usually is)
    m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)        undo the pull towards the zero start
    w  <- w - lr * m_hat / (sqrt(v_hat) + eps)   a step of about lr in the gradient's usual direction

Which code runs: `step_by_formula`, exactly these lines, one tensor at a time, unless the optimizer
was made with `fused=True`; then PyTorch's public fused AdamW (`torch.optim.adamw.adamw(..., fused=True)`)
does the same update in one pass over memory. The trainer asks for it on CUDA, where launching a
few small kernels per tensor costs more than the arithmetic, and for a fast step (TrainConfig.fast_step,
the command line); on the CPU (the studio, the lessons) the formula runs, and costs a few per cent of a
step (BENCHMARKS.md, "The optimizer").
tests/core/test_optimizer.py pins both against torch.optim.AdamW.

Written here rather than taken whole from torch.optim: the state is plain named tensors (simple to
save and to show), and creating a torch.optim optimizer imports torch's compiler stack, a pause of a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch.optim.adamw import adamw as torch_adamw  # the functional form: no optimizer object


class AdamW:
    def __init__(
        self,
        named_parameters: Iterable[tuple[str, torch.nn.Parameter]],
        betas=(0.9, 0.99),
        weight_decay: float = 0.1,
        eps: float = 1e-8,
        fused: bool = False,
    ) -> None:
        named = [(name, p) for name, p in named_parameters if p.requires_grad]
        self.names = [name for name, _ in named]
        self.parameters = [p for _, p in named]
        self.beta1, self.beta2 = betas
        self.weight_decay = weight_decay
        self.eps = eps
        self.fused = fused  # True: torch's fused kernel does the update; False: step_by_formula
        # Only weight matrices are pulled towards 0; biases and LayerNorm gains keep their values.
        self.decayed = [name for name, p in named if p.dim() >= 2]
        self.exp_avg = {name: torch.zeros_like(p) for name, p in named}  # m: mean gradient
        self.exp_avg_sq = {name: torch.zeros_like(p) for name, p in named}  # v: mean squared gradient
        self.updates_done = 0  # t

    @torch.no_grad()
    def step(self, lr: float) -> None:
        """One update of every parameter, with learning rate `lr` (every parameter needs a .grad)."""
        self.updates_done += 1
        if self.fused:
            self._fused_step(lr)
            return
        decayed = set(self.decayed)
        for name, weight in zip(self.names, self.parameters):
            weight_decay = self.weight_decay if name in decayed else 0.0
            self.step_by_formula(weight, weight.grad, self.exp_avg[name], self.exp_avg_sq[name], lr, weight_decay)

    def step_by_formula(
        self, w: torch.Tensor, g: torch.Tensor, m: torch.Tensor, v: torch.Tensor, lr: float, weight_decay: float
    ) -> None:
        """The update as written in the module docstring, for one weight tensor (changed in place)."""
        t = self.updates_done
        w.mul_(1.0 - lr * weight_decay)  # weight decay
        m.lerp_(g, 1.0 - self.beta1)  # m = beta1 m + (1 - beta1) g
        v.mul_(self.beta2).addcmul_(g, g, value=1.0 - self.beta2)  # v = beta2 v + (1 - beta2) g g
        v_hat = v / (1.0 - self.beta2**t)
        m_hat_scale = 1.0 / (1.0 - self.beta1**t)  # m_hat = m * m_hat_scale
        w.addcdiv_(m, v_hat.sqrt_().add_(self.eps), value=-lr * m_hat_scale)  # w - lr m_hat / (sqrt(v_hat) + eps)

    def _fused_step(self, lr: float) -> None:
        """The same update by torch's fused AdamW kernel (public functional API), one call per decay group."""
        decayed = set(self.decayed)
        for weight_decay, chosen in ((self.weight_decay, True), (0.0, False)):
            names = [n for n in self.names if (n in decayed) == chosen]
            if not names:
                continue
            params = [p for n, p in zip(self.names, self.parameters) if (n in decayed) == chosen]
            # The kernel adds 1 to each step count before using it: hand it the count before this update.
            counts = [torch.tensor(float(self.updates_done - 1), device=params[0].device) for _ in params]
            torch_adamw(
                params,
                [p.grad for p in params],
                [self.exp_avg[n] for n in names],
                [self.exp_avg_sq[n] for n in names],
                [],
                counts,
                fused=True,
                amsgrad=False,
                beta1=self.beta1,
                beta2=self.beta2,
                lr=lr,
                weight_decay=weight_decay,
                eps=self.eps,
                maximize=False,
            )

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
                    f"AdamW's {slot} for {name} has shape {tuple(state_shapes[key])}, "
                    f"but the parameter has {tuple(shape)}."
                )
    expected = {"adamw.updates_done"} | {f"adamw.{s}.{n}" for n in param_shapes for s in ("exp_avg", "exp_avg_sq")}
    extra = [key for key in state_shapes if key.startswith("adamw.") and key not in expected]
    if extra:
        raise ValueError(f"AdamW's state holds {extra[0]!r}, which belongs to no parameter of this model.")
