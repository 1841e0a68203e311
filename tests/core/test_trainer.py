"""The trainer: one step is one AdamW update, its record holds true numbers, runs repeat, nan is refused."""

import copy
import math

import numpy as np
import pytest
import torch

from core.training.dataset import TokenDataset
from core.training.schedule import learning_rate_at
from core.training.trainer import Trainer, TrainConfig, part_of, pick_device
from training_helpers import TINY, one_thread, tiny_dataset, tiny_model, tiny_trainer  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_thread")


# -- the schedule -----------------------------------------------------------------------------------
def test_learning_rate_warms_up_linearly_then_follows_a_cosine_to_min_lr():
    cfg = TrainConfig(learning_rate=1e-3, min_lr=1e-4, warmup_steps=10, max_steps=110)
    assert learning_rate_at(0, cfg) == pytest.approx(1e-3 * 1 / 11)
    assert learning_rate_at(4, cfg) == pytest.approx(1e-3 * 5 / 11)
    assert learning_rate_at(10, cfg) == pytest.approx(1e-3)  # the peak, right after warmup
    assert learning_rate_at(60, cfg) == pytest.approx((1e-3 + 1e-4) / 2)  # halfway down the cosine
    assert learning_rate_at(110, cfg) == pytest.approx(1e-4)
    assert learning_rate_at(5000, cfg) == pytest.approx(1e-4)


def test_a_linear_decay_falls_in_a_straight_line_from_the_peak_to_min_lr():
    cfg = TrainConfig(learning_rate=1e-3, min_lr=1e-4, warmup_steps=10, max_steps=110, lr_decay="linear")
    assert learning_rate_at(4, cfg) == pytest.approx(1e-3 * 5 / 11)  # the same warmup
    assert learning_rate_at(10, cfg) == pytest.approx(1e-3)
    assert learning_rate_at(35, cfg) == pytest.approx(1e-3 - 0.25 * 9e-4)  # a quarter of the way down
    assert learning_rate_at(85, cfg) == pytest.approx(1e-4 + 0.25 * 9e-4)
    assert learning_rate_at(110, cfg) == learning_rate_at(5000, cfg) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="Unknown learning-rate decay 'step'"):
        TrainConfig(lr_decay="step")


# -- one step -----------------------------------------------------------------------------------------
def _by_part(model, values_of_param):
    """sqrt of the summed squares of a per-parameter quantity, grouped like the trainer groups."""
    sums: dict[str, float] = {}
    for name, p in model.named_parameters():
        sums[part_of(name)] = sums.get(part_of(name), 0.0) + float(values_of_param(name, p)) ** 2
    return {part: math.sqrt(total) for part, total in sums.items()}


def test_one_step_is_one_update_and_its_record_holds_the_real_numbers():
    trainer = tiny_trainer(grad_clip=0.0)
    reference = copy.deepcopy(trainer.model)  # the same weights, to redo the step by hand
    before = trainer.snapshot()
    x, y = trainer.dataset.get_batch(
        "train", TINY.batch_size, TINY.context_length, torch.Generator().manual_seed(TINY.seed)
    )  # the batch step 1 draws

    record = trainer.step()

    _, loss = reference(x, y)
    loss.backward()
    assert trainer.step_count == 1 and record.step == 1
    assert record.loss == pytest.approx(loss.item(), rel=1e-6)
    assert record.lr == pytest.approx(learning_rate_at(0, TINY))
    assert record.tokens_seen == TINY.batch_size * TINY.context_length
    assert list(record.grad_norms) == ["embed", "block 0", "block 1", "head"]
    by_hand = _by_part(reference, lambda name, p: p.grad.norm())
    for part, value in by_hand.items():
        assert record.grad_norms[part] == pytest.approx(value, rel=1e-5)

    after = trainer.snapshot()
    moved = _by_part(reference, lambda name, p: np.linalg.norm(after.tensors[name] - before.tensors[name]))
    size = _by_part(reference, lambda name, p: np.linalg.norm(after.tensors[name]))
    for part in moved:
        assert record.update_ratios[part] == pytest.approx(moved[part] / size[part], rel=1e-4)
        assert record.update_ratios[part] > 0
    assert record.val_loss is None and record.sample is None and record.weights is None and not record.diverged


def test_weight_decay_applies_to_weight_matrices_only():
    trainer = tiny_trainer(weight_decay=0.2)
    before = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    for p in trainer.model.parameters():
        p.grad = torch.zeros_like(p)  # no gradient: only the decay moves anything
    trainer.optimizer.step(lr=0.5)
    for name, p in trainer.model.named_parameters():
        factor = 1 - 0.5 * 0.2 if p.dim() == 2 else 1.0
        np.testing.assert_allclose(p.detach().numpy(), before[name].numpy() * factor, rtol=1e-6)
    assert "transformer.wte.weight" in trainer.optimizer.decayed
    assert "transformer.h.0.ln_1.weight" not in trainer.optimizer.decayed


