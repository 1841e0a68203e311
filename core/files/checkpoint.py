"""Saving a model (and its training) to a folder, and loading it back safely.

A checkpoint folder holds
    model.safetensors      the weights (a tied output matrix is stored once, as the embedding)
    optimizer.safetensors  AdamW's moments, the batch sampler's state and the counters (for exact resume)
    meta.json              format version, model config, tokenizer (with its merges), training config,
                           step, loss history, and the id of the save the tensor files belong to

Safe to write: every file goes to a temporary name in the same folder, is flushed to disk, then renamed
over the old one; the previous tensor files stay as `*.prev` until the new meta.json is in place. A
crash at any moment leaves a folder that loads (the old checkpoint or the new one).
Safe to read: nothing is unpickled; every header, shape and setting is checked before anything is built.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import struct
import uuid
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as safetensors_bytes

from core.model.config import GPTConfig
from core.model.footprint import check_fits, check_model_fits, meta_model
from core.files.json_values import is_number, is_whole_number
from core.model.model import GPT
from core.files.text_files import missing_file_sentence
from core.tokenizers import Tokenizer, tokenizer_from_json
from core.files.weights_check import check_finite
from core.training.trainer import TrainConfig, check_training_state
from core.files.safe_write import explain_write_failure

FORMAT_NAME = "attention-lab-checkpoint"
FORMAT_VERSION = 1
MODEL_FILE = "model.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
META_FILE = "meta.json"
SAVE_ID_KEY = "save_id"  # stored in each tensor file's header and in meta.json: they must agree
# Bytes per element of the safetensors dtypes we can read.
DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
# Header bytes one tensor's entry may take ({"dtype": ..., "shape": [...], "data_offsets": [...]} and its
# name): a header far longer than the tensors the model has is refused before it is parsed.
HEADER_BYTES_PER_TENSOR = 1024
HEADER_SLACK_BYTES = 64 * 1024        # __metadata__ and the counters of a training state
MAX_META_BYTES = 100_000_000         # meta.json: settings, a tokenizer's merges and the loss history


class CheckpointError(ValueError):
    """The folder is not a checkpoint this version can load; the message says what is wrong."""


class CheckpointSaveError(CheckpointError, OSError):
    """The checkpoint could not be written (disk full, folder not writable...); the message says what to do.
    Also an OSError, since that is what it is underneath; nothing the folder held before was changed."""


@dataclass(frozen=True)
class Checkpoint:
    model: GPT                         # the model, weights loaded, in eval mode on the CPU
    tokenizer: Tokenizer               # the tokenizer it was trained with
    train_config: TrainConfig | None   # how it was being trained (None if not saved)
    step: int                          # optimizer steps the weights had received
    losses: dict | None                # {"train": [[step, loss], ...], "val": [[step, loss], ...]}
    optimizer_state: dict | None       # tensors for Trainer.load_training_state, or None

    @property
    def config(self) -> GPTConfig:
        return self.model.config


# -- saving -----------------------------------------------------------------------------------------
def save_checkpoint(folder, model: GPT, tokenizer: Tokenizer, train_config: TrainConfig | None = None,
                    trainer_state: dict[str, torch.Tensor] | None = None, step: int = 0,
                    losses: dict | None = None) -> Path:
    """Write the checkpoint into `folder` (created if needed); returns the folder.
    Raises CheckpointSaveError, with a sentence, if the disk is full or the folder cannot be written."""
    folder = Path(folder)
    tensor_files, meta_bytes, save_id = _checkpoint_contents(model, tokenizer, train_config, trainer_state, step, losses)
    try:
        _write_checkpoint_files(folder, tensor_files, meta_bytes, save_id)
    except OSError as error:
        raise CheckpointSaveError(explain_write_failure(error, folder, "the checkpoint")) from error
    return folder


def checkpoint_bytes(model: GPT, tokenizer: Tokenizer, step: int = 0, losses: dict | None = None) -> dict[str, bytes]:
    """A weights-only checkpoint as {file name: contents}, in memory: for packing inside another file
    (a session) without writing a temporary folder first."""
    tensor_files, meta_bytes, save_id = _checkpoint_contents(model, tokenizer, None, None, step, losses)
    return {META_FILE: meta_bytes,
            MODEL_FILE: safetensors_bytes(tensor_files[MODEL_FILE], metadata={SAVE_ID_KEY: save_id})}


def _checkpoint_contents(model, tokenizer, train_config, trainer_state, step, losses):
    """(tensor files {name: tensors}, meta.json bytes, the save id they share)."""
    save_id = uuid.uuid4().hex
    tensor_files = {MODEL_FILE: _model_tensors(model)}
    if trainer_state is not None:
        tensor_files[OPTIMIZER_FILE] = {k: v.detach().cpu().contiguous() for k, v in trainer_state.items()}
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        SAVE_ID_KEY: save_id,
        "model_config": model.config.to_dict(),
        "tokenizer": tokenizer.to_json(),
        "train_config": train_config.to_dict() if train_config is not None else None,
        "step": int(step),
        "losses": losses,
        "files": sorted(tensor_files),
    }
    return tensor_files, json.dumps(meta, indent=1).encode("utf-8"), save_id


def _write_checkpoint_files(folder: Path, tensor_files: dict[str, dict], meta_bytes: bytes, save_id: str) -> None:
    """Temporary files first, then renames, meta.json last: a crash at any moment leaves a loadable folder."""
    folder.mkdir(parents=True, exist_ok=True)
    committed_id = _committed_save_id(folder)
    for stale in folder.glob(".*.tmp"):  # left behind by a save that was killed
        if stale.name.startswith(tuple(f".{name}." for name in (MODEL_FILE, OPTIMIZER_FILE, META_FILE))):
            stale.unlink(missing_ok=True)
    temporary: dict[str, Path] = {}
    try:
        # 1. everything to temporary files (the slow part: the old checkpoint is untouched meanwhile)
        for name, tensors in tensor_files.items():
            temporary[name] = _write_temporary(folder, name, safetensors_bytes(tensors, metadata={SAVE_ID_KEY: save_id}))
        temporary[META_FILE] = _write_temporary(folder, META_FILE, meta_bytes)
        # 2. keep the committed tensor files as *.prev, put the new ones in place, commit with meta.json last
        for name in tensor_files:
            if committed_id is not None and _save_id_of(folder / name) == committed_id:
                os.replace(folder / name, folder / f"{name}.prev")
            os.replace(temporary[name], folder / name)
            del temporary[name]
        os.replace(temporary[META_FILE], folder / META_FILE)
        del temporary[META_FILE]
    finally:
        for leftover in temporary.values():
            leftover.unlink(missing_ok=True)
    _sync_folder(folder)
    for name in (MODEL_FILE, OPTIMIZER_FILE):
        (folder / f"{name}.prev").unlink(missing_ok=True)
    if OPTIMIZER_FILE not in tensor_files:  # an optimizer file from an older save no longer belongs here
        (folder / OPTIMIZER_FILE).unlink(missing_ok=True)


def _committed_save_id(folder: Path) -> str | None:
    """The save id in the folder's current meta.json, if it has a readable one."""
    try:
        return json.loads((folder / META_FILE).read_text(encoding="utf-8")).get(SAVE_ID_KEY)
    except (OSError, ValueError, AttributeError, RecursionError):
        return None


