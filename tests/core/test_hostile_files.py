"""Hostile and broken files at every place a user can open one: each gives a clear error and runs no code.

Places: a checkpoint folder (load_checkpoint), a session file (load_class_file), a GPT-2 folder (load_gpt2)
and a text file to train on (read_text_file). Each case starts from a good file, damages it one way,
and checks that opening it raises the module's error (a ValueError) whose message names the file and
the problem, and that the pickle payload (which creates a marker file when unpickled) never ran.
"""

import json
import os
import shutil
import zipfile

import pytest

from core.files.checkpoint import CheckpointError, load_checkpoint
from core.files.gpt2 import load_gpt2
from core.files.class_file import ClassFileError, load_class_file
from core.files.text_files import CorpusError, read_text_file
from core.training.token_arrays import check_corpus_length
from hostile_files import (
    MARKER_NAME,
    break_zip_member,
    code_pickle,
    flip_member_byte,
    inflate_member,
    put_in_place,
    tensor_file_breakages,
    write_checkpoint,
    write_gpt2_folder,
    write_session,
)

BREAKAGES = tensor_file_breakages(None)  # only the names and words; the marker is bound per test


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / MARKER_NAME
    yield path
    assert not path.exists(), "a pickle was unpickled: code from the file ran"


def test_the_payload_really_runs_code_when_unpickled(tmp_path):
    """The pickles below are live: plain unpickling creates the marker (so its absence later means something)."""
    import pickle

    pickle.loads(code_pickle(tmp_path / "proof", "plain"))
    assert (tmp_path / "proof").exists()


def expect(error_type, words, open_it):
    with pytest.raises(error_type) as raised:
        open_it()
    message = str(raised.value)
    missing = [word for word in words if word.lower() not in message.lower()]
    if missing:
        pytest.fail(f"{missing} not in the message {message!r}", pytrace=False)
    return message


# -- checkpoint folders ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory):
    return write_checkpoint(tmp_path_factory.mktemp("good") / "checkpoint")


@pytest.fixture
def checkpoint(good_checkpoint, tmp_path):
    return shutil.copytree(good_checkpoint, tmp_path / "checkpoint")


def test_the_good_checkpoint_loads(checkpoint):
    assert load_checkpoint(checkpoint).step == 1


@pytest.mark.parametrize("breakage", BREAKAGES)
@pytest.mark.parametrize("name", ["model.safetensors", "optimizer.safetensors"])
def test_a_broken_tensor_file_in_a_checkpoint(checkpoint, marker, name, breakage):
    path = checkpoint / name
    damage, words = tensor_file_breakages(marker)[breakage]
    path.write_bytes(damage(path.read_bytes()))
    expect(CheckpointError, (name, *words), lambda: load_checkpoint(checkpoint))


NAN = float("nan")


def meta_edit(key, value, *inner):
    """Set meta[key] (or meta[key][inner[0]]) to value."""

    def change(meta):
        target = meta[key] if inner else meta
        target[inner[0] if inner else key] = value

    return change


def meta_delete(key):
    return lambda meta: meta.pop(key)


