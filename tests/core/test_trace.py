"""The trace checked against the maths done by hand on a 3-token prompt, and the what-ifs."""

import copy
import math

import numpy as np
import pytest
import torch

from core import GPT, GPTConfig, Intervention, Trace

PROMPT = [4, 1, 7]


def _lively(model: GPT, seed: int = 0) -> GPT:
    """Re-draw every weight with a large spread so patterns are far from uniform."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    return model.eval()


@pytest.fixture(scope="module")
def model() -> GPT:
    torch.manual_seed(0)
    return _lively(GPT(GPTConfig(vocab_size=11, context_length=8, d_model=8, n_layers=2, n_heads=2)))


# -- the forward pass written out by hand, in float64, straight from the weights --------------------
def _layer_norm(x, weight, bias, eps):
    mean = x.mean(-1, keepdim=True)
    variance = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(variance + eps) * weight + bias


def _gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def _softmax_rows(scores):
    exps = torch.exp(scores - scores.max(-1, keepdim=True).values)
    return exps / exps.sum(-1, keepdim=True)


def hand_forward(model, ids, zero_heads=(), mean_heads=(), patterns=None, positional=True) -> dict:
    """Every traced value for a single prompt (no batch dim), learned positions, tied head."""
    w = {name: value.detach().double() for name, value in model.state_dict().items()}
    cfg = model.config
    T, C, H, D = len(ids), cfg.d_model, cfg.n_heads, cfg.d_head
    patterns = patterns or {}
    out = {"embed.tok": w["transformer.wte.weight"][ids]}
    out["embed.pos"] = w["transformer.wpe.weight"][:T] if positional else torch.zeros(T, C, dtype=torch.float64)
    out["embed.sum"] = out["embed.tok"] + out["embed.pos"]
    x = out["embed.sum"]
    for layer in range(cfg.n_layers):
        p, b = f"transformer.h.{layer}.", f"blocks.{layer}."
        out[b + "resid_pre"] = x
        ln1 = _layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], cfg.layer_norm_eps)
        qkv = ln1 @ w[p + "attn.c_attn.weight"].T + w[p + "attn.c_attn.bias"]  # (T, 3C)
        per_head = [qkv[:, i * C : (i + 1) * C].reshape(T, H, D).transpose(0, 1) for i in range(3)]
        q, k, v = per_head  # each (H, T, D)
        scores = torch.einsum("htd,hsd->hts", q, k) / math.sqrt(D)  # (H, T, T)
        future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        masked = scores.masked_fill(future, float("-inf"))
        pattern = _softmax_rows(masked)
        for head in range(H):
            if (layer, head) in patterns:
                pattern[head] = torch.as_tensor(patterns[layer, head], dtype=torch.float64)[:T, :T]
        z = pattern @ v  # (H, T, D)
        for head in range(H):
            if (layer, head) in zero_heads:
                z[head] = 0
            if (layer, head) in mean_heads:
                z[head] = z[head].mean(0)
        concat = z.transpose(0, 1).reshape(T, C)  # heads side by side
        attn_out = concat @ w[p + "attn.c_proj.weight"].T + w[p + "attn.c_proj.bias"]
        resid_mid = x + attn_out
        ln2 = _layer_norm(resid_mid, w[p + "ln_2.weight"], w[p + "ln_2.bias"], cfg.layer_norm_eps)
        mlp_pre = ln2 @ w[p + "mlp.c_fc.weight"].T + w[p + "mlp.c_fc.bias"]
        mlp_post = _gelu_tanh(mlp_pre)
        mlp_out = mlp_post @ w[p + "mlp.c_proj.weight"].T + w[p + "mlp.c_proj.bias"]
        x = resid_mid + mlp_out
        out.update(
            {
                b + "ln1": ln1,
                b + "attn.q": q,
                b + "attn.k": k,
                b + "attn.v": v,
                b + "attn.scores": scores,
                b + "attn.masked_scores": masked,
                b + "attn.pattern": pattern,
                b + "attn.z": z,
                b + "attn.out": attn_out,
                b + "resid_mid": resid_mid,
                b + "ln2": ln2,
                b + "mlp.pre": mlp_pre,
                b + "mlp.post": mlp_post,
                b + "mlp.out": mlp_out,
                b + "resid_post": x,
            }
        )
    out["ln_final"] = _layer_norm(x, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], cfg.layer_norm_eps)
    out["logits"] = out["ln_final"] @ w["transformer.wte.weight"].T  # tied: read out with wte
    out["probs"] = _softmax_rows(out["logits"])
    return out


def _unbatched(trace: Trace, name: str) -> torch.Tensor:
    value = trace[name].double()
    return value if name == "embed.pos" else value[0]


def assert_matches_hand(trace: Trace, hand: dict) -> None:
    assert set(trace) == set(hand)
    for name, expected in hand.items():
        actual = _unbatched(trace, name)
        assert actual.shape == expected.shape, name
        torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5, msg=name)


# -- the trace equals the maths ---------------------------------------------------------------------
def test_every_traced_value_equals_the_hand_computation(model):
    trace = model.trace(PROMPT)
    assert_matches_hand(trace, hand_forward(model, PROMPT))
    assert trace.ids.tolist() == [PROMPT]
    assert trace["blocks.1.attn.pattern"].shape == (1, 2, 3, 3)
    assert trace["blocks.0.attn.q"].shape == (1, 2, 3, 4)


def test_pattern_is_softmax_of_masked_scores_with_a_zero_upper_triangle(model):
    trace = model.trace(PROMPT)
    for layer in range(2):
        pattern = trace[f"blocks.{layer}.attn.pattern"][0]  # (H, T, T)
        masked = trace[f"blocks.{layer}.attn.masked_scores"][0]
        scores = trace[f"blocks.{layer}.attn.scores"][0]
        above = torch.triu(torch.ones(3, 3, dtype=torch.bool), diagonal=1)
        assert torch.all(pattern[:, above] == 0.0)  # exactly zero, not just small
        assert torch.all(masked[:, above] == float("-inf"))
        assert torch.equal(masked[:, ~above], scores[:, ~above])
        torch.testing.assert_close(pattern.sum(-1), torch.ones(2, 3))
        torch.testing.assert_close(pattern, torch.softmax(masked, dim=-1))
        assert pattern[0, 0, 0] == 1.0  # the first token sees only itself
        # scores really are q·k/sqrt(d_head): one entry by hand, head 1, query 2, key 1
        q, k = trace[f"blocks.{layer}.attn.q"][0, 1, 2], trace[f"blocks.{layer}.attn.k"][0, 1, 1]
        assert scores[1, 2, 1].item() == pytest.approx(sum(q[d] * k[d] for d in range(4)).item() / 2.0, abs=1e-6)


def test_z_is_pattern_times_v_and_the_residual_adds_up(model):
    trace = model.trace(PROMPT)
    for layer in range(2):
        b = f"blocks.{layer}."
        torch.testing.assert_close(trace[b + "attn.z"], trace[b + "attn.pattern"] @ trace[b + "attn.v"])
        torch.testing.assert_close(trace[b + "resid_mid"], trace[b + "resid_pre"] + trace[b + "attn.out"])
        torch.testing.assert_close(trace[b + "resid_post"], trace[b + "resid_mid"] + trace[b + "mlp.out"])
    torch.testing.assert_close(trace["blocks.1.resid_pre"], trace["blocks.0.resid_post"])
    torch.testing.assert_close(trace["embed.sum"], trace["embed.tok"] + trace["embed.pos"])
    torch.testing.assert_close(trace["logits"], trace["ln_final"] @ model.transformer.wte.weight.detach().T)
    torch.testing.assert_close(trace["probs"], torch.softmax(trace["logits"], dim=-1))


def test_trace_is_an_immutable_mapping_of_detached_cpu_tensors(model):
    trace = model.trace(PROMPT)
    with pytest.raises(TypeError):
        trace["logits"] = torch.zeros(1)  # type: ignore[index]
    assert all(not t.requires_grad and t.device.type == "cpu" for t in trace.values())
    array = trace.numpy("blocks.0.attn.pattern")
    assert array.shape == (2, 3, 3) and not array.flags.writeable
    with pytest.raises(KeyError, match="no 'blocks.9.ln1'"):
        trace["blocks.9.ln1"]


def test_editing_a_trace_of_a_fixed_table_does_not_change_the_model():
    model = GPT(GPTConfig(vocab_size=11, context_length=8, d_model=8, n_layers=1, n_heads=2, pos_encoding="sinusoidal"))
    before = model.sinusoidal.clone()
    model.trace(PROMPT)["embed.pos"].fill_(7.0)
    assert torch.equal(model.sinusoidal, before)


# -- choosing what to record ------------------------------------------------------------------------
def test_names_as_a_list_records_only_those_and_agrees_with_the_full_trace(model):
    full = model.trace(PROMPT)
    chosen = ["blocks.1.attn.z", "logits", "probs"]
    part = model.trace(PROMPT, names=chosen)
    assert set(part) == set(chosen)
    for name in chosen:
        torch.testing.assert_close(part[name], full[name], atol=1e-6, rtol=1e-6)


def test_names_as_a_predicate(model):
    part = model.trace(PROMPT, names=lambda name: name.endswith(".pattern"))
    assert sorted(part) == ["blocks.0.attn.pattern", "blocks.1.attn.pattern"]


def test_a_misspelt_name_is_a_clear_error(model):
    with pytest.raises(ValueError, match="no place called 'blocks.0.attn.patern'"):
        model.trace(PROMPT, names=["blocks.0.attn.patern"])


# -- what-ifs ---------------------------------------------------------------------------------------
def test_zero_ablating_a_head_matches_the_hand_computation(model):
    what_if = Intervention(ablate_heads={(0, 1)})
    trace = model.trace(PROMPT, intervention=what_if)
    assert torch.all(trace["blocks.0.attn.z"][:, 1] == 0)
    assert torch.any(trace["blocks.0.attn.z"][:, 0] != 0)
    assert_matches_hand(trace, hand_forward(model, PROMPT, zero_heads={(0, 1)}))
    assert not torch.allclose(trace["logits"], model.trace(PROMPT)["logits"], atol=1e-3)


def test_ablating_a_last_layer_head_moves_the_residual_by_exactly_its_share(model):
    """Without the head, resid_mid loses that head's slice of c_proj: z_h @ W_proj[:, h-dims]ᵀ."""
    normal = model.trace(PROMPT)
    ablated = model.trace(PROMPT, intervention=Intervention(ablate_heads={(1, 0)}))
    w_proj = model.transformer.h[1].attn.c_proj.weight.detach()  # (C, C)
    head_share = normal["blocks.1.attn.z"][0, 0] @ w_proj[:, 0:4].T  # (T, C)
    torch.testing.assert_close(ablated["blocks.1.resid_mid"][0], normal["blocks.1.resid_mid"][0] - head_share)
    torch.testing.assert_close(ablated["blocks.1.resid_pre"], normal["blocks.1.resid_pre"])


