"""Hostile files, round two (issue 13): small files that declare something huge, made by the tests.

Each `make_*` function writes one case under a folder and returns (what opens it, the path). What opens
it is a name hostile_child.py knows: "checkpoint", "session", "gpt2", "gpt2-tokenizer", "text", "bpe-train",
"cli-train" or "cli-resume". CASES lists them all with words the refusal must hold; RELIABILITY.md's table
is measured from the same list (benchmarks/hostile_round_two.py).
"""

from __future__ import annotations

import base64
import json
import os
import struct
import zipfile
from pathlib import Path

import torch

from hostile_files import tiny_model, write_checkpoint, write_gpt2_folder, write_session

MIB = 2**20


# -- checkpoints: meta.json declares something else -------------------------------------------------
def rope_checkpoint(folder: Path) -> Path:
    """A checkpoint of a RoPE model: nothing in its weights depends on the context length."""
    from core.files.checkpoint import save_checkpoint
    from core.tokenizers import CharTokenizer

    tokenizer = CharTokenizer("abcdefgh .\n")
    model = tiny_model(vocab_size=tokenizer.vocab_size, pos_encoding="rope")
    return save_checkpoint(folder, model, tokenizer)


def edit_meta(folder: Path, change) -> Path:
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    change(meta)
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


def model_setting(**changes):
    return lambda meta: meta["model_config"].update(changes)


def bpe_merges(merges):
    return lambda meta: meta.update(tokenizer={"type": "bpe", "merges": merges})


def doubling_merges(n: int) -> list[list[int]]:
    """Each merge joins the last token with itself: token lengths 2, 4, 8, ... 2**n bytes."""
    return [[97, 97]] + [[256 + i, 256 + i] for i in range(n - 1)]


def chain_merges(n: int) -> list[list[int]]:
    """Each merge adds one byte to the last token: lengths 2, 3, ... n + 1 (1.3 MB of JSON for 100,000)."""
    return [[97, 97]] + [[256 + i, 97] for i in range(n - 1)]


def make_checkpoint(change, rope: bool = False):
    def make(folder: Path):
        checkpoint = (rope_checkpoint if rope else write_checkpoint)(folder / "checkpoint")
        return "checkpoint", edit_meta(checkpoint, change)

    return make


def make_nan_checkpoint(value: float, name: str = "transformer.h.0.attn.c_attn.bias"):
    def make(folder: Path):
        from safetensors.torch import load_file, save_file

        checkpoint = write_checkpoint(folder / "checkpoint")
        path = checkpoint / "model.safetensors"
        metadata = _metadata_of(path)
        tensors = load_file(str(path))
        tensors[name][0] = value
        save_file(tensors, str(path), metadata=metadata)
        return "checkpoint", checkpoint

    return make


def _metadata_of(path: Path) -> dict:
    with open(path, "rb") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        return json.loads(file.read(length)).get("__metadata__", {})


def make_million_key_header(folder: Path):
    """model.safetensors whose header lists 1,000,000 one-byte tensors (about 60 MB of JSON)."""
    checkpoint = write_checkpoint(folder / "checkpoint")
    path = checkpoint / "model.safetensors"
    header = {"__metadata__": _metadata_of(path)}
    header.update({f"t{i}": {"dtype": "U8", "shape": [1], "data_offsets": [i, i + 1]} for i in range(1_000_000)})
    text = json.dumps(header).encode("utf-8")
    path.write_bytes(struct.pack("<Q", len(text)) + text + bytes(1_000_000))
    return "checkpoint", checkpoint


# -- sessions ---------------------------------------------------------------------------------------
def make_session_meta(change):
    """A session whose checkpoint/meta.json is edited."""

    def make(folder: Path):
        path = write_session(folder / "demo")
        replace_member(path, "checkpoint/meta.json", lambda data: _edited_json(data, change))
        return "session", path

    return make


def _edited_json(data: bytes, change) -> bytes:
    meta = json.loads(data)
    change(meta)
    return json.dumps(meta).encode("utf-8")


def replace_member(path: Path, name: str, new_contents, packing=None) -> None:
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info.filename)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for info, contents in members:
            if info.filename == name:
                contents = new_contents(contents)
                if packing is not None:
                    info.compress_type = packing
            archive.writestr(info, contents)


