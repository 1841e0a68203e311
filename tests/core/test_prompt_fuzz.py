"""Thousands of awkward prompts through every tokenizer and the full trace of a small model.

Each tokenizer the project has is tried: the character tokenizer (with unknown="error" and
unknown="token"), byte-level BPE trained here, and GPT-2's tokenizer read from a vocab.json and
merges.txt written into a temporary folder. For every prompt:
- encode never fails, except the "error" character tokenizer on a character it lacks (a ValueError
  naming that character);
- decode(encode(text)) == text wherever the tokenizer promises it (byte-level: any text without lone
  surrogates; characters: text inside the alphabet), and the documented stand-in ('\ufffd') elsewhere;
- the model reads the ids (cut to the last context_length, as the explorer and the CLI cut them) and
  every traced value is finite, every attention row sums to 1 and is zero above the diagonal.
"""

import json

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import GPT, preset
from core.tokenizers import BPETokenizer, CharTokenizer, load_gpt2_tokenizer
from core.tokenizers.gpt2 import END_OF_TEXT, bytes_to_unicode
from core.tokenizers.pretokenize import replace_lone_surrogates
from tokenizer_samples import python_docs

# -- the prompts ----------------------------------------------------------------------------------
EMOJI = [
    "😀",
    "👍🏽",
    "👋🏿",
    "👨\u200d👩\u200d👧\u200d👦",
    "🧑🏾\u200d🤝\u200d🧑🏻",
    "🏳️\u200d🌈",
    "🇫🇷",
    "🇯🇵🇺🇸",
    "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
    "1\ufe0f\u20e3",
    "❤️",
    "\U0001f1e6",
]
COMBINING = [
    "e\u0301",
    "n\u0303",
    "a\u0308\u0304",
    "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334",
    "\u0301",
    "ก\u0e49\u0e33",
    "क\u094d\u0937",
    "\u1100\u1161\u11a8",
]
RIGHT_TO_LEFT = [
    "שלום עולם",
    "مرحبا بالعالم",
    "\u202eevil.txt",
    "\u202dforced",
    "\u202c",
    "\u200f",
    "\u200e",
    "\u2067isolate\u2069",
    "ש1ב2",
    "العربية123",
]
MIXED_SCRIPTS = [
    "Hello",
    "日本語",
    "русский",
    "Ελληνικά",
    "中文",
    "한국어",
    "ßẞ",
    "ﬁ",
    "İı",
    "Ⅻ",
    "𝔘𝔫𝔦",
    "½",
    "\u00a0",
    "\u2028",
    "\u3000",
    "\ufeff",
    "\ufffd",
    "<|endoftext|>",
    "'s 're",
]
CONTROL = ["\x00", "\r", "\r\n", "\x1b[31mred\x1b[0m", "\x07", "\x7f", "\x85", "\x0b\x0c", "\t"]
WHITESPACE = " \t\n\r\x0b\x0c\u00a0\u1680\u2000\u2007\u200a\u2028\u2029\u202f\u205f\u3000\x85"
LONG_CHARACTERS = 10_000

