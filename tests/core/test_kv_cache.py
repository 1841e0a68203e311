"""The incremental trace (core/model/kv_cache.py) equals a full trace in every name, over random edits."""

from __future__ import annotations

import random

import pytest
import torch

from core import GPT, GPTConfig, Intervention
from core.model.kv_cache import shared_prefix_length
from core.tokenizers import BPETokenizer, CharTokenizer

FAMILIES = {
    "gpt2": dict(pos_encoding="learned"),
    "llama": dict(pos_encoding="rope", norm="rmsnorm", mlp="swiglu", n_kv_heads=2, bias=False, rope_fraction=0.5),
    "gpt-neo": dict(pos_encoding="learned", attention_windows=(None, 3, None), scale_scores=False),
    "sinusoidal": dict(pos_encoding="sinusoidal", parallel_residual=True),
    "none": dict(pos_encoding="none"),
}
TEXT = "the cat sat on the mat, then the dog ran after it; nobody saw where they went. "


def _model(family: str, vocab_size: int = 64) -> GPT:
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=vocab_size, context_length=48, n_layers=3, n_heads=4, d_model=32, **FAMILIES[family])
    return GPT(config)


def _assert_same_trace(extended, full) -> None:
    assert list(extended) == list(full)
    assert torch.equal(extended.ids, full.ids)
    for name in full:
        assert extended[name].shape == full[name].shape, name
        assert torch.allclose(extended[name], full[name], rtol=1e-5, atol=1e-5), name


def _random_edit(text: str, rng: random.Random) -> str:
    """Append, delete at the end, edit in the middle, paste, or cut: what a user does in the prompt box."""
    kind = rng.choice(("append", "append", "delete", "middle", "paste", "cut"))
    where = rng.randrange(len(text) + 1)
    if kind == "append":
        return text + rng.choice(TEXT)
    if kind == "delete":
        return text[: -rng.randint(1, 3)] or "a"
    if kind == "middle":
        return text[:where] + rng.choice(TEXT) + text[where + 1 :]
    if kind == "paste":
        start = rng.randrange(len(TEXT) - 10)
        return text[:where] + TEXT[start : start + rng.randint(2, 10)] + text[where:]
    return text[:where] + text[where + rng.randint(1, 5) :] or "a"


def _edit_sequence(ids_of, model, intervention=None, steps=40, seed=0) -> None:
    """Trace every prompt of a random edit sequence from the previous trace, and in full; compare.

    Only every third trace is read, so the others pass on values still kept in chunks (unread)."""
    rng = random.Random(seed)
    text = "the cat"
    previous = None
    for step in range(steps):
        text = _random_edit(text, rng)[-40:]
        ids = ids_of(text)
        extended = model.trace(ids, intervention=intervention, previous=previous)
        if step % 3 == 2:
            _assert_same_trace(extended, model.trace(ids, intervention=intervention))
        previous = extended  # the next edit builds on the incremental trace itself


@pytest.mark.parametrize("family", list(FAMILIES))
def test_incremental_trace_equals_full_trace_over_random_edits(family):
    tokenizer = CharTokenizer.from_text(TEXT)
    _edit_sequence(tokenizer.encode, _model(family), seed=hash(family) % 100)


@pytest.mark.parametrize("family", ["gpt2", "llama", "gpt-neo"])
def test_incremental_trace_with_a_bpe_tokenizer_whose_last_token_changes(family):
    """Byte-level BPE: typing a character can merge it into the token before, so the last token is
    replaced, not just followed by a new one."""
    tokenizer = BPETokenizer.train(TEXT * 3, vocab_size=300)
    assert tokenizer.encode(" th") != tokenizer.encode(" the")[: len(tokenizer.encode(" th"))]  # the premise
    _edit_sequence(tokenizer.encode, _model(family, vocab_size=300), seed=7)