def test_mean_ablation_replaces_a_head_by_its_average_over_positions(model):
    what_if = Intervention(ablate_heads={(1, 1)}, ablation="mean")
    trace = model.trace(PROMPT, intervention=what_if)
    z = trace["blocks.1.attn.z"][0, 1]  # (T, D)
    torch.testing.assert_close(z, z[:1].expand(3, 4))
    assert_matches_hand(trace, hand_forward(model, PROMPT, mean_heads={(1, 1)}))


def test_replacing_a_pattern(model):
    uniform = torch.tril(torch.ones(8, 8)) / torch.arange(1, 9)[:, None]  # each row spreads evenly
    trace = model.trace(PROMPT, intervention=Intervention(patterns={(1, 0): uniform}))
    torch.testing.assert_close(trace["blocks.1.attn.pattern"][0, 0], uniform[:3, :3])
    assert_matches_hand(trace, hand_forward(model, PROMPT, patterns={(1, 0): uniform}))


def test_positional_off_equals_a_model_whose_position_vectors_are_zero(model):
    without = model.trace(PROMPT, intervention=Intervention(positional=False))
    zeroed = copy.deepcopy(model)
    with torch.no_grad():
        zeroed.transformer.wpe.weight.zero_()
        logits, _ = zeroed(torch.tensor([PROMPT]))
    torch.testing.assert_close(without["logits"], logits)
    assert torch.all(without["embed.pos"] == 0)
    assert_matches_hand(without, hand_forward(model, PROMPT, positional=False))


