"""Every family, provably the same model: a tiny random transformers model, saved to a folder, opened by
our loader, gives the same logits, attention patterns, hidden states and token ids."""

import sys
from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")
sys.path.insert(0, str(Path(__file__).parent))

from core.files.pretrained import load_pretrained  # noqa: E402
from core.model.trace import Intervention  # noqa: E402
from pretrained_helpers import mixed_strings, save_family  # noqa: E402

FAMILIES = ("gpt2", "gpt_neo", "gpt_neox", "llama", "qwen2")


@pytest.fixture(scope="module", params=FAMILIES)
def family(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    reference, library_tokenizer = save_family(request.param, folder)
    model, tokenizer = load_pretrained(folder)
    return request.param, folder, reference, model, tokenizer


def _ids(vocab_size: int) -> torch.Tensor:
    return torch.randint(0, vocab_size, (2, 20), generator=torch.Generator().manual_seed(1))  # (B, T)


def test_logits_patterns_and_hidden_states_are_the_references(family):
    name, _, reference, model, _ = family
    ids = _ids(model.config.vocab_size)
    with torch.no_grad():
        expected = reference(ids, output_attentions=True, output_hidden_states=True)
    trace = model.trace(ids)
    assert expected.logits.abs().max() > 1.0  # real, spread-out numbers
    torch.testing.assert_close(trace["logits"], expected.logits, atol=1e-4, rtol=1e-4)
    assert len(expected.attentions) == model.config.n_layers
    for layer, pattern in enumerate(expected.attentions):
        torch.testing.assert_close(trace[f"blocks.{layer}.attn.pattern"], pattern, atol=1e-4, rtol=1e-4)
    # transformers' hidden states: the embeddings, each block's output, and (last) the final norm's output
    names = ["embed.sum", *(f"blocks.{layer}.resid_post" for layer in range(model.config.n_layers - 1)), "ln_final"]
    assert len(expected.hidden_states) == len(names)
    for ours, theirs in zip(names, expected.hidden_states):
        torch.testing.assert_close(trace[ours], theirs, atol=1e-4, rtol=1e-4)


def test_the_fast_attention_path_gives_the_same_logits(family):
    _, _, reference, model, _ = family
    ids = _ids(model.config.vocab_size)
    with torch.no_grad():
        expected = reference(ids).logits
        fast, _ = model(ids)  # nobody reads the pattern: scaled_dot_product_attention
    torch.testing.assert_close(fast, expected, atol=1e-4, rtol=1e-4)


def test_each_family_uses_its_switches(family):
    name, _, _, model, _ = family
    config = model.config
    expected = {
        "gpt2": dict(norm="layernorm", mlp="gelu", pos_encoding="learned", parallel_residual=False),
        "gpt_neo": dict(attention_windows=(None, 4), scale_scores=False, qkv_bias=False, attn_out_bias=True),
        "gpt_neox": dict(rope_fraction=0.5, parallel_residual=True, tie_embeddings=False, activation="gelu"),
        "llama": dict(norm="rmsnorm", mlp="swiglu", n_kv_heads=2, bias=False, qkv_bias=False, rope_theta=500.0),
        "qwen2": dict(norm="rmsnorm", mlp="swiglu", n_kv_heads=1, bias=False, qkv_bias=True, attn_out_bias=False),
    }[name]
    assert {key: getattr(config, key) for key in expected} == expected
    assert (model.lm_head.weight is model.transformer.wte.weight) == config.tie_embeddings


def test_keys_and_values_are_shown_one_per_query_head(family):
    _, _, _, model, _ = family
    trace = model.trace(_ids(model.config.vocab_size)[:, :6])
    heads = model.config.n_heads
    for part in "qkvz":
        assert trace[f"blocks.0.attn.{part}"].shape == (2, heads, 6, model.config.d_head)
    share = model.config.heads_per_kv_head
    keys = trace["blocks.0.attn.k"]
    for head in range(heads):  # query heads in one group see the very same keys
        torch.testing.assert_close(keys[:, head], keys[:, head - head % share])


def test_what_ifs_work_for_every_family(family):
    _, _, _, model, _ = family
    ids = _ids(model.config.vocab_size)[:1, :8]
    plain = model.trace(ids)["logits"]
    T = ids.size(1)
    for intervention in (
        Intervention(ablate_heads={(0, 1)}),
        Intervention(ablate_heads={(1, 0)}, ablation="mean"),
        Intervention(positional=False),
        Intervention(patterns={(0, 0): torch.eye(T)}),
    ):
        changed = model.trace(ids, intervention=intervention)
        assert not torch.allclose(changed["logits"], plain), intervention
    uniform = torch.tril(torch.ones(T, T)) / torch.arange(1, T + 1)[:, None]
    replaced = model.trace(ids, intervention=Intervention(patterns={(1, 2): uniform}))
    torch.testing.assert_close(replaced["blocks.1.attn.pattern"][0, 2], uniform)


def test_token_ids_are_the_libraries_on_hundreds_of_mixed_strings(family):
    _, folder, _, _, tokenizer = family
    reference = transformers.PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"))
    strings = mixed_strings(300)
    for text in strings:
        ids = tokenizer.encode(text)
        assert ids == reference.encode(text, add_special_tokens=False), text
        assert tokenizer.decode(ids) == text
        assert b"".join(tokenizer.token_bytes(i) for i in ids) == text.encode("utf-8")


@pytest.mark.parametrize("name", ["gpt2", "gpt_neo"])
def test_gpt2_vocab_and_merges_give_the_same_ids_as_tokenizer_json(name, tmp_path):
    save_family(name, tmp_path / "json")
    save_family(name, tmp_path / "vocab")
    (tmp_path / "vocab" / "tokenizer.json").unlink()
    _, from_json = load_pretrained(tmp_path / "json")
    _, from_vocab = load_pretrained(tmp_path / "vocab")
    assert (from_json.kind, from_vocab.kind) == ("hf_json", "gpt2")
    for text in mixed_strings(300, seed=2):
        assert from_vocab.encode(text) == from_json.encode(text), text
