"""Sampling: exact probabilities after temperature, top-k and top-p; seeded drawing; generation."""

import math

import pytest
import torch
from torch import nn

from core import GPT, GPTConfig
from core.model.sampling import generate, next_token_probs, sample_next


def _softmax(values):
    exps = [math.exp(v) for v in values]
    return [e / sum(exps) for e in exps]


def test_plain_softmax():
    assert next_token_probs(torch.tensor([1.0, 2.0, 3.0])).tolist() == pytest.approx(_softmax([1, 2, 3]))


def test_temperature_divides_the_logits():
    assert next_token_probs([1.0, 2.0, 3.0], temperature=2.0).tolist() == pytest.approx(_softmax([0.5, 1, 1.5]))
    cold = next_token_probs([1.0, 2.0, 3.0], temperature=0.1).tolist()
    assert cold == pytest.approx(_softmax([10, 20, 30]))
    assert cold[2] > 0.9999


def test_temperature_zero_is_one_hot_at_the_first_largest():
    assert next_token_probs([0.5, 3.0, 3.0, -1.0], temperature=0).tolist() == [0.0, 1.0, 0.0, 0.0]


def test_top_k_keeps_the_k_largest_and_renormalises():
    e2, e3 = math.exp(2), math.exp(3)
    probs = next_token_probs([1.0, 3.0, 2.0], top_k=2).tolist()
    assert probs == pytest.approx([0.0, e3 / (e2 + e3), e2 / (e2 + e3)])
    assert next_token_probs([1.0, 3.0, 2.0], top_k=1).tolist() == [0.0, 1.0, 0.0]
    assert next_token_probs([1.0, 3.0, 2.0], top_k=10).tolist() == pytest.approx(_softmax([1, 3, 2]))


@pytest.mark.parametrize(
    "p, expected",
    [
        (0.5, [1.0, 0.0, 0.0, 0.0]),  # 0.5 alone already reaches 0.5
        (0.8, [0.5 / 0.8, 0.3 / 0.8, 0.0, 0.0]),  # 0.5 + 0.3 reaches 0.8 exactly
        (0.81, [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0.0]),
        (1.0, [0.5, 0.3, 0.15, 0.05]),
    ],
)
def test_top_p_keeps_the_smallest_set_reaching_p(p, expected):
    logits = torch.log(torch.tensor([0.15, 0.5, 0.05, 0.3]))  # shuffled, so order is really found
    probs = next_token_probs(logits, top_p=p)
    reorder = [1, 3, 0, 2]
    assert probs[reorder].tolist() == pytest.approx(expected, abs=1e-6)
    assert probs.sum().item() == pytest.approx(1.0)


def test_top_p_is_measured_after_top_k():
    logits = torch.log(torch.tensor([0.4, 0.3, 0.2, 0.1]))
    # top-2 leaves 4/7 and 3/7; p=0.5 then keeps only the first
    assert next_token_probs(logits, top_k=2, top_p=0.5).tolist() == [1.0, 0.0, 0.0, 0.0]
    assert next_token_probs(logits, top_k=3, top_p=0.7).tolist() == pytest.approx([4 / 7, 3 / 7, 0, 0])


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(temperature=-1.0), "Temperature must be 0"),
        (dict(temperature=float("nan")), "Temperature must be 0"),
        (dict(top_k=0), "top_k must be a whole number"),
        (dict(top_k=2.5), "top_k must be a whole number"),
        (dict(top_p=0.0), "top_p must be above 0"),
        (dict(top_p=1.5), "top_p must be above 0"),
    ],
)
def test_impossible_settings_are_clear_errors(kwargs, words):
    with pytest.raises(ValueError, match=words):
        next_token_probs([1.0, 2.0], **kwargs)


def test_logits_must_be_one_row():
    with pytest.raises(ValueError, match=r"one row of logits \(vocab,\), got shape \(2, 2\)"):
        next_token_probs(torch.zeros(2, 2))


def test_sample_next_follows_the_probabilities_and_the_seed():
    assert sample_next(torch.tensor([0.0, 0.0, 1.0])) == 2
    draws = [sample_next(torch.tensor([0.2, 0.8]), torch.Generator().manual_seed(s)) for s in range(400)]
    assert 0.72 < sum(draws) / len(draws) < 0.88  # deterministic: seeds 0..399
    again = [sample_next(torch.tensor([0.2, 0.8]), torch.Generator().manual_seed(s)) for s in range(400)]
    assert draws == again
    with pytest.raises(ValueError, match="not all 0"):
        sample_next(torch.zeros(3))


class _CountingModel(nn.Module):
    """Says "the next token is the last one plus one" and notes how many tokens it was shown."""

    def __init__(self, vocab_size=10, context_length=3):
        super().__init__()
        self.config = GPTConfig(vocab_size=vocab_size, context_length=context_length, d_model=8, n_heads=2)
        self.anchor = nn.Parameter(torch.zeros(1))
        self.seen_lengths = []

    def forward(self, ids):
        self.seen_lengths.append(ids.size(1))
        assert ids.size(1) <= self.config.context_length
        logits = torch.full((*ids.shape, self.config.vocab_size), -5.0)
        logits[0, -1, (ids[0, -1] + 1) % self.config.vocab_size] = 5.0
        return logits, None


def test_generate_crops_to_the_context_window():
    model = _CountingModel()
    assert generate(model, [0], n_new=5, greedy=True) == [0, 1, 2, 3, 4, 5]
    assert model.seen_lengths == [1, 2, 3, 3, 3]
    assert generate(model, [7, 8], n_new=3, temperature=0) == [7, 8, 9, 0, 1]
    assert generate(model, [4], n_new=0) == [4]


def test_greedy_generation_is_the_argmax_chain_of_a_real_model():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=17, context_length=4, d_model=16, n_layers=1, n_heads=2)).train()
    out = generate(model, [1, 2], n_new=6, greedy=True)
    assert model.training  # its mode is left as it was
    sequence = [1, 2]
    model.eval()
    with torch.no_grad():
        for _ in range(6):
            logits, _ = model(torch.tensor([sequence[-4:]]))
            sequence.append(int(logits[0, -1].argmax()))
    assert out == sequence


def test_sampling_is_reproducible_with_a_seed():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=17, context_length=8, d_model=16, n_layers=1, n_heads=2))
    first = generate(model, [3], n_new=12, temperature=1.5, seed=7)
    assert first == generate(model, [3], n_new=12, temperature=1.5, seed=7)
    others = {tuple(generate(model, [3], n_new=12, temperature=1.5, seed=s)) for s in range(8, 12)}
    assert len(others | {tuple(first)}) > 1
    top1 = generate(model, [3], n_new=5, top_k=1, seed=1)
    assert top1 == generate(model, [3], n_new=5, greedy=True)


def test_generate_refuses_an_empty_prompt_or_negative_length():
    model = _CountingModel()
    with pytest.raises(ValueError, match="at least one token"):
        generate(model, [], n_new=2)
    with pytest.raises(ValueError, match="0 or more"):
        generate(model, [1], n_new=-1)