META_CASES = {
    "format-newer": (meta_edit("format_version", 2), ("newer", "update")),
    "format-version-string": (meta_edit("format_version", "1"), ("format_version", "whole number")),
    "format-version-bool": (meta_edit("format_version", True), ("format_version",)),
    "format-version-nan": (meta_edit("format_version", NAN), ("format_version",)),
    "format-missing": (meta_delete("format"), ("not an attention lab checkpoint",)),
    "step-string": (meta_edit("step", "3"), ("step",)),
    "step-bool": (meta_edit("step", True), ("step",)),
    "step-negative": (meta_edit("step", -1), ("step",)),
    "step-float": (meta_edit("step", 1.5), ("step",)),
    "step-null": (meta_edit("step", None), ("step",)),
    "save-id-number": (meta_edit("save_id", 5), ("save_id",)),
    "files-an-object": (meta_edit("files", {}), ("files",)),
    "files-escape-the-folder": (meta_edit("files", ["model.safetensors", "../../x"]), ("files",)),
    "files-holding-lists": (meta_edit("files", ["model.safetensors", ["x"]]), ("files",)),
    "model-config-a-list": (meta_edit("model_config", []), ("model_config",)),
    "model-config-null": (meta_edit("model_config", None), ("model_config",)),
    "d-model-string": (meta_edit("model_config", "8", "d_model"), ("d_model",)),
    "n-layers-bool": (meta_edit("model_config", True, "n_layers"), ("n_layers",)),
    "n-heads-float": (meta_edit("model_config", 2.5, "n_heads"), ("n_heads",)),
    "n-heads-null": (meta_edit("model_config", None, "n_heads"), ("n_heads",)),
    "vocab-size-huge": (meta_edit("model_config", 10**12, "vocab_size"), ("checkpoint", "needs about")),
    "context-negative": (meta_edit("model_config", -8, "context_length"), ("context_length",)),
    "layer-norm-eps-nan": (meta_edit("model_config", NAN, "layer_norm_eps"), ("layer_norm_eps",)),
    "layer-norm-eps-negative": (meta_edit("model_config", -1.0, "layer_norm_eps"), ("layer_norm_eps",)),
    "layer-norm-eps-string": (meta_edit("model_config", "small", "layer_norm_eps"), ("layer_norm_eps",)),
    "dropout-nan": (meta_edit("model_config", NAN, "dropout"), ("dropout",)),
    "pos-encoding-number": (meta_edit("model_config", 3, "pos_encoding"), ("pos_encoding",)),
    "unknown-setting": (meta_edit("model_config", 4, "n_experts"), ("n_experts",)),
    "tokenizer-null": (meta_edit("tokenizer", None), ("tokenizer",)),
    "tokenizer-unknown-type": (meta_edit("tokenizer", {"type": "pickle"}), ("tokenizer", "type")),
    "chars-a-number": (meta_edit("tokenizer", {"type": "char", "chars": 123}), ("chars",)),
    "chars-repeated": (meta_edit("tokenizer", {"type": "char", "chars": "aab"}), ("repeat",)),
    "unknown-policy-a-list": (meta_edit("tokenizer", {"type": "char", "chars": "ab", "unknown": []}), ("unknown",)),
    "tokenizer-bigger-than-model": (
        meta_edit("tokenizer", {"type": "char", "chars": "abcdefghijklmnopqrstuvwxyz"}),
        ("tokens",),
    ),
    "bpe-merges-bools": (meta_edit("tokenizer", {"type": "bpe", "merges": [[True, False]]}), ("merge 0",)),
    "bpe-merges-a-string": (meta_edit("tokenizer", {"type": "bpe", "merges": "ab"}), ("merges",)),
    "bpe-pattern-broken": (meta_edit("tokenizer", {"type": "bpe", "merges": [], "pattern": "(["}), ("pattern",)),
    "gpt2-folder-missing": (meta_edit("tokenizer", {"type": "gpt2", "folder": "/no/such/folder"}), ("folder",)),
    "train-config-a-list": (meta_edit("train_config", []), ("train_config",)),
    "learning-rate-string": (meta_edit("train_config", "fast", "learning_rate"), ("learning_rate",)),
    "batch-size-bool": (meta_edit("train_config", True, "batch_size"), ("batch_size",)),
    "losses-a-string": (meta_edit("losses", "low"), ("losses",)),
    "loss-point-bool": (meta_edit("losses", {"train": [[True, 1.0]]}), ("losses",)),
    "loss-points-a-dict": (meta_edit("losses", {"train": {"1": 2.0}}), ("losses",)),
}


