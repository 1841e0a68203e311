"""The model: every positional scheme, the fast attention path, and what the forward pass refuses."""

import math

import pytest
import torch

from core import GPT, GPTConfig
from core.model.positional import apply_rope, rope_angles, sinusoidal_table


def _config(**changes) -> GPTConfig:
    return GPTConfig(**{**dict(vocab_size=13, context_length=8, d_model=8, n_layers=2, n_heads=2), **changes})


def _model(seed=0, **changes) -> GPT:
    torch.manual_seed(seed)
    model = GPT(_config(**changes))
    with torch.no_grad():  # a large spread, so attention is far from uniform
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.5)
    return model.eval()


# -- positional encodings ---------------------------------------------------------------------------
def test_learned_positions_are_rows_of_wpe():
    model = _model()
    trace = model.trace([3, 1, 4, 1])
    torch.testing.assert_close(trace["embed.pos"], model.transformer.wpe.weight[:4].detach())
    torch.testing.assert_close(trace["embed.sum"], trace["embed.tok"] + trace["embed.pos"])


def test_sinusoidal_table_matches_the_formula():
    table = sinusoidal_table(context_length=6, d_model=8)
    for pos in range(6):
        for i in range(4):
            angle = pos / 10000 ** (2 * i / 8)
            assert table[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert table[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)
    assert table[0].tolist() == [0.0, 1.0] * 4


def test_sinusoidal_model_adds_the_table_and_has_no_wpe():
    model = _model(pos_encoding="sinusoidal")
    assert "transformer.wpe.weight" not in model.state_dict()
    trace = model.trace([3, 1, 4])
    torch.testing.assert_close(trace["embed.pos"], sinusoidal_table(8, 8)[:3])
    torch.testing.assert_close(trace["embed.sum"], trace["embed.tok"] + trace["embed.pos"])


def test_rope_angles_and_one_rotation_by_hand():
    angles = rope_angles(context_length=4, rotary_dims=4)
    assert angles[3].tolist() == pytest.approx([3.0, 3 / 100])  # pos · 10000^(-2i/d)
    x = torch.tensor([1.0, 2.0, 3.0, 4.0]).expand(1, 1, 4, 4)  # (B, nh, T, hs)
    rotated = apply_rope(x, angles)[0, 0, 2]  # position 2
    a, b = 2.0, 2 / 100
    expected = [
        1 * math.cos(a) - 2 * math.sin(a),
        1 * math.sin(a) + 2 * math.cos(a),
        3 * math.cos(b) - 4 * math.sin(b),
        3 * math.sin(b) + 4 * math.cos(b),
    ]
    assert rotated.tolist() == pytest.approx(expected, abs=1e-6)
    torch.testing.assert_close(apply_rope(x, angles).norm(dim=-1), x.norm(dim=-1))  # a rotation keeps length


def test_rope_makes_scores_depend_only_on_the_offset():
    """Same token everywhere: before rotation every q (and every k) is identical, so with RoPE
    score(i, j) depends on i - j alone, while with no positions every score is the same."""
    rope = _model(pos_encoding="rope").trace([5] * 8)
    scores = rope["blocks.0.attn.scores"][0]  # (H, T, T)
    for offset in range(-7, 8):
        diagonal = torch.diagonal(scores, offset=offset, dim1=-2, dim2=-1)  # all (i, j) with j - i = offset
        torch.testing.assert_close(diagonal, diagonal[:, :1].expand_as(diagonal), atol=1e-5, rtol=1e-5)
    assert scores[0, 3, 2] != pytest.approx(scores[0, 3, 1].item(), abs=1e-4)  # ...and the offset matters
    torch.testing.assert_close(rope["embed.pos"], rope_angles(8, 4))
    assert torch.equal(rope["embed.sum"], rope["embed.tok"])  # RoPE adds nothing

    flat = _model(pos_encoding="none").trace([5] * 8)["blocks.0.attn.scores"][0]
    torch.testing.assert_close(flat, flat[:, :1, :1].expand_as(flat))


def test_rope_rotates_the_traced_queries_and_keys():
    model = _model(pos_encoding="rope")
    trace = model.trace([2, 7, 1, 8])
    attention = model.transformer.h[0].attn
    with torch.no_grad():
        query, key, _ = attention.c_attn(trace["blocks.0.ln1"]).split(8, dim=2)  # each (B, T, C)
    query = query.view(1, 4, 2, 4).transpose(1, 2)  # (B, nh, T, hs)
    key = key.view(1, 4, 2, 4).transpose(1, 2)  # (B, nh, T, hs)
    torch.testing.assert_close(trace["blocks.0.attn.q"], apply_rope(query, rope_angles(8, 4)[:4]))
    torch.testing.assert_close(trace["blocks.0.attn.k"], apply_rope(key, rope_angles(8, 4)[:4]))


def test_no_positions_shows_zeros_and_only_the_mask_knows_the_order():
    trace = _model(pos_encoding="none").trace([5] * 4)
    assert torch.equal(trace["embed.pos"], torch.zeros(4, 8))
    assert torch.equal(trace["embed.sum"], trace["embed.tok"])
    expected = torch.tril(torch.ones(4, 4)) / torch.arange(1, 5)[:, None]  # row i: 1/(i+1) each
    torch.testing.assert_close(trace["blocks.0.attn.pattern"][0, 0], expected)


# -- the fast path agrees with the explicit one -----------------------------------------------------
@pytest.mark.parametrize("scheme", ["learned", "sinusoidal", "rope", "none"])
def test_fast_and_explicit_attention_agree_in_forward_and_gradients(scheme):
    model = _model(pos_encoding=scheme).train()
    generator = torch.Generator().manual_seed(3)
    ids = torch.randint(0, 13, (2, 8), generator=generator)
    targets = torch.randint(0, 13, (2, 8), generator=generator)

    def run(fast: bool):
        model.set_fast_attention(fast)
        model.zero_grad(set_to_none=True)
        logits, loss = model(ids, targets)
        loss.backward()
        return logits.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}

    fast_logits, fast_grads = run(True)
    explicit_logits, explicit_grads = run(False)
    torch.testing.assert_close(fast_logits, explicit_logits, atol=1e-5, rtol=1e-5)
    assert fast_grads.keys() == explicit_grads.keys()
    for name in fast_grads:
        torch.testing.assert_close(fast_grads[name], explicit_grads[name], atol=1e-5, rtol=1e-5, msg=name)
    assert fast_grads["transformer.h.0.attn.c_attn.weight"].abs().sum() > 0