def _save_id_of(path: Path, max_tensors: int | None = None) -> str | None:
    try:
        return read_safetensors_header(path, metadata=True, max_tensors=max_tensors).get(SAVE_ID_KEY)
    except (OSError, CheckpointError):
        return None


def _model_tensors(model: GPT) -> dict[str, torch.Tensor]:
    tensors = {name: t.detach().cpu().contiguous() for name, t in model.state_dict().items()}
    if model.config.tie_embeddings:
        tensors.pop("lm_head.weight", None)  # the same matrix as transformer.wte.weight: stored once
    return tensors


def _write_temporary(folder: Path, name: str, data: bytes) -> Path:
    """Write `data` to a fresh temporary file beside `name` and flush it to the disk."""
    path = folder / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with open(path, "wb") as file:
            _write_all(file, data)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _write_all(file, data: bytes) -> None:
    file.write(data)


def _sync_folder(folder: Path) -> None:
    """Make the renames themselves durable (a no-op where folders cannot be opened, e.g. Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# -- loading ----------------------------------------------------------------------------------------
def load_checkpoint(folder, device: str | torch.device = "cpu") -> Checkpoint:
    """Read and check a checkpoint folder, then build the model. Raises CheckpointError on any problem."""
    folder = Path(folder)
    try:
        return _load_checkpoint(folder, device)
    except MemoryError:  # the estimate was passed, yet memory ran out (other programs took it meanwhile)
        raise CheckpointError(f"This computer ran out of memory while opening the checkpoint in {folder}; "
                              "close other programs, or open a smaller model.") from None


def _load_checkpoint(folder: Path, device) -> Checkpoint:
    meta = read_meta(folder)
    config = _model_config(meta)
    _check_model_fits(config, folder)
    tokenizer = _tokenizer(meta, config)
    train_config = _train_config(meta)
    step = meta["step"]
    if not is_whole_number(step) or step < 0:
        raise CheckpointError(f"meta.json: 'step' must be a whole number of 0 or more, not {step!r}.")
    losses = _losses(meta.get("losses"))

    expected_shapes = expected_weight_shapes(config)
    model_path = _file_of_this_save(folder, MODEL_FILE, meta[SAVE_ID_KEY], len(expected_shapes))
    header = read_safetensors_header(model_path, max_tensors=len(expected_shapes))
    _check_model_shapes(header, expected_shapes, config)
    optimizer_path = None
    if OPTIMIZER_FILE in meta["files"]:
        # AdamW keeps two moments per weight, beside a few counters.
        optimizer_path = _file_of_this_save(folder, OPTIMIZER_FILE, meta[SAVE_ID_KEY], 2 * len(expected_shapes))
        optimizer_header = read_safetensors_header(optimizer_path, max_tensors=2 * len(expected_shapes))
        try:
            # Every stored model tensor is a parameter (buffers are rebuilt, not stored).
            check_training_state({k: tuple(v["shape"]) for k, v in optimizer_header.items()}, expected_shapes)
        except ValueError as error:
            raise CheckpointError(f"{OPTIMIZER_FILE}: {error}") from None

    # Everything checked: now build (the weights are read, then copied into the model: twice their size).
    _check_fits_in_memory(folder, 2 * _data_bytes(header) + (_data_bytes(optimizer_header) if optimizer_path else 0))
    weights = _read_tensors(model_path)
    try:
        check_finite(weights, str(model_path))
    except ValueError as error:
        raise CheckpointError(str(error)) from None
    model = GPT(config)
    if config.tie_embeddings:
        weights["lm_head.weight"] = weights["transformer.wte.weight"]
    model.load_state_dict(weights)
    model.to(device).eval()
    optimizer_state = _read_tensors(optimizer_path) if optimizer_path else None
    return Checkpoint(model, tokenizer, train_config, step, losses, optimizer_state)


def read_model_config(folder: Path, what: str | None = None) -> GPTConfig:
    """The model config in the folder's meta.json, checked to fit this machine; nothing else is read.
    `what` names the model in the sentence (default: "the checkpoint in FOLDER")."""
    config = _model_config(read_meta(folder))
    _check_model_fits(config, folder, what)
    return config


def largest_model_file(config: GPTConfig) -> int:
    """The most bytes model.safetensors can take for this config: every weight as an 8-byte float, and
    the longest header allowed. A file (or a zip member) claiming more is not this model's."""
    shapes = expected_weight_shapes(config)
    values = sum(math.prod(shape) for shape in shapes.values())
    return 8 + HEADER_SLACK_BYTES + len(shapes) * HEADER_BYTES_PER_TENSOR + max(DTYPE_SIZES.values()) * values


