"""AdamW by hand: the written-out formula (what runs by default) and torch's fused kernel (fused=True) both
match the maths done in numpy, and both match torch.optim.AdamW over many steps."""

import numpy as np
import pytest
import torch

from core.training.optimizer import AdamW, check_optimizer_state


def adamw_by_hand(w, grads, lr, beta1, beta2, weight_decay, eps=1e-8):
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        w = w - lr * weight_decay * w
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        w = w - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return w, m, v


@pytest.mark.parametrize("fused", [True, False])
def test_three_updates_match_the_formula(fused):
    rng = np.random.default_rng(0)
    start = rng.normal(size=(3, 4)).astype(np.float64)
    bias_start = rng.normal(size=4)
    grads = [rng.normal(size=(3, 4)) for _ in range(3)]
    weight = torch.nn.Parameter(torch.tensor(start, dtype=torch.float32))
    bias = torch.nn.Parameter(torch.tensor(bias_start, dtype=torch.float32))
    adam = AdamW([("weight", weight), ("bias", bias)], betas=(0.8, 0.95), weight_decay=0.3, fused=fused)
    for g in grads:
        weight.grad = torch.tensor(g, dtype=torch.float32)
        bias.grad = torch.tensor(g[0], dtype=torch.float32)
        adam.step(lr=0.05)
    w, m, v = adamw_by_hand(start, grads, 0.05, 0.8, 0.95, 0.3)
    np.testing.assert_allclose(weight.detach().numpy(), w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(adam.exp_avg["weight"].numpy(), m, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(adam.exp_avg_sq["weight"].numpy(), v, rtol=1e-5, atol=1e-7)
    b, _, _ = adamw_by_hand(bias_start, [g[0] for g in grads], 0.05, 0.8, 0.95, 0.0)  # a bias: no decay
    np.testing.assert_allclose(bias.detach().numpy(), b, rtol=1e-5, atol=1e-6)
    assert adam.updates_done == 3


def test_the_formula_runs_unless_fused_is_asked_for():
    assert AdamW([("w", torch.nn.Parameter(torch.ones(2)))]).fused is False


@pytest.mark.parametrize("fused", [False, True])
def test_fifty_updates_match_torch_optim_adamw(fused):
    """The same model, the same gradients, a changing learning rate: ours and torch.optim.AdamW agree."""
    torch.manual_seed(0)
    ours_model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.LayerNorm(5), torch.nn.Linear(5, 3))
    torch_model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.LayerNorm(5), torch.nn.Linear(5, 3))
    torch_model.load_state_dict(ours_model.state_dict())
    ours = AdamW(ours_model.named_parameters(), betas=(0.8, 0.99), weight_decay=0.1, eps=1e-8, fused=fused)
    decayed = [p for p in torch_model.parameters() if p.dim() >= 2]
    others = [p for p in torch_model.parameters() if p.dim() < 2]
    reference = torch.optim.AdamW(
        [{"params": decayed, "weight_decay": 0.1}, {"params": others, "weight_decay": 0.0}],
        lr=1.0,
        betas=(0.8, 0.99),
        eps=1e-8,
    )
    for step in range(50):
        x = torch.randn(8, 6)
        lr = 1e-2 * (1 + step % 7) / 7
        for model in (ours_model, torch_model):
            model.zero_grad(set_to_none=True)
            model(x).square().mean().backward()
        for group in reference.param_groups:
            group["lr"] = lr
        ours.step(lr)
        reference.step()
    for (name, mine), theirs in zip(ours_model.named_parameters(), torch_model.parameters()):
        torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-6, msg=name)


def test_state_round_trips_and_bad_state_is_named():
    weight = torch.nn.Parameter(torch.ones(2, 3))
    adam = AdamW([("w", weight)])
    weight.grad = torch.full((2, 3), 0.5)
    adam.step(lr=0.1)
    state = adam.state_tensors()
    other = AdamW([("w", torch.nn.Parameter(torch.ones(2, 3)))])
    other.load_state_tensors(state)
    assert other.updates_done == 1 and torch.equal(other.exp_avg_sq["w"], adam.exp_avg_sq["w"])
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    check_optimizer_state(shapes, {"w": (2, 3)})
    with pytest.raises(ValueError, match=r"exp_avg for w has shape \(2, 3\), but the parameter has \(3, 2\)"):
        check_optimizer_state(shapes, {"w": (3, 2)})
    with pytest.raises(ValueError, match="no exp_avg for v"):
        check_optimizer_state(shapes, {"w": (2, 3), "v": (1,)})
