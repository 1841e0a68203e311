"""Reading a safetensors file's header without trusting it: every entry, size and shape checked
against the file and against the model the checkpoint's config describes, before any tensor is read."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

from core.files.checkpoint_format import (
    DTYPE_SIZES,
    HEADER_BYTES_PER_TENSOR,
    HEADER_SLACK_BYTES,
    META_FILE,
    MODEL_FILE,
    CheckpointError,
)
from core.files.json_values import is_whole_number
from core.model.config import GPTConfig
from core.model.footprint import meta_model


def read_safetensors_header(path: Path, metadata: bool = False, max_tensors: int | None = None) -> dict:
    """The tensor table of a safetensors file (or its __metadata__), checked against the file's size.
    With `max_tensors`, a header too long to describe only that many tensors is refused unread."""
    size = path.stat().st_size
    with open(path, "rb") as file:
        first = file.read(8)
        if len(first) < 8:
            raise CheckpointError(f"{path.name} is truncated or empty ({size} bytes): it has no header.")
        (header_length,) = struct.unpack("<Q", first)
        if header_length > min(size - 8, 100_000_000):
            raise CheckpointError(
                f"{path.name} is not a safetensors file, or it is truncated (its header runs past the end)."
            )
        if max_tensors is not None and header_length > HEADER_SLACK_BYTES + max_tensors * HEADER_BYTES_PER_TENSOR:
            raise CheckpointError(
                f"{path.name} has a {header_length:,}-byte header, far longer than the {max_tensors:,} tensors of "
                f"this model need: the file is damaged or belongs to a different model."
            )
        try:
            header = json.loads(file.read(header_length))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise CheckpointError(f"{path.name} is not a safetensors file (its header is not JSON).") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path.name} is not a safetensors file (its header is not a table).")
    extra = header.pop("__metadata__", None) or {}
    if max_tensors is not None and len(header) > max_tensors + 16:  # + the counters of a training state
        raise CheckpointError(f"{path.name} holds {len(header):,} tensors, but this model has {max_tensors:,}.")
    if metadata:
        return extra if isinstance(extra, dict) else {}
    data_length = 0
    for name, entry in header.items():
        _check_header_entry(path, name, entry)
        data_length = max(data_length, entry["data_offsets"][1])
    if size != 8 + header_length + data_length:
        raise CheckpointError(
            f"{path.name} is truncated or damaged: its header describes {8 + header_length + data_length:,} bytes "
            f"but the file has {size:,}."
        )
    return header


def _check_header_entry(path: Path, name: str, entry) -> None:
    ok = (
        isinstance(entry, dict)
        and isinstance(entry.get("dtype"), str)
        and entry["dtype"] in DTYPE_SIZES
        and isinstance(entry.get("shape"), list)
        and all(is_whole_number(d) and d >= 0 for d in entry["shape"])
        and isinstance(entry.get("data_offsets"), list)
        and len(entry["data_offsets"]) == 2
        and all(is_whole_number(d) for d in entry["data_offsets"])
    )
    if not ok:
        raise CheckpointError(f"{path.name}: the entry for {name!r} is damaged or uses an unsupported type.")
    begin, end = entry["data_offsets"]
    if end - begin != math.prod(entry["shape"]) * DTYPE_SIZES[entry["dtype"]] or begin < 0:
        raise CheckpointError(f"{path.name}: {name!r} claims shape {entry['shape']} but holds {end - begin} bytes.")


def expected_weight_shapes(config: GPTConfig) -> dict[str, tuple]:
    """The tensors model.safetensors must hold for this config: the state dict of the model built on
    the "meta" device (shapes, no memory), so every setting of the config is followed with no code here.
    Check the footprint first (check_model_fits): building even a meta model takes time per layer."""
    shapes = {name: tuple(tensor.shape) for name, tensor in meta_model(config).state_dict().items()}
    if config.tie_embeddings:
        shapes.pop("lm_head.weight", None)  # stored once, as the embedding
    return shapes


def check_model_shapes(header: dict, expected: dict[str, tuple], config: GPTConfig) -> None:
    settings = (
        f"d_model={config.d_model}, n_layers={config.n_layers}, n_heads={config.n_heads}, "
        f"vocab_size={config.vocab_size}, context_length={config.context_length}"
    )
    missing = [name for name in expected if name not in header]
    if missing:
        raise CheckpointError(f"{MODEL_FILE} has no tensor {missing[0]!r}, which the config ({settings}) needs.")
    unexpected = [name for name in header if name not in expected]
    if unexpected:
        raise CheckpointError(
            f"{MODEL_FILE} holds {unexpected[0]!r}, which a model with the config ({settings}) does not have."
        )
    for name, shape in expected.items():
        found = tuple(header[name]["shape"])
        if found != shape:
            raise CheckpointError(
                f"{MODEL_FILE}: {name} has shape {found}, but the config in {META_FILE} ({settings}) needs {shape}."
            )
        if not header[name]["dtype"].startswith(("F", "BF")):
            raise CheckpointError(f"{MODEL_FILE}: {name} holds {header[name]['dtype']} values; weights must be floats.")


def largest_model_file(config: GPTConfig) -> int:
    """The most bytes model.safetensors can take for this config: every weight as an 8-byte float, and
    the longest header allowed. A file (or a zip member) claiming more is not this model's."""
    shapes = expected_weight_shapes(config)
    values = sum(math.prod(shape) for shape in shapes.values())
    return 8 + HEADER_SLACK_BYTES + len(shapes) * HEADER_BYTES_PER_TENSOR + max(DTYPE_SIZES.values()) * values


def data_bytes(header: dict) -> int:
    """Bytes of tensor data a checked safetensors header describes."""
    return sum(end - begin for begin, end in (entry["data_offsets"] for entry in header.values()))