def _data_bytes(header: dict) -> int:
    """Bytes of tensor data a checked safetensors header describes."""
    return sum(end - begin for begin, end in (entry["data_offsets"] for entry in header.values()))


def _check_fits_in_memory(folder: Path, needed: int) -> None:
    try:
        check_fits(needed, f"the model in {folder}")
    except ValueError as error:
        raise CheckpointError(str(error)) from None


def _check_model_fits(config: GPTConfig, folder: Path, what: str | None = None) -> None:
    """The model meta.json declares must fit this machine: checked before its shapes are even listed."""
    try:
        check_model_fits(config, what or f"the checkpoint in {folder}")
    except ValueError as error:
        raise CheckpointError(str(error)) from None


def read_meta(folder: Path) -> dict:
    """meta.json, parsed and checked for the fields every format-1 checkpoint has."""
    if not folder.is_dir():
        raise CheckpointError(f"{folder} is not a folder; a checkpoint is a folder holding {META_FILE} and {MODEL_FILE}.")
    path = folder / META_FILE
    if not path.is_file():
        missing = f"{folder} is not a checkpoint: it has no {META_FILE}."
        raise CheckpointError(missing_file_sentence(path, missing))
    if path.stat().st_size > MAX_META_BYTES:
        raise CheckpointError(f"{path} is {path.stat().st_size:,} bytes, far larger than a checkpoint's {META_FILE}; "
                              "the file is damaged or not a checkpoint's.")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise CheckpointError(f"{path} is not valid JSON ({error}); the file is damaged or not a checkpoint's.") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path} is not an Attention Lab checkpoint's meta.json (no \"format\": \"{FORMAT_NAME}\").")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise CheckpointError(f"{path}: 'format_version' must be a whole number, not {version!r}.")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"The checkpoint {folder.name} has format version {version}, written by a newer Attention Lab; this "
            f"version reads up to {FORMAT_VERSION}. Update Attention Lab to open it."
        )
    kinds = {SAVE_ID_KEY: str, "model_config": dict, "tokenizer": dict, "step": int, "files": list}
    for key, kind in kinds.items():
        if not isinstance(meta.get(key), kind):
            raise CheckpointError(f"{path}: {key!r} must be a JSON {_json_name(kind)}, not {meta.get(key)!r:.60}.")
    files = meta["files"]
    known = (MODEL_FILE, OPTIMIZER_FILE)
    if MODEL_FILE not in files or not all(isinstance(name, str) and name in known for name in files):
        raise CheckpointError(f"{path}: 'files' must list {MODEL_FILE} (and optionally {OPTIMIZER_FILE}).")
    return meta


