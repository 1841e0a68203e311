"""Hostile and broken files, shared by tests/core/test_hostile_files.py and tests/app/test_hostile_files_window.py.

Every `break_*` function damages a good file or folder in one way; CASES tables list them with the
words the error must contain. A pickle here really runs code when unpickled: it creates `marker`.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import struct
import zipfile
from pathlib import Path

import torch

from core import GPT, GPTConfig
from core.files.gpt2 import CONV1D_WEIGHTS
from core.files.class_file import ClassFile, save_class_file
from core.tokenizers import CharTokenizer
from core.tokenizers.gpt2 import END_OF_TEXT, bytes_to_unicode

MARKER_NAME = "PAYLOAD-RAN"  # created in the test's folder if any pickle below is ever unpickled


class RunsCode:
    """Unpickling this calls open(marker, "w"): the file appearing proves code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def code_pickle(marker: Path, flavour: str) -> bytes:
    """A pickle whose loading creates `marker`: plain pickle, or torch.save's zip of one."""
    payload = {"transformer.wte.weight": RunsCode(marker)}
    if flavour == "plain":
        return pickle.dumps(payload)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


# -- good files to start from -----------------------------------------------------------------------
def tiny_model(seed: int = 0, vocab_size: int = 12, **changes) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=vocab_size, context_length=8, d_model=8, n_layers=1, n_heads=2, **changes)).eval()


def write_checkpoint(folder: Path) -> Path:
    """A checkpoint after one real training step: meta.json, model.safetensors and optimizer.safetensors."""
    import numpy as np

    from core.files.checkpoint import save_trainer
    from core.training.dataset import TokenDataset
    from core.training.trainer import Trainer, TrainConfig

    tokenizer = CharTokenizer("abcdefgh .\n")
    ids = np.array(tokenizer.encode("abc defgh.\n" * 20), dtype=np.uint16)
    config = TrainConfig(
        max_steps=4,
        batch_size=2,
        context_length=8,
        warmup_steps=1,
        eval_interval=0,
        sample_interval=0,
        snapshot_interval=0,
        seed=1,
    )
    trainer = Trainer(tiny_model(vocab_size=tokenizer.vocab_size), TokenDataset(ids, 0.1), config, tokenizer)
    trainer.step()
    return save_trainer(folder, trainer)


def write_session(path: Path) -> Path:
    tokenizer = CharTokenizer("abcdefgh .\n")
    timeline = tuple((step, {"transformer.wte.weight": torch.full((2, 2), float(step))}) for step in (0, 5))
    return save_class_file(
        path,
        ClassFile(
            tiny_model(vocab_size=tokenizer.vocab_size),
            tokenizer,
            prompt="abc",
            layer=0,
            head=1,
            layout=b"layout",
            geometry=b"geometry",
            step=5,
            timeline=timeline,
            settings={"temperature": 0.7},
        ),
    )


def write_gpt2_folder(folder: Path) -> Path:
    """config.json, model.safetensors (Hugging Face's names, Conv1D layout), vocab.json and merges.txt."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    model = tiny_model(vocab_size=260)
    config = model.config
    (folder / "config.json").write_text(
        json.dumps(
            {
                "model_type": "gpt2",
                "n_layer": config.n_layers,
                "n_head": config.n_heads,
                "n_embd": config.d_model,
                "vocab_size": config.vocab_size,
                "n_positions": config.context_length,
            }
        ),
        encoding="utf-8",
    )
    weights = {}
    for name, value in model.state_dict().items():
        if name != "lm_head.weight":
            weights[name] = (value.T if name.endswith(CONV1D_WEIGHTS) else value).contiguous()
    save_file(weights, str(folder / "model.safetensors"))
    spelling = bytes_to_unicode()
    vocab = {spelling[byte]: byte for byte in range(256)}
    vocab.update({"Ġt": 256, "he": 257, "Ġthe": 258, END_OF_TEXT: 259})
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\nĠ t\nh e\nĠt he\n", encoding="utf-8")
    return folder


# -- ways to break a file -------------------------------------------------------------------------
def header_of(data: bytes) -> tuple[dict, bytes]:
    """(header dict, tensor bytes) of a safetensors file's contents."""
    (length,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + length]), data[8 + length :]


def with_header(header, body: bytes = b"", raw: bytes | None = None, length: int | None = None) -> bytes:
    """A safetensors-like file: 8-byte length, header (JSON of `header`, or `raw` bytes), then `body`."""
    text = raw if raw is not None else json.dumps(header).encode("utf-8")
    return struct.pack("<Q", len(text) if length is None else length) + text + body


def edit_header(data: bytes, change) -> bytes:
    header, body = header_of(data)
    change(header)
    return with_header(header, body)


def claim_more_data(header: dict) -> None:
    """The first tensor that has dimensions claims a shape 1000 times larger, and the bytes for it."""
    entry = next(value for key, value in header.items() if key != "__metadata__" and value["shape"])
    entry["shape"] = [entry["shape"][0] * 1000, *entry["shape"][1:]]
    begin, end = entry["data_offsets"]
    entry["data_offsets"] = [begin, begin + (end - begin) * 1000]


def first_entry(change):
    def edit(header: dict) -> None:
        change(header[next(key for key in header if key != "__metadata__")])

    return edit


