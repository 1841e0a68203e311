"""AdamW by hand: the fused kernel and the written-out formula both match the maths done in numpy."""
import numpy as np
import pytest
import torch

import core.training.optimizer as optimizer_module
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
def test_three_updates_match_the_formula(fused, monkeypatch):
    if not fused:
        monkeypatch.setattr(optimizer_module, "FUSED_DEVICES", ())
    rng = np.random.default_rng(0)
    start = rng.normal(size=(3, 4)).astype(np.float64)
    bias_start = rng.normal(size=4)
    grads = [rng.normal(size=(3, 4)) for _ in range(3)]
    weight = torch.nn.Parameter(torch.tensor(start, dtype=torch.float32))
    bias = torch.nn.Parameter(torch.tensor(bias_start, dtype=torch.float32))
    adam = AdamW([("weight", weight), ("bias", bias)], betas=(0.8, 0.95), weight_decay=0.3)
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