@pytest.mark.parametrize("scheme", ["sinusoidal", "rope"])
def test_positional_off_equals_the_same_weights_with_no_positions(scheme):
    torch.manual_seed(1)
    config = GPTConfig(vocab_size=11, context_length=8, d_model=8, n_layers=2, n_heads=2, pos_encoding=scheme)
    model = _lively(GPT(config))
    no_positions = GPT(config.with_changes(pos_encoding="none")).eval()
    no_positions.load_state_dict(model.state_dict())
    without = model.trace(PROMPT, intervention=Intervention(positional=False))
    torch.testing.assert_close(without["logits"], no_positions.trace(PROMPT)["logits"])
    assert not torch.allclose(without["logits"], model.trace(PROMPT)["logits"], atol=1e-3)


@pytest.mark.parametrize(
    "what_if, words",
    [
        (Intervention(ablate_heads={(5, 0)}), "layer 5, but this model has layers 0 to 1"),
        (Intervention(ablate_heads={(1, 2)}), "head 2 of layer 1, but each layer has heads 0 to 1"),
        (Intervention(patterns={(-1, 0): torch.eye(8)}), "layer -1"),
        (Intervention(patterns={(0, 0): torch.eye(2)}), "is 2x2, but the prompt has 3 tokens"),
    ],
)
def test_impossible_what_ifs_are_clear_errors(model, what_if, words):
    with pytest.raises(ValueError, match=words):
        model.trace(PROMPT, intervention=what_if)


