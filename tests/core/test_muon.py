"""Muon: the orthogonalisation, one step against a hand-written reference, the trainer and its saved state."""

import pytest
import torch

from core.model.config import preset
from core.model.model import GPT
from core.training.muon import NEWTON_SCHULZ, MuonWithAdamW, check_any_optimizer_state, orthogonalise
from core.training.optimizer import AdamW
from core.training.trainer import Trainer, TrainConfig
from training_helpers import TINY, one_thread, tiny_dataset, tiny_model  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_thread")


def newton_schulz_on_a_number(s: float, steps: int = 5) -> float:
    """What the iteration does to one singular value s (after the division by the matrix's norm)."""
    a, b, c = NEWTON_SCHULZ
    for _ in range(steps):
        s = a * s + b * s**3 + c * s**5
    return s


@pytest.mark.parametrize("shape", [(3, 64, 64), (2, 48, 160), (4, 160, 48), (1, 8, 8)])
def test_orthogonalise_keeps_the_singular_vectors_and_pushes_every_singular_value_near_one(shape):
    torch.manual_seed(0)
    updates = torch.randn(shape)
    result = orthogonalise(updates)
    assert result.shape == updates.shape and result.dtype == updates.dtype
    for update, out in zip(updates.double(), result.double()):
        u, s, vh = torch.linalg.svd(update, full_matrices=False)
        s = s / s.norm()  # what the iteration starts from
        along = torch.diagonal(u.T @ out @ vh.T)  # how far `out` reaches along each singular direction
        # The known band: 5 iterations take every value from [0.002, 1] into [0.68, 1.20] (bf16: a little more).
        reached = s >= 2e-3
        assert along[reached].min() > 0.65 and along[reached].max() < 1.25, along
        # The same polynomial of each singular value, along the same singular vectors (bf16: a few % off).
        expected = u @ torch.diag(torch.tensor([newton_schulz_on_a_number(x) for x in s])) @ vh
        assert torch.linalg.matrix_norm(out - expected) < 0.05 * torch.linalg.matrix_norm(expected)


def test_a_larger_gradient_gives_the_same_update():
    torch.manual_seed(1)
    g = torch.randn(1, 32, 96)
    small, large = orthogonalise(g), orthogonalise(1000 * g)  # the same up to bf16 rounding
    assert torch.linalg.matrix_norm(small - large) < 0.05 * torch.linalg.matrix_norm(small)


def muon_by_hand(weight, gradient, velocity, lr, momentum, weight_decay):
    """One Muon update of one matrix, written out with a float64 SVD for U V^T's polynomial."""
    velocity = momentum * velocity + (1 - momentum) * gradient
    looking_ahead = (1 - momentum) * gradient + momentum * velocity
    u, s, vh = torch.linalg.svd(looking_ahead.double(), full_matrices=False)
    s = torch.tensor([newton_schulz_on_a_number(x) for x in s / s.norm()], dtype=torch.float64)
    direction = (u @ torch.diag(s) @ vh).float()
    rms_scale = 0.2 * max(weight.shape) ** 0.5
    return weight * (1 - lr * weight_decay) - lr * rms_scale * direction, velocity


def test_two_steps_on_a_tiny_model_match_the_update_written_by_hand():
    model = tiny_model()
    named = list(model.named_parameters())
    start = {name: p.detach().clone() for name, p in named}
    optimizer = MuonWithAdamW(named, betas=(0.8, 0.99), weight_decay=0.1, momentum=0.95)
    reference_adam = AdamW([(n, torch.nn.Parameter(p.clone())) for n, p in start.items()], betas=(0.8, 0.99))
    matrices = {n for n, p in named if p.dim() == 2 and ".h." in n}
    assert matrices == set(optimizer.muon.names) and "transformer.wte.weight" not in matrices
    expected = dict(start)
    velocity = {n: torch.zeros_like(start[n]) for n in matrices}
    for step, lr in enumerate((1e-2, 5e-3)):
        torch.manual_seed(step)
        gradients = {n: torch.randn_like(p) for n, p in named}
        for n, p in named:
            p.grad = gradients[n].clone()
        for n, p in zip(reference_adam.names, reference_adam.parameters):
            p.grad = gradients[n].clone()
        optimizer.step(lr)
        reference_adam.step(lr)
        for n in matrices:
            expected[n], velocity[n] = muon_by_hand(expected[n], gradients[n], velocity[n], lr, 0.95, 0.1)
    for n, p in named:
        if n in matrices:
            moved, expected_move = p.detach() - start[n], expected[n] - start[n]
            assert torch.linalg.vector_norm(moved - expected_move) < 0.05 * torch.linalg.vector_norm(expected_move), n
        else:  # everything else: exactly our AdamW's update
            reference = reference_adam.parameters[reference_adam.names.index(n)]
            assert torch.allclose(p.detach(), reference.detach(), atol=1e-7), n


def test_the_trainer_learns_with_muon_and_resumes_exactly():
    config = TrainConfig(**{**TINY.to_dict(), "optimizer": "muon", "max_steps": 30})
    torch.manual_seed(3)
    trainer = Trainer(tiny_model(), tiny_dataset(), config)
    losses = [trainer.step().loss for _ in range(20)]
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5  # from ~3.0 to ~2.2
    state = trainer.training_state()
    assert "muon.velocity.transformer.h.0.mlp.c_fc.weight" in state
    assert "adamw.exp_avg.transformer.h.0.mlp.c_fc.weight" not in state
    assert "adamw.exp_avg.transformer.wte.weight" in state
    check_any_optimizer_state(
        {k: tuple(v.shape) for k, v in state.items() if not k.startswith("trainer.")},
        {n: tuple(p.shape) for n, p in trainer.model.named_parameters()},
    )
    copy = Trainer(tiny_model(), tiny_dataset(), config)
    copy.model.load_state_dict(trainer.model.state_dict())
    copy.load_training_state(state)
    assert [copy.step().loss for _ in range(3)] == [trainer.step().loss for _ in range(3)]


def test_a_muon_state_that_does_not_fit_is_a_sentence():
    shapes = {"transformer.h.0.attn.c_proj.weight": (8, 8), "transformer.wte.weight": (5, 8)}
    state = {
        "adamw.updates_done": (),
        "adamw.exp_avg.transformer.wte.weight": (5, 8),
        "adamw.exp_avg_sq.transformer.wte.weight": (5, 8),
        "muon.velocity.transformer.h.0.attn.c_proj.weight": (8, 8),
    }
    check_any_optimizer_state(state, shapes)
    with pytest.raises(ValueError, match="no momentum of shape"):
        check_any_optimizer_state({**state, "muon.velocity.transformer.h.0.attn.c_proj.weight": (8, 4)}, shapes)
    with pytest.raises(ValueError, match="belongs to no weight matrix"):
        check_any_optimizer_state({**state, "muon.velocity.transformer.h.9.mlp.c_fc.weight": (8, 8)}, shapes)
    with pytest.raises(ValueError, match="Unknown optimizer 'sgd'"):
        TrainConfig(optimizer="sgd")


def test_muon_orthogonalises_each_block_matrix_of_the_micro_preset_in_a_batch():
    model = GPT(preset("micro", vocab_size=65, context_length=64))
    optimizer = MuonWithAdamW(model.named_parameters())
    # Four shapes (attention in, attention out, MLP in, MLP out), one batched orthogonalisation each.
    assert sorted(optimizer.muon.by_shape) == [(128, 128), (128, 512), (384, 128), (512, 128)]
    assert all(len(indices) == 4 for indices in optimizer.muon.by_shape.values())