def test_only_layers_whose_pattern_is_read_take_the_explicit_path(monkeypatch):
    model = _model()
    fused = torch.nn.functional.scaled_dot_product_attention
    fused_calls = []

    def counting(*args, **kwargs):
        fused_calls.append(1)
        return fused(*args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", counting)
    with torch.no_grad():
        model(torch.tensor([[1, 2, 3]]))
    assert len(fused_calls) == 2  # nobody reads: both layers fused
    trace = model.trace([1, 2, 3], names=["blocks.0.attn.pattern", "logits"])
    assert len(fused_calls) == 3  # layer 0 explicit, layer 1 still fused
    torch.testing.assert_close(trace["logits"], model.trace([1, 2, 3])["logits"])
    model.set_fast_attention(False)
    with torch.no_grad():
        model(torch.tensor([[1, 2, 3]]))
    assert len(fused_calls) == 3


# -- the forward pass -------------------------------------------------------------------------------
def test_loss_is_the_cross_entropy_of_the_logits():
    model = _model()
    ids, targets = torch.tensor([[1, 2, 3]]), torch.tensor([[2, 3, 4]])
    logits, loss = model(ids, targets)
    by_hand = -torch.log_softmax(logits[0], dim=-1)[torch.arange(3), targets[0]].mean()
    assert loss.item() == pytest.approx(by_hand.item(), rel=1e-6)
    assert model(ids)[1] is None


def test_a_fresh_model_guesses_uniformly_at_first():
    torch.manual_seed(0)
    model = GPT(_config(vocab_size=50))
    _, loss = model(torch.randint(0, 50, (4, 8)), torch.randint(0, 50, (4, 8)))
    assert loss.item() == pytest.approx(math.log(50), rel=0.02)


def test_forward_refuses_too_long_or_flat_input():
    model = _model()
    with pytest.raises(ValueError, match="9 tokens but this model reads at most 8; shorten it"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(batch, tokens\).*ids\[None, :\]"):
        model(torch.zeros(5, dtype=torch.long))


def test_tied_head_shares_the_embedding_and_is_counted_once():
    tied = GPT(_config())
    untied = GPT(_config(tie_embeddings=False))
    assert tied.lm_head.weight is tied.transformer.wte.weight
    assert untied.num_params() - tied.num_params() == 13 * 8


def test_bias_free_model_has_no_biases():
    model = GPT(_config(bias=False))
    assert not [n for n, _ in model.named_parameters() if n.endswith(".bias")]


def test_trace_runs_in_eval_mode_even_when_the_model_is_training():
    model = _model(dropout=0.5).train()
    first, second = model.trace([1, 2, 3])["logits"], model.trace([1, 2, 3])["logits"]
    assert torch.equal(first, second)  # no dropout noise
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(first, model(torch.tensor([[1, 2, 3]]))[0])


def test_hook_points_cover_every_documented_name():
    names = set(_model().hook_points())
    per_layer = [
        "resid_pre",
        "ln1",
        "attn.q",
        "attn.k",
        "attn.v",
        "attn.scores",
        "attn.masked_scores",
        "attn.pattern",
        "attn.z",
        "attn.out",
        "resid_mid",
        "ln2",
        "mlp.pre",
        "mlp.post",
        "mlp.out",
        "resid_post",
    ]
    expected = {"embed.tok", "embed.pos", "embed.sum", "ln_final", "logits"}
    expected |= {f"blocks.{layer}.{name}" for layer in range(2) for name in per_layer}
    assert names == expected


def test_pytorch_forward_hooks_fire_on_hook_points_beside_the_trace():
    """Hook points are called like any nn.Module: a hook registered the PyTorch way sees the same value
    the trace records, and a trace still works while such a hook is registered."""
    model = _model()
    seen = {}
    hook_point = model.hook_points()["blocks.1.attn.pattern"]
    handle = hook_point.register_forward_hook(lambda module, inputs, output: seen.setdefault("pattern", output))
    try:
        trace = model.trace([1, 2, 3, 4])
    finally:
        handle.remove()
    torch.testing.assert_close(seen["pattern"][0], trace["blocks.1.attn.pattern"][0])
    seen.clear()
    model.trace([1, 2, 3, 4])
    assert seen == {}  # removed: called no more