def test_what_if_settings_are_checked_when_made():
    with pytest.raises(ValueError, match="Unknown ablation 'half'"):
        Intervention(ablation="half")
    with pytest.raises(ValueError, match="must be a square"):
        Intervention(patterns={(0, 0): torch.ones(3, 4)})


def test_a_prompt_longer_than_the_context_is_a_clear_error(model):
    with pytest.raises(ValueError, match="The prompt has 9 tokens but this model reads at most 8"):
        model.trace(list(range(9)))


def test_token_ids_outside_the_vocabulary_are_a_clear_error(model):
    with pytest.raises(ValueError, match="between 0 and 10"):
        model.trace([3, 11])


def test_an_empty_prompt_gives_an_empty_trace_not_a_crash(model):
    trace = model.trace([])
    assert trace["logits"].shape == (1, 0, 11)


# -- a trace leaves no trace ------------------------------------------------------------------------
def test_trace_restores_every_module_training_mode_and_existing_listeners(model):
    model.train()
    model.transformer.h[1].eval()  # a mixed state must survive too
    before = {name: m.training for name, m in model.named_modules()}
    seen = []
    own_listener = lambda value, name: seen.append(name) or value  # noqa: E731
    hook = model.hook_points()["blocks.0.ln1"]
    hook.listeners.append(own_listener)
    try:
        trace = model.trace(PROMPT)
        assert {name: m.training for name, m in model.named_modules()} == before
        assert hook.listeners == [own_listener] and seen == ["blocks.0.ln1"]
        assert_matches_hand(trace, hand_forward(model, PROMPT))  # ran in eval mode regardless
    finally:
        hook.listeners.remove(own_listener)
        model.eval()


def test_no_listener_stays_attached_even_when_the_pass_fails(model):
    def broken(value, name):
        raise RuntimeError("listener failed")

    hook = model.hook_points()["blocks.1.resid_post"]
    hook.listeners.append(broken)
    try:
        with pytest.raises(RuntimeError, match="listener failed"):
            model.trace(PROMPT, intervention=Intervention(ablate_heads={(0, 0)}))
    finally:
        hook.listeners.remove(broken)
    assert all(not h.listeners for h in model.hook_points().values())


def test_plain_forward_after_a_trace_has_no_listeners_and_the_same_logits(model):
    ids = torch.tensor([PROMPT])
    with torch.no_grad():
        before, _ = model(ids)
    model.trace(PROMPT, intervention=Intervention(ablate_heads={(0, 0)}, positional=False))
    assert all(not h.listeners for h in model.hook_points().values())
    with torch.no_grad():
        after, _ = model(ids)
    assert torch.equal(before, after)


def test_numpy_view_of_positions_has_no_batch_dim(model):
    trace = model.trace([PROMPT, PROMPT])
    assert trace.numpy("embed.pos").shape == (3, 8)
    assert trace.numpy("logits", batch=1).shape == (3, 11)
    np.testing.assert_allclose(trace.numpy("logits", batch=None)[0], trace.numpy("logits", batch=1), atol=1e-6)


def test_a_deep_copied_model_traces_through_its_own_hook_points(model):
    twin = copy.deepcopy(model)
    assert twin.hook_points()["logits"] is twin.hook_logits
    assert twin.hook_points()["logits"] is not model.hook_logits
    what_if = Intervention(ablate_heads={(0, 0)})
    torch.testing.assert_close(
        twin.trace(PROMPT, intervention=what_if)["logits"], model.trace(PROMPT, intervention=what_if)["logits"]
    )
    assert all(not h.listeners for h in model.hook_points().values())


def test_what_ifs_are_values_a_gui_can_compare_and_keep():
    assert Intervention(ablate_heads=[[0, 1]]) == Intervention(ablate_heads={(0, 1)})
    assert len({Intervention(), Intervention(positional=False), Intervention()}) == 2
    patterns = {(0, 0): torch.eye(8)}
    what_if = Intervention(patterns=patterns)
    patterns[(1, 1)] = torch.eye(8)  # the caller's dict changes later...
    assert list(what_if.patterns) == [(0, 0)]  # ...the what-if does not