def tensor_file_breakages(marker: Path) -> dict[str, tuple]:
    """name -> (how to turn good bytes into bad ones, words the error must contain)."""
    return {
        "pickle": (lambda data: code_pickle(marker, "plain"), ("not a safetensors file",)),
        "torch-pickle": (lambda data: code_pickle(marker, "torch"), ("not a safetensors file",)),
        "empty": (lambda data: b"", ("empty",)),
        "cut-at-3": (lambda data: data[:3], ("truncated",)),
        "cut-in-header": (lambda data: data[:40], ("truncated",)),
        "cut-after-header": (lambda data: data[: 8 + struct.unpack("<Q", data[:8])[0]], ("truncated",)),
        "cut-in-data": (lambda data: data[: len(data) - len(data) // 3], ("truncated",)),
        "cut-last-byte": (lambda data: data[:-1], ("truncated",)),
        "claims-more-data": (lambda data: edit_header(data, claim_more_data), ("truncated",)),
        "length-2**62": (lambda data: struct.pack("<Q", 2**62) + data[8:], ("not a safetensors file",)),
        "length-negative": (lambda data: struct.pack("<q", -8) + data[8:], ("not a safetensors file",)),
        "length-zero": (lambda data: struct.pack("<Q", 0) + data[8:], ("not a safetensors file",)),
        "header-not-json": (lambda data: with_header(None, raw=b"{not json!"), ("not a safetensors file",)),
        "header-not-utf8": (lambda data: with_header(None, raw=b"\xff\xfe\x00"), ("not a safetensors file",)),
        "header-a-list": (lambda data: with_header([1, 2, 3]), ("not a safetensors file",)),
        "header-null": (lambda data: with_header(None, raw=b"null"), ("not a safetensors file",)),
        "header-a-string": (lambda data: with_header("weights"), ("not a safetensors file",)),
        "dtype-a-number": (lambda data: edit_header(data, first_entry(lambda e: e.update(dtype=4))), ("damaged",)),
        "dtype-a-list": (lambda data: edit_header(data, first_entry(lambda e: e.update(dtype=["F32"]))), ("damaged",)),
        "dtype-unknown": (lambda data: edit_header(data, first_entry(lambda e: e.update(dtype="F128"))), ("damaged",)),
        "shape-a-string": (lambda data: edit_header(data, first_entry(lambda e: e.update(shape="12"))), ("damaged",)),
        "shape-negative": (
            lambda data: edit_header(data, first_entry(lambda e: e.update(shape=[-1, 8]))),
            ("damaged",),
        ),
        "shape-bool": (lambda data: edit_header(data, first_entry(lambda e: e.update(shape=[True, 8]))), ("damaged",)),
        "shape-float": (lambda data: edit_header(data, first_entry(lambda e: e.update(shape=[12.0, 8]))), ("damaged",)),
        "offsets-strings": (
            lambda data: edit_header(
                data, first_entry(lambda e: e.update(data_offsets=[str(v) for v in e["data_offsets"]]))
            ),
            ("damaged",),
        ),
        "offsets-reversed": (
            lambda data: edit_header(data, first_entry(lambda e: e.update(data_offsets=e["data_offsets"][::-1]))),
            ("claims shape",),
        ),
        "offsets-null": (
            lambda data: edit_header(data, first_entry(lambda e: e.update(data_offsets=None))),
            ("damaged",),
        ),
        "entry-a-list": (
            lambda data: edit_header(data, lambda h: h.update({next(k for k in h if k != "__metadata__"): [1, 2]})),
            ("damaged",),
        ),
    }


def break_zip_member(path: Path, member: str, data: bytes | None) -> None:
    """Rewrite the zip at `path` with `member` replaced by `data` (None: left out)."""
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info.filename)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for info, contents in members:
            if info.filename == member:
                if data is None:
                    continue
                contents = data
            archive.writestr(info, contents)


def put_in_place(path: Path, what: str) -> None:
    """Something other than a good file at `path`: "folder", "symlink-loop" (a link to itself),
    "link-to-dev-zero" (a file that never ends) or "missing"."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    if what == "folder":
        path.mkdir()
    elif what == "symlink-loop":
        os.symlink(path.name, path)  # opening it fails: too many levels of symbolic links
    elif what == "link-to-dev-zero":
        os.symlink("/dev/zero", path)
    elif what != "missing":
        raise ValueError(f"put_in_place does not know {what!r}")


def flip_member_byte(data: bytes, member: str) -> bytes:
    """The zip `data` with one byte inside `member`'s stored data changed (its CRC no longer matches)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(member)
    # a local header is 30 bytes + name + extra; the (possibly compressed) data follows
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    position = info.header_offset + 30 + name_length + extra_length + info.compress_size // 2
    return data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1 :]


def inflate_member(path: Path, member: str, n_bytes: int) -> None:
    """A zip bomb: `member` becomes `n_bytes` zeros, deflated (64 MiB pack into about 64 KiB)."""
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info.filename)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for info, contents in members:
            if info.filename == member:
                info.compress_type, contents = zipfile.ZIP_DEFLATED, b"\x00" * n_bytes
            archive.writestr(info, contents)