@pytest.mark.parametrize(
    "intervention",
    [
        Intervention(ablate_heads={(0, 1), (2, 3)}),
        Intervention(positional=False),
        Intervention(ablate_heads={(1, 0)}, ablation="mean"),  # depends on the whole prompt: traced in full
        Intervention(patterns={(0, 2): torch.tril(torch.ones(48, 48)) / torch.arange(1, 49)[:, None]}),  # in full too
    ],
)
def test_incremental_trace_with_a_what_if(intervention):
    tokenizer = CharTokenizer.from_text(TEXT)
    _edit_sequence(tokenizer.encode, _model("llama"), intervention=intervention, steps=15)


@pytest.mark.parametrize("family", ["gpt2", "gpt-neo"])
def test_many_unread_keystrokes_in_a_row_still_give_the_full_trace(family):
    """Forty appends, nothing read in between: every value is kept in chunks (joined now and then)."""
    model = _model(family)
    ids = [(7 * i) % 64 for i in range(45)]
    trace = model.trace(ids[:5])
    for end in range(6, 46):
        trace = model.trace(ids[:end], previous=trace)
    _assert_same_trace(trace, model.trace(ids))


def test_appending_computes_only_the_new_token():
    model = _model("gpt2")
    previous = model.trace(list(range(20)))
    seen = []
    model.transformer.h[0].hook_resid_pre.listeners.append(lambda value, name: seen.append(value.size(1)) or value)
    model.trace(list(range(21)), previous=previous)
    assert seen == [1]


def test_a_shorter_prompt_is_cut_from_the_previous_trace_without_a_pass():
    model = _model("gpt2")
    previous = model.trace(list(range(20)))
    seen = []
    model.transformer.h[0].hook_resid_pre.listeners.append(lambda value, name: seen.append(value.size(1)) or value)
    shorter = model.trace(list(range(12)), previous=previous)
    assert seen == []
    _assert_same_trace(shorter, model.trace(list(range(12))))


def test_tracing_from_an_extended_trace_joins_none_of_its_values():
    # The next keystroke checks that the previous trace holds every name; asking must not join them all
    # (that was a full 512-token copy of every pattern on each deleted character).
    model = _model("gpt2")
    extended = model.trace(list(range(21)), previous=model.trace(list(range(20))))
    model.trace(list(range(20)), previous=extended)
    assert "blocks.0.attn.pattern" in extended and "no such name" not in extended
    assert extended._joined == {}


def test_a_trace_of_some_names_or_another_what_if_is_not_a_prefix_source():
    model = _model("gpt2")
    seen = []
    model.transformer.h[0].hook_resid_pre.listeners.append(lambda value, name: seen.append(value.size(1)) or value)
    partial = model.trace(list(range(10)), names=["logits"])
    model.trace(list(range(11)), previous=partial)
    ablated = model.trace(list(range(10)), intervention=Intervention(ablate_heads={(0, 0)}))
    model.trace(list(range(11)), previous=ablated)
    assert seen == [10, 11, 10, 11]


def test_incremental_trace_tensors_are_read_only_inference_tensors():
    model = _model("gpt2")
    extended = model.trace(list(range(11)), previous=model.trace(list(range(10))))
    with pytest.raises(RuntimeError):
        extended["blocks.0.attn.pattern"].add_(1.0)


def test_shared_prefix_length():
    old = torch.tensor([[1, 2, 3, 4]])
    assert shared_prefix_length(old, torch.tensor([[1, 2, 3, 4, 5]])) == 4
    assert shared_prefix_length(old, torch.tensor([[1, 2, 9, 4]])) == 2
    assert shared_prefix_length(old, torch.tensor([[1, 2]])) == 2
    assert shared_prefix_length(old, torch.tensor([[7]])) == 0
    assert shared_prefix_length(old, torch.tensor([[1, 2], [1, 2]])) == 0  # another batch size