def test_clipping_shortens_the_gradient_adam_sees_to_grad_clip():
    trainer = tiny_trainer(grad_clip=1e-3, beta1=0.9)
    record = trainer.step(inspect=["transformer.wte.weight"])
    total = math.sqrt(sum(v * v for v in record.grad_norms.values()))
    assert record.details.clip_scale == pytest.approx(1e-3 / total, rel=1e-4)
    # After one step Adam's first moment is (1 - beta1) times the gradient it was given.
    momentum = trainer.optimizer.exp_avg.values()
    assert math.sqrt(sum(float(m.norm()) ** 2 for m in momentum)) == pytest.approx(0.1 * 1e-3, rel=1e-4)


def test_an_opened_up_step_shows_the_batch_the_gradient_and_the_applied_update():
    trainer = tiny_trainer(grad_clip=0.0)
    reference = copy.deepcopy(trainer.model)
    name = "transformer.h.0.attn.c_attn.weight"
    before = trainer.snapshot().tensors[name]
    record = trainer.step(inspect=[name, "lm_head.weight"])
    details = record.details
    assert details.x.shape == details.y.shape == (TINY.batch_size, TINY.context_length)
    assert np.array_equal(details.x[:, 1:], details.y[:, :-1])
    _, loss = reference(torch.as_tensor(details.x), torch.as_tensor(details.y))
    loss.backward()
    gradient = dict(reference.named_parameters())[name].grad.numpy()
    np.testing.assert_allclose(details.gradients[name], gradient, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(details.updates[name], trainer.snapshot().tensors[name] - before, atol=1e-7)
    assert details.gradients["lm_head.weight"].shape == (reference.config.vocab_size, reference.config.d_model)
    with pytest.raises(ValueError, match="no parameter 'wte'"):
        trainer.step(inspect=["wte"])


# -- many steps ---------------------------------------------------------------------------------------
def test_the_same_seed_gives_the_same_run_and_another_seed_does_not():
    first = [r.loss for r in tiny_trainer().run(8)]
    again = [r.loss for r in tiny_trainer().run(8)]
    other = [r.loss for r in tiny_trainer(seed=8).run(8)]
    assert first == again
    assert first != other
    assert first[-1] < first[0]  # and it learns


def test_dropout_runs_repeat_too():
    losses = [[r.loss for r in tiny_trainer(model_changes={"dropout": 0.2}).run(4)] for _ in range(2)]
    assert losses[0] == losses[1]


def test_run_yields_evaluations_samples_and_snapshots_on_their_intervals():
    trainer = tiny_trainer(eval_interval=3, sample_interval=4, snapshot_interval=5, max_steps=10)
    records = list(trainer.run())
    assert [r.step for r in records] == list(range(1, 11))
    assert [r.step for r in records if r.val_loss is not None] == [3, 6, 9, 10]  # and the last step
    assert [r.step for r in records if r.sample is not None] == [4, 8]
    assert [r.weights.step for r in records if r.weights is not None] == [5, 10]
    sample = records[3].sample
    assert isinstance(sample, str) and len(sample) == 8 + TINY.sample_length  # 8 prompt characters
    assert trainer.loss_history["val"][0] == [3, records[2].val_loss]
    assert trainer.last_good.step == 10


def _mean_loss_by_hand(model, tokens: np.ndarray, config) -> float:
    """The evaluation written out: the same fixed windows (seed + 1), cross-entropy from log-softmax."""
    windows = torch.Generator().manual_seed(config.seed + 1)
    n_starts = len(tokens) - config.context_length
    losses = []
    for _ in range(config.eval_batches):
        starts = torch.randint(n_starts, (config.batch_size,), generator=windows).tolist()
        x = torch.tensor(np.stack([tokens[s : s + config.context_length] for s in starts]).astype(np.int64))
        y = torch.tensor(np.stack([tokens[s + 1 : s + 1 + config.context_length] for s in starts]).astype(np.int64))
        with torch.no_grad():
            logits, _ = model(x)  # (B, T, vocab)
        log_probs = torch.log_softmax(logits.double(), dim=-1)  # (B, T, vocab)
        losses.append(-log_probs.gather(-1, y[..., None]).mean().item())  # mean over B and T
    return sum(losses) / len(losses)


def test_val_loss_is_the_mean_loss_on_the_validation_split_measured_by_hand():
    trainer = tiny_trainer(eval_interval=3, max_steps=3)
    record = list(trainer.run())[-1]
    model = trainer.model.eval()
    val_by_hand = _mean_loss_by_hand(model, trainer.dataset.split("val"), TINY)
    train_by_hand = _mean_loss_by_hand(model, trainer.dataset.split("train"), TINY)
    assert record.val_loss == pytest.approx(val_by_hand, abs=1e-5)
    assert record.train_loss_eval == pytest.approx(train_by_hand, abs=1e-5)
    assert abs(val_by_hand - train_by_hand) > 1e-3  # two splits, two different numbers


def test_evaluation_measures_the_same_windows_each_time():
    trainer = tiny_trainer()
    first, again = trainer.evaluate(), trainer.evaluate()
    assert first == again and set(first) == {"train", "val"}
    assert math.log(trainer.model.config.vocab_size) == pytest.approx(first["val"], rel=0.1)  # untrained: ~uniform


def test_a_snapshot_is_a_frozen_copy_that_can_be_loaded_back():
    trainer = tiny_trainer()
    snapshot = trainer.snapshot()
    probe = torch.arange(10)[None, :] % trainer.model.config.vocab_size
    logits_then = trainer.model(probe)[0].detach()
    list(trainer.run(3))
    assert not torch.allclose(trainer.model(probe)[0], logits_then)
    assert snapshot.step == 0
    array = snapshot.tensors["transformer.wte.weight"]
    assert not array.flags.writeable
    assert array is snapshot.tensors["lm_head.weight"]  # tied: one copy under both names
    trainer.load_snapshot(snapshot)
    assert torch.equal(trainer.model(probe)[0].detach(), logits_then)


# -- when things go wrong -----------------------------------------------------------------------------
def test_a_nan_loss_is_refused_and_training_can_roll_back_with_a_lower_learning_rate():
    trainer = tiny_trainer(snapshot_interval=2)
    list(trainer.run(3))
    weights_before = trainer.snapshot()
    adam_before = trainer.optimizer.state_tensors()
    poison = lambda value, name: value * float("nan")  # noqa: E731 - a listener that ruins the logits
    trainer.model.hook_points()["logits"].listeners.append(poison)

    records = list(trainer.run(5))

    assert len(records) == 1 and records[0].diverged  # run() stops at the divergence
    assert records[0].step == 4 and math.isnan(records[0].loss)
    assert "Step 4" in records[0].message and "step 2" in records[0].message  # last good snapshot named
    assert trainer.step_count == 3
    for name, array in trainer.snapshot().tensors.items():
        assert np.array_equal(array, weights_before.tensors[name])  # nothing was changed
    for key, value in trainer.optimizer.state_tensors().items():
        assert torch.equal(value, adam_before[key]), key

    trainer.model.hook_points()["logits"].listeners.remove(poison)
    message = trainer.roll_back(lr_scale=0.5)
    assert trainer.step_count == 2 and "step 2" in message
    for name, array in trainer.snapshot().tensors.items():
        assert np.array_equal(array, trainer.last_good.tensors[name])
    record = trainer.step()
    assert not record.diverged and record.lr == pytest.approx(0.5 * learning_rate_at(2, TINY))


def test_settings_that_cannot_work_are_clear_errors():
    with pytest.raises(ValueError, match="longer than the model reads"):
        Trainer(tiny_model(), tiny_dataset(), TrainConfig(context_length=32))
    with pytest.raises(ValueError, match="training text has 10 tokens"):
        Trainer(tiny_model(), TokenDataset(np.arange(10), val_fraction=0.0), TrainConfig(context_length=16))
    with pytest.raises(ValueError, match="validation part has only 5 tokens"):
        Trainer(tiny_model(), TokenDataset(np.arange(50) % 20, val_fraction=0.1), TrainConfig(context_length=16))
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig(learning_rate=-1.0)
    with pytest.raises(ValueError, match="Unknown device"):
        TrainConfig(device="gpu")
    with pytest.raises(ValueError, match="positive number"):
        tiny_trainer().set_learning_rate_scale(0.0)


def test_auto_device_is_the_cpu_when_there_is_no_gpu_and_the_gpu_when_there_is(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    assert tiny_trainer(device="auto").device == torch.device("cpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    assert pick_device("auto") == torch.device("cuda", 1)  # cuda first, this process's own GPU
    assert pick_device("cpu") == torch.device("cpu")  # asked for by name: that device, always


def test_bf16_steps_work_on_the_cpu():
    trainer = tiny_trainer(bf16=True, device="cpu")
    record = trainer.step()
    assert trainer.device == torch.device("cpu") and math.isfinite(record.loss)