def _json_name(kind: type) -> str:
    return {str: "string", dict: "object", int: "whole number", list: "list", float: "number", bool: "true/false"}[kind]


def _check_fields(cls, values: dict, where: str) -> None:
    """JSON types against a frozen config's field types, before the config's own checks run."""
    accepted = {"int": (int,), "float": (float, int), "str": (str,), "bool": (bool,)}
    for field in dataclasses.fields(cls):
        if field.name not in values:
            continue
        value, type_name = values[field.name], str(field.type)
        optional = type_name.endswith("| None")
        base = type_name.replace("| None", "").strip()
        if value is None and optional:
            continue
        ok_types = accepted.get(base)
        if ok_types is None:
            continue
        is_bool = isinstance(value, bool)
        if not isinstance(value, ok_types) or (is_bool and base != "bool"):
            raise CheckpointError(f"{where}: {field.name!r} must be a JSON {base}, not {value!r}.")


def _model_config(meta: dict) -> GPTConfig:
    values = meta["model_config"]
    _check_fields(GPTConfig, values, "meta.json model_config")
    try:
        return GPTConfig.from_dict(values)
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"meta.json model_config: {error}") from None


def _tokenizer(meta: dict, config: GPTConfig) -> Tokenizer:
    try:
        tokenizer = tokenizer_from_json(meta["tokenizer"])
    except (ValueError, TypeError, KeyError) as error:
        raise CheckpointError(f"meta.json tokenizer: {error}") from None
    if tokenizer.vocab_size > config.vocab_size:
        raise CheckpointError(
            f"meta.json: the tokenizer has {tokenizer.vocab_size} tokens but the model only {config.vocab_size}."
        )
    return tokenizer


def _train_config(meta: dict) -> TrainConfig | None:
    values = meta.get("train_config")
    if values is None:
        return None
    if not isinstance(values, dict):
        raise CheckpointError(f"meta.json: 'train_config' must be a JSON object or null, not {values!r:.60}.")
    _check_fields(TrainConfig, values, "meta.json train_config")
    try:
        return TrainConfig.from_dict(values)
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"meta.json train_config: {error}") from None


