"""GPT-2's tokenizer from local files: same ids as Hugging Face, clear errors, no network."""

import base64
import json
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.tokenizers import BPETokenizer, GPT2Tokenizer, load_gpt2_tokenizer, tokenizer_from_json
from core.tokenizers.gpt2 import bytes_to_unicode
from tokenizer_samples import VARIED_TEXTS, python_docs


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    """A small GPT-2-style vocab.json + merges.txt, trained by Hugging Face `tokenizers`."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    folder = tmp_path_factory.mktemp("tiny-gpt2")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator([python_docs(20_000)], trainer)
    tokenizer.model.save(str(folder))
    return folder


@pytest.fixture(scope="module")
def hf_tokenizer(hf_folder):
    from transformers import GPT2TokenizerFast

    return GPT2TokenizerFast(str(hf_folder / "vocab.json"), str(hf_folder / "merges.txt"))


@pytest.fixture(scope="module")
def ours(hf_folder) -> GPT2Tokenizer:
    return load_gpt2_tokenizer(hf_folder)


def test_bytes_to_unicode_is_gpt2s_table():
    table = bytes_to_unicode()
    assert len(set(table.values())) == 256
    assert table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ" and table[ord("A")] == "A"


@pytest.mark.parametrize("text", [*VARIED_TEXTS, python_docs(25_000)[20_000:]])
def test_same_ids_as_hugging_face(ours, hf_tokenizer, text):
    assert ours.encode(text) == hf_tokenizer.encode(text)
    assert ours.decode(ours.encode(text)) == text


def test_vocabulary_and_end_of_text(ours, hf_tokenizer, hf_folder):
    assert ours.kind == "gpt2"
    assert ours.vocab_size == len(hf_tokenizer) == 600
    vocab = json.loads((hf_folder / "vocab.json").read_text(encoding="utf-8"))
    assert ours.end_of_text_id == vocab["<|endoftext|>"]
    assert ours.decode([ours.end_of_text_id]) == "<|endoftext|>"
    assert ours.token_label(ours.end_of_text_id, full=True) == "<|endoftext|>"
    # Typed by a user it is just text, never the special token.
    assert ours.end_of_text_id not in ours.encode("<|endoftext|>")
    space_the = vocab["Ġthe"]
    assert ours.token_bytes(space_the) == b" the" and ours.token_label(space_the) == "␣the"


@settings(max_examples=150, deadline=None)
@given(text=st.text())
def test_encode_then_decode_is_the_identity(ours, text):
    assert ours.decode(ours.encode(text)) == text


def test_tiktoken_ranks_file_gives_the_same_tokenizer_as_our_bpe(tmp_path):
    bpe = BPETokenizer.train(python_docs(10_000), vocab_size=400)
    lines = [f"{base64.b64encode(token).decode('ascii')} {rank}" for rank, token in enumerate(bpe.vocab)]
    (tmp_path / "gpt2.tiktoken").write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = load_gpt2_tokenizer(tmp_path)
    assert loaded.end_of_text_id == 400 and loaded.vocab_size == 401
    for text in [*VARIED_TEXTS, python_docs(12_000)[10_000:]]:
        assert loaded.encode(text) == bpe.encode(text)


def test_json_points_back_at_the_folder(ours, hf_folder):
    data = json.loads(json.dumps(ours.to_json()))
    assert data == {"type": "gpt2", "folder": str(hf_folder.resolve())}
    assert tokenizer_from_json(data).encode(VARIED_TEXTS[4]) == ours.encode(VARIED_TEXTS[4])


def test_nothing_reaches_the_network(hf_folder, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the tokenizer tried to open a network connection")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    tokenizer = load_gpt2_tokenizer(hf_folder)
    assert tokenizer.decode(tokenizer.encode("offline")) == "offline"


# ----- clear errors -------------------------------------------------------------------------------


def copy_files(source, target, names):
    for name in names:
        (target / name).write_bytes((source / name).read_bytes())


def test_missing_folder_or_files_say_what_to_provide(tmp_path, hf_folder):
    with pytest.raises(ValueError, match="is not a folder"):
        load_gpt2_tokenizer(tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"expected vocab.json and merges.txt .* or a \*.tiktoken ranks file"):
        load_gpt2_tokenizer(tmp_path)
    copy_files(hf_folder, tmp_path, ["vocab.json"])
    with pytest.raises(ValueError, match=r"merges.txt is missing"):
        load_gpt2_tokenizer(tmp_path)


@pytest.mark.parametrize(
    ("vocab_text", "message"),
    [
        ("{not json", r"vocab.json is not valid JSON"),
        ("[1, 2]", r"vocab.json should hold one JSON object"),
        ('{"a": 0}', r"vocab.json has no '<\|endoftext\|>' entry"),
        ('{"<|endoftext|>": 0, "a b": 1}', r"vocab.json: token 'a b' contains ' '"),
        ('{"<|endoftext|>": 0, "a": "one"}', r"vocab.json: the id of 'a' must be a whole number"),
        ('{"<|endoftext|>": 0, "a": 1}', r"vocab.json: the vocabulary lacks 255 single-byte tokens"),
    ],
)
def test_malformed_vocab_json_is_named(tmp_path, vocab_text, message):
    (tmp_path / "vocab.json").write_text(vocab_text, encoding="utf-8")
    (tmp_path / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_gpt2_tokenizer(tmp_path)


def test_merges_out_of_order_or_malformed_are_named(tmp_path, hf_folder):
    copy_files(hf_folder, tmp_path, ["vocab.json"])
    header, *merges = (hf_folder / "merges.txt").read_text(encoding="utf-8").splitlines()
    swapped = [header, merges[1], merges[0], *merges[2:]]
    (tmp_path / "merges.txt").write_text("\n".join(swapped), encoding="utf-8")
    with pytest.raises(ValueError, match=r"merges.txt, line 3: this merge makes id \d+, but an earlier line"):
        load_gpt2_tokenizer(tmp_path)
    (tmp_path / "merges.txt").write_text(header + "\nĠ t h\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"merges.txt, line 2: expected two tokens"):
        load_gpt2_tokenizer(tmp_path)


def test_malformed_tiktoken_file_names_the_line(tmp_path):
    lines = [f"{base64.b64encode(bytes([byte])).decode('ascii')} {byte}" for byte in range(256)]
    (tmp_path / "gpt2.tiktoken").write_text("\n".join(lines[:3] + ["!!! notbase64"] + lines[3:]), encoding="utf-8")
    with pytest.raises(ValueError, match=r"gpt2.tiktoken, line 4: expected '<token in base64> <rank>'"):
        load_gpt2_tokenizer(tmp_path)
    (tmp_path / "gpt2.tiktoken").write_text("\n".join(lines[:200]), encoding="utf-8")
    with pytest.raises(ValueError, match="lacks 56 single-byte tokens"):
        load_gpt2_tokenizer(tmp_path)
