"""Saving a model (and its training) to a folder, and loading it back safely.

A checkpoint folder holds model.safetensors, optionally optimizer.safetensors, and meta.json
(core/files/checkpoint_format.py says what each holds).

Safe to write: every file goes to a temporary name in the same folder, is flushed to disk, then renamed
over the old one; the previous tensor files stay as `*.prev` until the new meta.json is in place. A
crash at any moment leaves a folder that loads (the old checkpoint or the new one).
Safe to read: nothing is unpickled; every header, shape and setting is checked before anything is built
(core/files/checkpoint_meta.py reads meta.json, core/files/checkpoint_header.py the tensor files' headers).
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as safetensors_bytes

from core.model.config import GPTConfig
from core.model.footprint import check_fits, check_model_fits
from core.files.json_values import is_whole_number
from core.model.model import GPT
from core.files.text_files import missing_file_sentence
from core.tokenizers import Tokenizer
from core.files.weights_check import check_finite
from core.training.trainer import TrainConfig, check_training_state
from core.files.safe_write import explain_write_failure
from core.files.checkpoint_format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    META_FILE,
    MODEL_FILE,
    OPTIMIZER_FILE,
    SAVE_ID_KEY,
    CheckpointError,
    CheckpointSaveError,
)
from core.files.checkpoint_header import check_model_shapes, data_bytes, expected_weight_shapes, read_safetensors_header
from core.files.checkpoint_meta import (
    losses_from_meta,
    model_config_from_meta,
    read_meta,
    tokenizer_from_meta,
    train_config_from_meta,
)


@dataclass(frozen=True)
class Checkpoint:
    model: GPT  # the model, weights loaded, in eval mode on the CPU
    tokenizer: Tokenizer  # the tokenizer it was trained with
    train_config: TrainConfig | None  # how it was being trained (None if not saved)
    step: int  # optimizer steps the weights had received
    losses: dict | None  # {"train": [[step, loss], ...], "val": [[step, loss], ...]}
    optimizer_state: dict | None  # tensors for Trainer.load_training_state, or None

    @property
    def config(self) -> GPTConfig:
        return self.model.config


# -- saving -----------------------------------------------------------------------------------------
def save_checkpoint(
    folder,
    model: GPT,
    tokenizer: Tokenizer,
    train_config: TrainConfig | None = None,
    trainer_state: dict[str, torch.Tensor] | None = None,
    step: int = 0,
    losses: dict | None = None,
) -> Path:
    """Write the checkpoint into `folder` (created if needed); returns the folder.
    Raises CheckpointSaveError, with a sentence, if the disk is full or the folder cannot be written."""
    folder = Path(folder)
    tensor_files, meta_bytes, save_id = _checkpoint_contents(
        model, tokenizer, train_config, trainer_state, step, losses
    )
    try:
        _write_checkpoint_files(folder, tensor_files, meta_bytes, save_id)
    except OSError as error:
        raise CheckpointSaveError(explain_write_failure(error, folder, "the checkpoint")) from error
    return folder


def checkpoint_bytes(model: GPT, tokenizer: Tokenizer, step: int = 0, losses: dict | None = None) -> dict[str, bytes]:
    """A weights-only checkpoint as {file name: contents}, in memory: for packing inside another file
    (a session) without writing a temporary folder first."""
    tensor_files, meta_bytes, save_id = _checkpoint_contents(model, tokenizer, None, None, step, losses)
    return {
        META_FILE: meta_bytes,
        MODEL_FILE: safetensors_bytes(tensor_files[MODEL_FILE], metadata={SAVE_ID_KEY: save_id}),
    }


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
            data = safetensors_bytes(tensors, metadata={SAVE_ID_KEY: save_id})
            temporary[name] = _write_temporary(folder, name, data)
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
        raise CheckpointError(
            f"This computer ran out of memory while opening the checkpoint in {folder}; "
            "close other programs, or open a smaller model."
        ) from None


def _load_checkpoint(folder: Path, device) -> Checkpoint:
    meta = read_meta(folder)
    config = model_config_from_meta(meta)
    _check_model_fits(config, folder)
    tokenizer = tokenizer_from_meta(meta, config)
    train_config = train_config_from_meta(meta)
    step = meta["step"]
    if not is_whole_number(step) or step < 0:
        raise CheckpointError(f"meta.json: 'step' must be a whole number of 0 or more, not {step!r}.")
    losses = losses_from_meta(meta.get("losses"))

    expected_shapes = expected_weight_shapes(config)
    model_path = _file_of_this_save(folder, MODEL_FILE, meta[SAVE_ID_KEY], len(expected_shapes))
    header = read_safetensors_header(model_path, max_tensors=len(expected_shapes))
    check_model_shapes(header, expected_shapes, config)
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
    _check_fits_in_memory(folder, 2 * data_bytes(header) + (data_bytes(optimizer_header) if optimizer_path else 0))
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
    config = model_config_from_meta(read_meta(folder))
    _check_model_fits(config, folder, what)
    return config


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


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_safetensors_bytes(path.read_bytes())
    except Exception as error:  # the header was checked; anything left is damage inside the data
        raise CheckpointError(f"{path.name} could not be read: {error}") from None


# -- the trainer's view: save a run, resume a run ---------------------------------------------------
def save_trainer(folder, trainer, with_optimizer: bool = True) -> Path:
    """Everything needed to continue `trainer` later (without the optimizer: weights and history only)."""
    return save_checkpoint(
        folder,
        trainer.model,
        trainer.tokenizer,
        trainer.config,
        trainer.training_state() if with_optimizer else None,
        step=trainer.step_count,
        losses=trainer.loss_history,
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