def _losses(losses) -> dict | None:
    if losses is None:
        return None
    good = isinstance(losses, dict) and all(
        isinstance(points, list) and all(
            isinstance(p, list) and len(p) == 2 and all(is_number(v) for v in p)
            for p in points)
        for points in losses.values()
    )
    if not good:
        raise CheckpointError("meta.json: 'losses' must map a name to a list of [step, loss] pairs.")
    return losses


def _file_of_this_save(folder: Path, name: str, save_id: str, max_tensors: int) -> Path:
    """The tensor file written by the same save as meta.json (after a crash it may still be *.prev).
    Its header is parsed only if it is short enough to describe at most `max_tensors` tensors."""
    for path in (folder / name, folder / f"{name}.prev"):
        if path.is_file() and _save_id_of(path, max_tensors) == save_id:
            return path
    if not (folder / name).is_file():
        raise CheckpointError(missing_file_sentence(folder / name, f"{folder} has a {META_FILE} but no {name}."))
    read_safetensors_header(folder / name, max_tensors=max_tensors)  # a damaged file gets its own, more precise error
    raise CheckpointError(
        f"{folder / name} was not written by the same save as {META_FILE} (their save ids differ); "
        "the folder mixes files from two checkpoints."
    )


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
            raise CheckpointError(f"{path.name} is not a safetensors file, or it is truncated (its header runs past the end).")
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
        isinstance(entry, dict) and isinstance(entry.get("dtype"), str) and entry["dtype"] in DTYPE_SIZES
        and isinstance(entry.get("shape"), list) and all(is_whole_number(d) and d >= 0 for d in entry["shape"])
        and isinstance(entry.get("data_offsets"), list) and len(entry["data_offsets"]) == 2
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


def _check_model_shapes(header: dict, expected: dict[str, tuple], config: GPTConfig) -> None:
    settings = (f"d_model={config.d_model}, n_layers={config.n_layers}, n_heads={config.n_heads}, "
                f"vocab_size={config.vocab_size}, context_length={config.context_length}")
    missing = [name for name in expected if name not in header]
    if missing:
        raise CheckpointError(f"{MODEL_FILE} has no tensor {missing[0]!r}, which the config ({settings}) needs.")
    unexpected = [name for name in header if name not in expected]
    if unexpected:
        raise CheckpointError(f"{MODEL_FILE} holds {unexpected[0]!r}, which a model with the config ({settings}) does not have.")
    for name, shape in expected.items():
        found = tuple(header[name]["shape"])
        if found != shape:
            raise CheckpointError(
                f"{MODEL_FILE}: {name} has shape {found}, but the config in {META_FILE} ({settings}) needs {shape}."
            )
        if not header[name]["dtype"].startswith(("F", "BF")):
            raise CheckpointError(f"{MODEL_FILE}: {name} holds {header[name]['dtype']} values; weights must be floats.")


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_safetensors_bytes(path.read_bytes())
    except Exception as error:  # the header was checked; anything left is damage inside the data
        raise CheckpointError(f"{path.name} could not be read: {error}") from None


# -- the trainer's view: save a run, resume a run ---------------------------------------------------
def save_trainer(folder, trainer, with_optimizer: bool = True) -> Path:
    """Everything needed to continue `trainer` later (without the optimizer: weights and history only)."""
    return save_checkpoint(
        folder, trainer.model, trainer.tokenizer, trainer.config,
        trainer.training_state() if with_optimizer else None, step=trainer.step_count, losses=trainer.loss_history,
    )


def resume_trainer(checkpoint: Checkpoint, dataset, config: TrainConfig | None = None):
    """A Trainer that continues the checkpoint's run exactly (same data, same settings)."""
    from core.training.trainer import Trainer

    config = config or checkpoint.train_config
    if config is None:
        raise CheckpointError("This checkpoint holds no training settings, so its run cannot be resumed.")
    trainer = Trainer(checkpoint.model.train(), dataset, config, checkpoint.tokenizer)
    if checkpoint.optimizer_state is not None:
        trainer.load_training_state(checkpoint.optimizer_state)
    if checkpoint.losses:
        trainer.loss_history = {k: [list(p) for p in v] for k, v in checkpoint.losses.items()}
    return trainer