# -- values grown in place (core/model/growing_table.py) beside the plain chunks ------------------------
@pytest.mark.parametrize("family", ["gpt2", "llama", "gpt-neo"])
def test_values_grown_in_place_equal_the_plain_chunks_over_random_edits(family, monkeypatch):
    """The fast path (the new positions, a table's new rows and columns, written into a buffer) and the
    plain one (chunks joined when read) give the same trace, every name, after every edit of a random
    sequence."""
    import core.model.trace as trace_module

    tokenizer = CharTokenizer.from_text(TEXT)
    model = _model(family)
    rng = random.Random(3)
    text, fast, plain = "the cat", None, None
    for _ in range(30):
        text = _random_edit(text, rng)[-40:]
        ids = tokenizer.encode(text)
        monkeypatch.setattr(trace_module, "GROW_IN_PLACE", False)
        plain = model.trace(ids, previous=plain)
        monkeypatch.setattr(trace_module, "GROW_IN_PLACE", True)
        fast = model.trace(ids, previous=fast)
        _assert_same_trace(fast, plain)


def test_an_older_trace_never_sees_its_numbers_change():
    """Every trace of a random edit sequence is kept alive (as a window may still show it) while later
    ones grow the same buffers: each still holds exactly what it held when it was made."""
    tokenizer = CharTokenizer.from_text(TEXT)
    model = _model("gpt2")
    rng = random.Random(5)
    text, previous, kept = "the cat sat", None, []
    for step in range(40):
        text = _random_edit(text, rng)[-40:]
        previous = model.trace(tokenizer.encode(text), previous=previous)
        if step % 2:  # some older traces stay alive, some are dropped (their buffers may then be reused)
            kept.append((previous, {name: previous[name].clone() for name in previous}))
    for trace, values in kept:
        for name, value in values.items():
            assert torch.equal(trace[name], value), name


def test_typing_deleting_and_retyping_writes_in_place():
    """Append, delete, append another character, over and over: once the deleted character's trace is
    gone, its row is free, and the tables grow in one buffer (no T x T copy per keystroke)."""
    model = _model("gpt2")
    name = "blocks.1.attn.scores"
    base = list(range(30))
    shown = model.trace(base)
    buffers = []  # held, so that no id is reused
    for key in range(12):
        ids = base + [key % 5] if key % 2 == 0 else base
        shown = model.trace(ids, previous=shown)
        buffers.append(shown.stored(name).buffer)
        _assert_same_trace(shown, model.trace(ids))
    assert len({id(buffer) for buffer in buffers}) == 1


def test_a_replaced_last_token_alternates_between_two_buffers():
    """A BPE merge replaces the last token while the trace before (which shows the old one in that row)
    is still on screen: the new row goes to a second buffer, and from then on the two take turns."""
    model = _model("gpt2")
    name = "blocks.1.attn.pattern"
    base = list(range(30))
    shown = model.trace(base + [0])
    buffers = []  # held, so that no id is reused
    for key in range(1, 12):
        ids = base + [key % 5 + 1]
        new = model.trace(ids, previous=shown)  # `shown` stays alive until the new trace replaces it
        assert torch.equal(shown.ids[0, :30], new.ids[0, :30])
        buffers.append(new.stored(name).buffer)
        _assert_same_trace(new, model.trace(ids))
        shown = new
    assert len({id(buffer) for buffer in buffers}) == 2


def test_once_grown_the_cached_keys_and_values_are_written_in_place_not_concatenated(monkeypatch):
    """From the second keystroke on, the pass attends to views of the grown key and value buffers (the new
    tokens' written after the kept ones) and the trace holds those very values; the plain concatenation
    (LayerCache.followed_by) is left for the first keystroke after a full trace."""
    from core.model.kv_cache import LayerCache

    model = _model("llama")  # grouped-query and RoPE: the keys are recorded shared out and turned
    concatenated = []
    plain = LayerCache.followed_by
    monkeypatch.setattr(LayerCache, "followed_by", lambda cache, *new: concatenated.append(1) or plain(cache, *new))
    base = list(range(30))
    shown = model.trace(base)
    for key in range(8):
        ids = base + [key % 5] if key % 2 == 0 else base + [key % 5, 7, 8]  # an append, then a paste
        shown = model.trace(ids, previous=shown)
        _assert_same_trace(shown, model.trace(ids))
        assert concatenated == [1] * model.config.n_layers  # the first keystroke's only