def barely_compressible(n_bytes: int) -> bytes:
    """Bytes that deflate about 130:1, under the 200:1 a single member may reach."""
    block = os.urandom(1024) + bytes(150 * 1024)
    return (block * (n_bytes // len(block) + 1))[:n_bytes]


def make_session_under_ratio(n_bytes: int):
    """The weights member unpacks to `n_bytes` at about 130:1: under the per-member ratio guard."""

    def make(folder: Path):
        path = write_session(folder / "demo")
        replace_member(
            path, "checkpoint/model.safetensors", lambda data: barely_compressible(n_bytes), zipfile.ZIP_DEFLATED
        )
        return "session", path

    return make


class _SparseZeros:
    """A file object for zipfile that skips (seeks over) blocks of zeros instead of writing them."""

    def __init__(self, file) -> None:
        self.file = file

    def write(self, data: bytes) -> int:
        if len(data) >= MIB and not any(data[::4096]) and not data.strip(b"\x00"):
            self.file.seek(len(data), os.SEEK_CUR)
        else:
            self.file.write(data)
        return len(data)

    def __getattr__(self, name):
        return getattr(self.file, name)


def make_sparse_stored_member(n_bytes: int, member: str = "timeline.safetensors"):
    """A session whose `member` is `n_bytes` of zeros, stored (not packed) in a sparse file: a few KB on disk."""

    def make(folder: Path):
        path = write_session(folder / "demo")
        with zipfile.ZipFile(path) as archive:
            members = [(info, archive.read(info.filename)) for info in archive.infolist() if info.filename != member]
        with open(path, "wb") as raw, zipfile.ZipFile(_SparseZeros(raw), "w") as archive:
            for info, contents in members:
                archive.writestr(info, contents)
            with archive.open(zipfile.ZipInfo(member), "w", force_zip64=n_bytes >= 2**31) as stream:
                zeros = bytes(64 * MIB)
                for start in range(0, n_bytes, len(zeros)):
                    stream.write(zeros[: min(len(zeros), n_bytes - start)])
        return "session", path

    return make


# -- GPT-2 folders ----------------------------------------------------------------------------------
def make_gpt2_config(**changes):
    def make(folder: Path):
        gpt2 = write_gpt2_folder(folder / "gpt2")
        config = json.loads((gpt2 / "config.json").read_text(encoding="utf-8"))
        config.update(changes)
        (gpt2 / "config.json").write_text(json.dumps(config), encoding="utf-8")
        return "gpt2", gpt2

    return make


def make_gpt2_weights(change):
    """A GPT-2 folder whose model.safetensors is rewritten by `change(tensors)`."""

    def make(folder: Path):
        from safetensors.torch import load_file, save_file

        gpt2 = write_gpt2_folder(folder / "gpt2")
        tensors = load_file(str(gpt2 / "model.safetensors"))
        change(tensors)
        save_file(tensors, str(gpt2 / "model.safetensors"))
        return "gpt2", gpt2

    return make


def set_value(name: str, value: float):
    def change(tensors):
        tensors[name][0] = value

    return change


def as_dtype(name: str, dtype: torch.dtype):
    def change(tensors):
        tensors[name] = tensors[name].to(dtype)

    return change


def make_bin_zip_bomb(n_bytes: int):
    """pytorch_model.bin: the real torch.save zip plus a member of `n_bytes` zeros, deflated (about 1000:1)."""

    def make(folder: Path):
        from safetensors.torch import load_file

        gpt2 = write_gpt2_folder(folder / "gpt2")
        weights = gpt2 / "model.safetensors"
        torch.save(load_file(str(weights)), gpt2 / "pytorch_model.bin")
        weights.unlink()
        with zipfile.ZipFile(gpt2 / "pytorch_model.bin", "a") as archive:
            bomb = zipfile.ZipInfo("pytorch_model/data/99")
            bomb.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(bomb, "w", force_zip64=True) as stream:
                zeros = bytes(64 * MIB)
                for start in range(0, n_bytes, len(zeros)):
                    stream.write(zeros[: min(len(zeros), n_bytes - start)])
        return "gpt2", gpt2

    return make


def tiktoken_folder(folder: Path) -> Path:
    """A GPT-2 folder whose tokenizer is a *.tiktoken file instead of vocab.json and merges.txt."""
    gpt2 = write_gpt2_folder(folder / "gpt2")
    (gpt2 / "vocab.json").unlink()
    (gpt2 / "merges.txt").unlink()
    return gpt2


def make_tiktoken(what: str):
    def make(folder: Path):
        gpt2 = tiktoken_folder(folder)
        path = gpt2 / "r50k_base.tiktoken"
        if what == "named-pipe":
            os.mkfifo(path)
        elif what == "link-to-dev-zero":
            os.symlink("/dev/zero", path)
        elif what == "folder":
            path.mkdir()
        else:  # a rank of 2**32
            lines = [f"{base64.b64encode(bytes([b])).decode()} {b}" for b in range(256)]
            lines.append(f"{base64.b64encode(b'ab').decode()} {2**32}")
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return "gpt2", gpt2

    return make


def make_vocab_id(token_id: int):
    def make(folder: Path):
        gpt2 = write_gpt2_folder(folder / "gpt2")
        vocab = json.loads((gpt2 / "vocab.json").read_text(encoding="utf-8"))
        vocab["Ġthe"] = token_id
        (gpt2 / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
        return "gpt2", gpt2

    return make


# -- text to train on -------------------------------------------------------------------------------
def make_sparse_text(n_bytes: int, opener: str = "text"):
    """A file of `n_bytes` NUL bytes that takes no disk (sparse)."""

    def make(folder: Path):
        path = folder / "corpus.txt"
        with open(path, "wb") as file:
            file.truncate(n_bytes)
        return opener, path

    return make


def make_one_word(n_bytes: int, letters: str = "ACGT"):
    """One line with no spaces: a DNA sequence (the same every run), or one letter repeated."""

    def make(folder: Path):
        import random

        rng = random.Random(0)
        path = folder / "dna.txt"
        path.write_text("".join(rng.choice(letters) for _ in range(n_bytes)), encoding="ascii")
        return "bpe-train", path

    return make


def make_resume(change):
    def make(folder: Path):
        return "cli-resume", make_checkpoint(change)(folder)[1]

    return make


# name -> (how to make it, words a refusal holds (besides the file's name), may it open instead?)
CASES = {
    "context-20000-rope": (make_checkpoint(model_setting(context_length=20_000), rope=True), ("needs about",), True),
    "n-layers-10**9": (make_checkpoint(model_setting(n_layers=10**9)), ("layers",), False),
    "vocab-size-10**8": (make_checkpoint(model_setting(vocab_size=10**8)), ("needs about",), False),
    "merges-doubling-40": (make_checkpoint(bpe_merges(doubling_merges(40))), ("merge", "bytes"), False),
    "merges-chain-100000": (make_checkpoint(bpe_merges(chain_merges(100_000))), ("merge", "bytes"), False),
    "nan-in-a-bias": (make_nan_checkpoint(float("nan")), ("NaN", "c_attn.bias"), False),
    "inf-in-a-weight": (make_nan_checkpoint(float("inf"), "transformer.wte.weight"), ("infinite", "wte"), False),
    "header-1000000-keys": (make_million_key_header, ("header",), False),
    # Refused for its size, or (once the causal mask is built per forward) because the weights do not fit it.
    "session-context-20000": (make_session_meta(model_setting(context_length=20_000)), (), False),
    "session-merges-doubling": (make_session_meta(bpe_merges(doubling_merges(40))), ("merge", "bytes"), False),
    "session-weights-130:1": (make_session_under_ratio(256 * MIB), ("model.safetensors", "at most"), False),
    "session-2-GB-sparse-member": (make_sparse_stored_member(2 * 2**30), ("unpack",), False),
    "gpt2-n-positions-20000": (make_gpt2_config(n_positions=20_000), (), False),
    "gpt2-n-embd-8192": (make_gpt2_config(n_embd=8192), ("needs about",), False),
    "gpt2-vocab-size-10**8": (make_gpt2_config(vocab_size=10**8), ("needs about",), False),
    "gpt2-n-inner-10**8": (make_gpt2_config(n_inner=10**8), ("needs about",), False),
    "gpt2-n-layer-100000": (make_gpt2_config(n_layer=100_000), ("layers",), False),
    "gpt2-bin-zip-bomb": (make_bin_zip_bomb(512 * MIB), ("pytorch_model.bin", "unpack"), False),
    "gpt2-nan-in-a-bias": (
        make_gpt2_weights(set_value("transformer.h.0.ln_1.bias", float("nan"))),
        ("NaN", "ln_1.bias"),
        False,
    ),
    "gpt2-int8-weights": (
        make_gpt2_weights(as_dtype("transformer.h.0.mlp.c_fc.weight", torch.int8)),
        ("floats",),
        False,
    ),
    "gpt2-bool-weights": (make_gpt2_weights(as_dtype("transformer.wte.weight", torch.bool)), ("floats",), False),
    "tiktoken-named-pipe": (make_tiktoken("named-pipe"), ("r50k_base.tiktoken", "not an ordinary file"), False),
    "tiktoken-link-to-dev-zero": (
        make_tiktoken("link-to-dev-zero"),
        ("r50k_base.tiktoken", "not an ordinary file"),
        False,
    ),
    "tiktoken-a-folder": (make_tiktoken("folder"), ("r50k_base.tiktoken", "is a folder"), False),
    "tiktoken-rank-2**32": (make_tiktoken("rank-2**32"), ("r50k_base.tiktoken", "beyond any vocabulary"), False),
    "vocab-id-2**32": (make_vocab_id(2**32), ("vocab.json", "beyond any vocabulary"), False),
    "corpus-8-GB-sparse": (make_sparse_text(8 * 2**30), ("corpus.txt",), False),
    "cli-corpus-8-GB-sparse": (make_sparse_text(8 * 2**30, "cli-train"), ("corpus.txt",), False),
    "cli-resume-n-layers-10**9": (make_resume(model_setting(n_layers=10**9)), ("layers",), False),
    "bpe-one-1-MB-word": (make_one_word(1_000_000), (), True),
    "bpe-one-letter-1-MB": (make_one_word(1_000_000, "a"), (), True),
}