every_character = st.characters(codec=None, categories=None)  # every code point, lone surrogates too
lone_surrogate = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
piece = st.one_of(
    st.sampled_from(EMOJI + COMBINING + RIGHT_TO_LEFT + MIXED_SCRIPTS + CONTROL),
    st.text(every_character, max_size=6),
    lone_surrogate,
    st.text(st.characters(categories=["Cc"]), min_size=1, max_size=3),
    st.sampled_from(["the ", "cat ", "sat", ".", " ", "\n"]),
)
mixed = st.lists(piece, max_size=12).map("".join)
whitespace_only = st.text(alphabet=WHITESPACE, min_size=1, max_size=40)
long_prompt = mixed.filter(bool).map(lambda text: (text * (LONG_CHARACTERS // len(text) + 1))[:LONG_CHARACTERS])
short_prompts = st.one_of(st.just(""), whitespace_only, mixed, mixed, st.text(every_character, max_size=30))
prompts = st.one_of(short_prompts, long_prompt)

# The character tokenizers' alphabet: printable ASCII plus a few characters from the lists above.
ALPHABET = "".join(
    sorted(
        set("".join(chr(c) for c in range(32, 127)) + "\n\t\r\x00\x1béשלוםمرحبا😀👍🏽\u200d\u202e日本語\ufffd\ufeff")
    )
)
inside_alphabet = st.text(alphabet=ALPHABET, max_size=200)

# 300 short prompts and 40 of 10,000 characters per tokenizer, 120 per tokenizer through the explorer's
# path, 100 per character tokenizer inside its alphabet, plus the named cases: 2,070 prompts in all.
EXAMPLES = 300
LONG_EXAMPLES = 40
EXPLORER_EXAMPLES = 120
ALPHABET_EXAMPLES = 100
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


# -- the tokenizers and a model for each ------------------------------------------------------------
def write_gpt2_folder(folder, tokenizer: BPETokenizer) -> None:
    """vocab.json + merges.txt in Hugging Face's GPT-2 layout, for the merges of a BPE trained here."""
    spell = bytes_to_unicode()
    spelled = ["".join(spell[byte] for byte in token) for token in tokenizer.vocab]
    vocab = {spelling: token_id for token_id, spelling in enumerate(spelled)}
    vocab[END_OF_TEXT] = len(spelled)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    merges = [f"{spelled[left]} {spelled[right]}" for left, right, _ in tokenizer.merges]
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def tokenizers(tmp_path_factory):
    corpus = python_docs(20_000) + "".join(EMOJI + COMBINING + RIGHT_TO_LEFT + MIXED_SCRIPTS)
    bpe = BPETokenizer.train(corpus, 420)
    folder = tmp_path_factory.mktemp("gpt2-files")
    write_gpt2_folder(folder, BPETokenizer.train(python_docs(12_000), 380))
    return {
        "char-error": CharTokenizer(ALPHABET, unknown="error"),
        "char-token": CharTokenizer(ALPHABET, unknown="token"),
        "bpe": bpe,
        "gpt2": load_gpt2_tokenizer(folder),
    }


@pytest.fixture(scope="module")
def models(tokenizers):
    torch.manual_seed(0)
    return {name: GPT(preset("nano", vocab_size=tokenizer.vocab_size)).eval() for name, tokenizer in tokenizers.items()}


TOKENIZER_NAMES = ["char-error", "char-token", "bpe", "gpt2"]


# -- what must hold ------------------------------------------------------------------------------
def expected_round_trip(name: str, tokenizer, text: str) -> str:
    """What decode(encode(text)) promises to give back."""
    if name in ("bpe", "gpt2"):
        return replace_lone_surrogates(text)  # every other string comes back exactly
    if name == "char-token":
        return "".join(char if char in tokenizer._id_of else "\ufffd" for char in text)
    return text


def encode_checked(name: str, tokenizer, text: str) -> list[int] | None:
    """The ids, checked against the tokenizer's promises; None when the 'error' policy refuses the text."""
    unknown = sorted(set(text) - set(ALPHABET)) if name.startswith("char") else []
    if name == "char-error" and unknown:
        with pytest.raises(ValueError, match="not in this tokenizer's vocabulary"):
            tokenizer.encode(text)
        return None
    ids = tokenizer.encode(text)
    assert all(isinstance(i, int) for i in ids)
    assert not ids or 0 <= min(ids) <= max(ids) < tokenizer.vocab_size
    assert (len(ids) == 0) == (text == "")
    assert tokenizer.decode(ids) == expected_round_trip(name, tokenizer, text)
    for token_id in set(ids[:50]):
        assert tokenizer.token_label(token_id, full=True)  # every token has something to show
    return ids


def check_trace(model: GPT, ids: list[int]) -> None:
    ids = ids[-model.config.context_length :]  # the last tokens, as app.state.snapshot_maker.fit_to_context keeps them
    trace = model.trace(ids)
    T = len(ids)
    assert trace["logits"].shape == (1, T, model.config.vocab_size)
    for name, value in trace.items():
        if name.endswith("masked_scores"):
            below = torch.tril(torch.ones(T, T, dtype=torch.bool))
            assert torch.isfinite(value[..., below]).all(), name
            assert torch.isneginf(value[..., ~below]).all(), name
        else:
            assert torch.isfinite(value).all(), name
    for layer in range(model.config.n_layers):
        pattern = trace.numpy(f"blocks.{layer}.attn.pattern")  # (nh, T, T)
        np.testing.assert_allclose(pattern.sum(-1), 1.0, atol=1e-5)
        assert np.all(np.triu(pattern, k=1) == 0)
    np.testing.assert_allclose(trace.numpy("probs").sum(-1), 1.0, atol=1e-5)


# -- the tests --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", TOKENIZER_NAMES)
@fuzz
@given(text=short_prompts)
def test_any_prompt_encodes_decodes_and_traces(tokenizers, models, name, text):
    ids = encode_checked(name, tokenizers[name], text)
    if ids is not None:
        check_trace(models[name], ids)


@pytest.mark.parametrize("name", TOKENIZER_NAMES)
@settings(fuzz, max_examples=LONG_EXAMPLES)
@given(text=long_prompt)
def test_prompts_of_ten_thousand_characters(tokenizers, models, name, text):
    assert len(text) == LONG_CHARACTERS
    ids = encode_checked(name, tokenizers[name], text)
    if ids is not None:
        assert len(ids) > models[name].config.context_length  # so the cut is exercised
        check_trace(models[name], ids)


@pytest.mark.parametrize("name", ["char-error", "char-token"])
@settings(fuzz, max_examples=ALPHABET_EXAMPLES)
@given(text=inside_alphabet)
def test_text_inside_the_alphabet_comes_back_exactly(tokenizers, name, text):
    tokenizer = tokenizers[name]
    ids = tokenizer.encode(text)
    assert len(ids) == len(text) and tokenizer.decode(ids) == text


@pytest.mark.parametrize("name", ["bpe", "gpt2"])
@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\x00",
        "\r\n",
        "\x1b[0m",
        "👨\u200d👩\u200d👧\u200d👦",
        "e\u0301",
        "\u202eשלום",
        "🇫🇷" * 300,
        "a" * LONG_CHARACTERS,
        "日本語" * 3334,
        " \t\n" * 3334,
    ],
)
def test_edge_prompts_byte_level(tokenizers, models, name, text):
    """The named cases, each a test of its own."""
    ids = encode_checked(name, tokenizers[name], text)
    check_trace(models[name], ids)


@pytest.mark.parametrize("name", ["bpe", "gpt2"])
@pytest.mark.parametrize(
    ("text", "decoded"),
    [
        ("\ud800", "\ufffd"),
        ("a\udfffb", "a\ufffdb"),
        ("\udc00\ud800", "\ufffd\ufffd"),
        ("\udbff\udc00", "\U0010fc00"),  # a high-low pair written as two code units is one character, as in tiktoken
    ],
)
def test_lone_surrogates_become_the_replacement_character(tokenizers, models, name, text, decoded):
    ids = tokenizers[name].encode(text)
    assert tokenizers[name].decode(ids) == decoded
    check_trace(models[name], ids)


# -- the explorer's own path: prompt -> tokens -> snapshot (no window needed) ------------------------
@pytest.fixture(scope="module")
def explorer_sessions(tokenizers, models):
    """Each tokenizer and model as the explorer holds them (imported here: the rest of this file needs no Qt)."""
    from app.state.model_in_use import ModelInUse

    return {name: ModelInUse(models[name], tokenizers[name], f"fuzz {name}") for name in TOKENIZER_NAMES}


@pytest.mark.parametrize("name", TOKENIZER_NAMES)
@settings(fuzz, max_examples=EXPLORER_EXAMPLES)
@given(text=prompts)
def test_the_explorer_turns_any_prompt_into_a_snapshot_or_a_sentence(explorer_sessions, name, text):
    from app.state.snapshot_maker import build_snapshot, encode_prompt
    from core import Intervention

    session = explorer_sessions[name]
    snapshot, notice = build_snapshot(session, text, Intervention())
    all_ids, _ = encode_prompt(session.tokenizer, text)
    context = session.config.context_length
    if snapshot is None:
        assert not all_ids and notice  # nothing left to read, and a sentence saying why
        return
    kept = all_ids[-context:]
    assert snapshot.trace.ids[0].tolist() == kept
    assert snapshot.truncated == len(all_ids) - len(kept) == len(snapshot.cut_labels)
    assert len(snapshot.token_labels) == len(snapshot.token_bytes) == len(kept)
    assert all(isinstance(label, str) and label for label in snapshot.token_labels)
    assert ("cut" in notice) == bool(snapshot.truncated)
    if name == "char-error" and set(text) - set(ALPHABET):
        assert "Left out characters" in notice
    check_trace(session.model, kept)