@pytest.mark.parametrize("case", META_CASES)
def test_wrong_metadata_in_a_checkpoint(checkpoint, case):
    change, words = META_CASES[case]
    meta = json.loads((checkpoint / "meta.json").read_text(encoding="utf-8"))
    change(meta)
    (checkpoint / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    expect(CheckpointError, words, lambda: load_checkpoint(checkpoint))


META_FILE_CASES = {
    "pickle": (lambda marker: code_pickle(marker, "plain"), ("meta.json", "not valid JSON")),
    "torch-pickle": (lambda marker: code_pickle(marker, "torch"), ("meta.json", "not valid JSON")),
    "empty": (lambda marker: b"", ("meta.json", "not valid JSON")),
    "not-utf8": (lambda marker: b'{"format": "\xff"}', ("meta.json", "not valid JSON")),
    "a-list": (lambda marker: b"[1, 2]", ("meta.json", "not an attention lab checkpoint")),
    "nested-100000-deep": (lambda marker: b"[" * 100_000 + b"]" * 100_000, ("meta.json",)),
}


@pytest.mark.parametrize("case", META_FILE_CASES)
def test_a_meta_json_that_is_not_json(checkpoint, marker, case):
    contents, words = META_FILE_CASES[case]
    (checkpoint / "meta.json").write_bytes(contents(marker))
    expect(CheckpointError, words, lambda: load_checkpoint(checkpoint))


@pytest.mark.parametrize("name", ["meta.json", "model.safetensors", "optimizer.safetensors"])
@pytest.mark.parametrize("replacement", ["folder", "symlink-loop", "link-to-dev-zero", "missing"])
def test_a_folder_or_a_link_loop_where_a_checkpoint_file_should_be(checkpoint, name, replacement):
    put_in_place(checkpoint / name, replacement)
    words = {
        "folder": "is a folder",
        "symlink-loop": "link",
        "link-to-dev-zero": "not an ordinary file",
        "missing": "no",
    }[replacement]
    expect(CheckpointError, (name, words), lambda: load_checkpoint(checkpoint))


@pytest.mark.parametrize("what", ["a-file", "missing", "symlink-loop"])
def test_a_checkpoint_that_is_not_a_folder(tmp_path, marker, what):
    path = tmp_path / "checkpoint"
    if what == "a-file":
        path.write_bytes(code_pickle(marker, "torch"))
    else:
        put_in_place(path, what)
    expect(CheckpointError, ("checkpoint", "not a folder"), lambda: load_checkpoint(path))


# -- session files --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def good_session(tmp_path_factory):
    return write_session(tmp_path_factory.mktemp("good") / "demo")


@pytest.fixture
def session_file(good_session, tmp_path):
    return shutil.copy(good_session, tmp_path / "demo.attnlab")


def test_the_good_session_opens(session_file):
    assert load_class_file(session_file).prompt == "abc"


WHOLE_SESSION_CASES = {
    "pickle": (lambda data, marker: code_pickle(marker, "plain"), ("not a zip",)),
    "torch-pickle": (lambda data, marker: code_pickle(marker, "torch"), ("session.json",)),  # a zip, but not ours
    "empty": (lambda data, marker: b"", ("not a zip",)),
    "zip-signature-then-garbage": (lambda data, marker: b"PK\x03\x04" + b"\x00" * 200, ("not a zip",)),
    "cut-at-100": (lambda data, marker: data[:100], ("not a zip",)),
    "cut-in-half": (lambda data, marker: data[: len(data) // 2], ("not a zip",)),
    "cut-end-record": (lambda data, marker: data[:-10], ("not a zip",)),
    "cut-last-byte": (lambda data, marker: data[:-1], ("not a zip",)),
    "member-data-flipped": (lambda data, marker: flip_member_byte(data, "checkpoint/model.safetensors"), ("damaged",)),
    "session-json-data-flipped": (lambda data, marker: flip_member_byte(data, "session.json"), ("damaged",)),
}


@pytest.mark.parametrize("case", WHOLE_SESSION_CASES)
def test_a_broken_session_file(session_file, marker, case):
    damage, words = WHOLE_SESSION_CASES[case]
    session_file.write_bytes(damage(session_file.read_bytes(), marker))
    expect(ClassFileError, ("demo.attnlab", *words), lambda: load_class_file(session_file))


MEMBERS = ["session.json", "checkpoint/meta.json", "checkpoint/model.safetensors", "timeline.safetensors"]


@pytest.mark.parametrize("member", MEMBERS)
@pytest.mark.parametrize("replacement", ["pickle", "torch-pickle", "empty", "missing"])
def test_a_session_member_replaced(session_file, marker, member, replacement):
    data = {
        "pickle": code_pickle(marker, "plain"),
        "torch-pickle": code_pickle(marker, "torch"),
        "empty": b"",
        "missing": None,
    }[replacement]
    break_zip_member(session_file, member, data)
    expect(ClassFileError, ("demo.attnlab", member.split("/")[-1]), lambda: load_class_file(session_file))


@pytest.mark.parametrize(
    "breakage", ["cut-in-data", "claims-more-data", "length-2**62", "header-not-json", "shape-bool", "offsets-reversed"]
)
@pytest.mark.parametrize("member", ["checkpoint/model.safetensors", "timeline.safetensors"])
def test_a_damaged_tensor_file_inside_a_session(session_file, marker, member, breakage):
    damage, _ = tensor_file_breakages(marker)[breakage]
    with zipfile.ZipFile(session_file) as archive:
        good = archive.read(member)
    break_zip_member(session_file, member, damage(good))
    expect(ClassFileError, ("demo.attnlab", member.split("/")[-1]), lambda: load_class_file(session_file))


BOMB_BYTES = 64 * 2**20  # 64 MiB of zeros squeezes into about 64 KiB


@pytest.mark.parametrize("member", MEMBERS + ["layout.bin"])
def test_a_zip_bomb_member_is_refused_before_it_is_unpacked(session_file, member):
    inflate_member(session_file, member, BOMB_BYTES)
    assert session_file.stat().st_size < BOMB_BYTES // 100
    expect(ClassFileError, ("demo.attnlab", member.split("/")[-1], "too large"), lambda: load_class_file(session_file))


def session_json_edit(key, value):
    def change(description):
        if value is DELETE:
            description.pop(key)
        else:
            description[key] = value

    return change


DELETE = object()
SESSION_JSON_CASES = {
    "format-newer": (session_json_edit("format_version", 2), ("newer", "update")),
    "format-version-string": (session_json_edit("format_version", "1"), ("format_version",)),
    "format-version-bool": (session_json_edit("format_version", True), ("format_version",)),
    "format-missing": (session_json_edit("format", DELETE), ("not an attention lab session",)),
    "prompt-a-number": (session_json_edit("prompt", 5), ("prompt",)),
    "prompt-null": (session_json_edit("prompt", None), ("prompt",)),
    "layer-string": (session_json_edit("layer", "1"), ("layer",)),
    "layer-bool": (session_json_edit("layer", True), ("layer",)),
    "layer-nan": (session_json_edit("layer", NAN), ("layer",)),
    "layer-negative": (session_json_edit("layer", -1), ("layer",)),
    "head-too-big": (session_json_edit("head", 10**9), ("head",)),
    "settings-a-list": (session_json_edit("settings", []), ("settings",)),
    "temperature-a-string": (session_json_edit("settings", {"temperature": "hot"}), ("temperature",)),
    "temperature-nan": (session_json_edit("settings", {"temperature": NAN}), ("temperature",)),
    "temperature-huge": (session_json_edit("settings", {"temperature": 1e300}), ("temperature",)),
    "dark-a-string": (session_json_edit("settings", {"dark": "no"}), ("dark",)),
    "source-a-list": (session_json_edit("settings", {"source": ["x"]}), ("source",)),
    "timeline-steps-bools": (session_json_edit("timeline_steps", [True, False]), ("timeline_steps",)),
    "timeline-steps-an-object": (session_json_edit("timeline_steps", {"0": 1}), ("timeline_steps",)),
    "timeline-steps-unlisted": (session_json_edit("timeline_steps", [0]), ("timeline.safetensors",)),
    "lesson-numbers": (session_json_edit("lesson", [1, 2]), ("lesson",)),
    "lesson-a-string": (session_json_edit("lesson", "02"), ("lesson",)),
}


@pytest.mark.parametrize("case", SESSION_JSON_CASES)
def test_wrong_values_in_session_json(session_file, case):
    change, words = SESSION_JSON_CASES[case]
    with zipfile.ZipFile(session_file) as archive:
        description = json.loads(archive.read("session.json"))
    change(description)
    break_zip_member(session_file, "session.json", json.dumps(description).encode("utf-8"))
    expect(ClassFileError, ("demo.attnlab", *words), lambda: load_class_file(session_file))


@pytest.mark.parametrize("member", ["session.json", "checkpoint/meta.json"])
def test_json_nested_too_deep_in_a_session(session_file, member):
    break_zip_member(session_file, member, b"[" * 100_000 + b"]" * 100_000)
    expect(ClassFileError, ("demo.attnlab", member.split("/")[-1]), lambda: load_class_file(session_file))


@pytest.mark.parametrize("what", ["folder", "symlink-loop", "missing"])
def test_a_session_path_that_is_not_a_file(tmp_path, what):
    path = tmp_path / "demo.attnlab"
    put_in_place(path, what)
    expect(ClassFileError, ("demo.attnlab", "not a file"), lambda: load_class_file(path))


# -- GPT-2 folders ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def good_gpt2(tmp_path_factory):
    return write_gpt2_folder(tmp_path_factory.mktemp("good") / "gpt2")


@pytest.fixture
def gpt2(good_gpt2, tmp_path):
    return shutil.copytree(good_gpt2, tmp_path / "gpt2")


def test_the_good_gpt2_folder_loads(gpt2):
    model, tokenizer = load_gpt2(gpt2)
    assert model.config.n_layers == 1 and tokenizer.vocab_size == 260


GPT2_WEIGHT_BREAKAGES = [
    "pickle",
    "torch-pickle",
    "empty",
    "cut-at-3",
    "cut-in-header",
    "cut-after-header",
    "cut-in-data",
    "cut-last-byte",
    "claims-more-data",
    "length-2**62",
    "length-negative",
    "length-zero",
    "header-not-json",
    "header-not-utf8",
    "header-a-list",
    "header-null",
    "dtype-a-number",
    "shape-a-string",
    "shape-negative",
    "offsets-reversed",
    "entry-a-list",
]


@pytest.mark.parametrize("breakage", GPT2_WEIGHT_BREAKAGES)
def test_a_broken_gpt2_safetensors_file(gpt2, marker, breakage):
    damage, _ = tensor_file_breakages(marker)[breakage]
    path = gpt2 / "model.safetensors"
    path.write_bytes(damage(path.read_bytes()))
    expect(ValueError, ("model.safetensors",), lambda: load_gpt2(gpt2))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")  # torch's own note on the refused file
@pytest.mark.parametrize("flavour", ["plain", "torch"])
def test_a_pickle_as_pytorch_model_bin_is_never_unpickled(gpt2, marker, flavour):
    (gpt2 / "model.safetensors").unlink()
    (gpt2 / "pytorch_model.bin").write_bytes(code_pickle(marker, flavour))
    expect(ValueError, ("pytorch_model.bin", "could not be read"), lambda: load_gpt2(gpt2))


@pytest.mark.parametrize("contents", [b"", b"PK\x03\x04broken"])
def test_a_broken_pytorch_model_bin(gpt2, contents):
    (gpt2 / "model.safetensors").unlink()
    (gpt2 / "pytorch_model.bin").write_bytes(contents)
    expect(ValueError, ("pytorch_model.bin", "could not be read"), lambda: load_gpt2(gpt2))


def config_edit(key, value):
    return lambda config: config.__setitem__(key, value)


GPT2_CONFIG_CASES = {
    "n-embd-string": (config_edit("n_embd", "8"), ("d_model",)),
    "n-layer-bool": (config_edit("n_layer", True), ("n_layers",)),
    "n-head-float": (config_edit("n_head", 2.5), ("n_heads",)),
    "n-positions-null": (config_edit("n_positions", None), ("context_length",)),
    "vocab-size-negative": (config_edit("vocab_size", -1), ("vocab_size",)),
    "epsilon-a-string": (config_edit("layer_norm_epsilon", "tiny"), ("layer_norm_epsilon",)),
    "epsilon-a-list": (config_edit("layer_norm_epsilon", [1e-5]), ("layer_norm_epsilon",)),
    "epsilon-nan": (config_edit("layer_norm_epsilon", NAN), ("layer_norm",)),
    "epsilon-negative": (config_edit("layer_norm_epsilon", -1.0), ("layer_norm",)),
    "n-inner-a-string": (config_edit("n_inner", "big"), ("d_mlp",)),
    "activation-a-number": (config_edit("activation_function", 5), ("activation",)),
    "model-type-llama": (config_edit("model_type", "llama"), ("llama",)),
    "tie-a-string": (config_edit("tie_word_embeddings", "false"), ("tie_word_embeddings",)),
}


@pytest.mark.parametrize("case", GPT2_CONFIG_CASES)
def test_wrong_values_in_gpt2_config_json(gpt2, case):
    change, words = GPT2_CONFIG_CASES[case]
    config = json.loads((gpt2 / "config.json").read_text(encoding="utf-8"))
    change(config)
    (gpt2 / "config.json").write_text(json.dumps(config), encoding="utf-8")
    expect(ValueError, ("config.json", *words), lambda: load_gpt2(gpt2))


GPT2_TEXT_FILE_CASES = {
    "pickle": lambda marker: code_pickle(marker, "plain"),
    "torch-pickle": lambda marker: code_pickle(marker, "torch"),
    "empty": lambda marker: b"",
    "a-list": lambda marker: b"[1, 2]",
    "nested-100000-deep": lambda marker: b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("case", GPT2_TEXT_FILE_CASES)
@pytest.mark.parametrize("name", ["config.json", "vocab.json"])
def test_a_gpt2_json_file_that_is_not_json(gpt2, marker, name, case):
    (gpt2 / name).write_bytes(GPT2_TEXT_FILE_CASES[case](marker))
    expect(ValueError, (name,), lambda: load_gpt2(gpt2))


VOCAB_ID_CASES = {"id-a-string": "7", "id-bool": True, "id-negative": -3, "id-float": 1.5, "id-null": None}


@pytest.mark.parametrize("case", VOCAB_ID_CASES)
def test_a_vocab_json_with_wrong_id_types(gpt2, case):
    vocab = json.loads((gpt2 / "vocab.json").read_text(encoding="utf-8"))
    vocab["Ġt"] = VOCAB_ID_CASES[case]
    (gpt2 / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    expect(ValueError, ("vocab.json", "whole number"), lambda: load_gpt2(gpt2))


@pytest.mark.parametrize("contents", ["pickle", "not-utf8", "three-tokens-on-a-line"])
def test_a_broken_merges_txt(gpt2, marker, contents):
    data = {
        "pickle": code_pickle(marker, "plain"),
        "not-utf8": b"\xff\xfe h e",
        "three-tokens-on-a-line": "#version: 0.2\nĠ t x\n".encode(),
    }[contents]
    (gpt2 / "merges.txt").write_bytes(data)
    expect(ValueError, ("merges.txt",), lambda: load_gpt2(gpt2))


@pytest.mark.parametrize("name", ["config.json", "model.safetensors", "vocab.json", "merges.txt"])
@pytest.mark.parametrize("replacement", ["folder", "symlink-loop"])
def test_a_folder_or_a_link_loop_where_a_gpt2_file_should_be(gpt2, name, replacement):
    put_in_place(gpt2 / name, replacement)
    expect(ValueError, (name,), lambda: load_gpt2(gpt2))


@pytest.mark.parametrize("what", ["a-file", "symlink-loop"])
def test_a_gpt2_folder_that_is_not_a_folder(tmp_path, marker, what):
    path = tmp_path / "gpt2"
    if what == "a-file":
        path.write_bytes(code_pickle(marker, "plain"))
    else:
        put_in_place(path, what)
    expect(ValueError, ("gpt2", "not a folder"), lambda: load_gpt2(path))


# -- a text file to train on ------------------------------------------------------------------------
def test_a_text_pickle_is_only_text(tmp_path, marker):
    """A protocol-0 pickle is plain ASCII: it reads as text, and the text is never unpickled."""
    import pickle

    from hostile_files import RunsCode

    path = tmp_path / "corpus.txt"
    path.write_bytes(pickle.dumps(RunsCode(marker), protocol=0))
    assert read_text_file(path) == path.read_text(encoding="ascii")


TEXT_FILE_CASES = {
    "pickle": (lambda marker: code_pickle(marker, "plain"), ("corpus.txt", "not valid UTF-8")),
    "torch-pickle": (lambda marker: code_pickle(marker, "torch"), ("corpus.txt", "not valid UTF-8")),
    "utf16": (lambda marker: "hello".encode("utf-16"), ("corpus.txt", "UTF-16")),
    "latin1": (lambda marker: "café".encode("latin-1"), ("corpus.txt", "offset 3")),
    "cut-character": (lambda marker: "€".encode()[:2], ("corpus.txt", "not valid UTF-8")),
}


@pytest.mark.parametrize("case", TEXT_FILE_CASES)
def test_a_text_file_that_is_not_utf8(tmp_path, marker, case):
    contents, words = TEXT_FILE_CASES[case]
    path = tmp_path / "corpus.txt"
    path.write_bytes(contents(marker))
    expect(CorpusError, words, lambda: read_text_file(path))


def test_an_empty_text_file_is_refused_for_training(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_bytes(b"")
    assert read_text_file(path) == ""
    expect(ValueError, ("empty",), lambda: check_corpus_length(0, 16))


@pytest.mark.parametrize("what", ["folder", "symlink-loop", "missing"])
def test_a_text_path_that_is_not_a_file(tmp_path, what):
    path = tmp_path / "corpus.txt"
    put_in_place(path, what)
    words = {"folder": "is a folder", "symlink-loop": "symbolic links", "missing": "no file"}[what]
    expect(CorpusError, ("corpus.txt", words), lambda: read_text_file(path))


@pytest.mark.skipif(os.name != "posix", reason="pipes and /dev/zero are POSIX")
@pytest.mark.parametrize("what", ["link-to-dev-zero", "named-pipe"])
def test_a_text_path_that_never_ends_or_never_answers(tmp_path, what):
    path = tmp_path / "corpus.txt"
    if what == "named-pipe":
        os.mkfifo(path)  # opening it for reading would wait for a writer forever
    else:
        put_in_place(path, what)  # reading it would never end
    expect(CorpusError, ("corpus.txt", "not an ordinary file"), lambda: read_text_file(path))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a user that file permissions apply to")
def test_an_unreadable_text_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("secret", encoding="utf-8")
    path.chmod(0)
    try:
        expect(CorpusError, ("corpus.txt", "permission"), lambda: read_text_file(path))
    finally:
        path.chmod(0o600)
