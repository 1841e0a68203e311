"""Reading a checkpoint's meta.json without trusting it: every field's JSON type is checked before the
model config, tokenizer and training config are built from it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from core.files.checkpoint_format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_META_BYTES,
    META_FILE,
    MODEL_FILE,
    OPTIMIZER_FILE,
    SAVE_ID_KEY,
    CheckpointError,
)
from core.files.json_values import is_number
from core.files.text_files import missing_file_sentence
from core.model.config import GPTConfig
from core.tokenizers import Tokenizer, tokenizer_from_json
from core.training.train_config import TrainConfig


def read_meta(folder: Path) -> dict:
    """meta.json, parsed and checked for the fields every format-1 checkpoint has."""
    if not folder.is_dir():
        raise CheckpointError(
            f"{folder} is not a folder; a checkpoint is a folder holding {META_FILE} and {MODEL_FILE}."
        )
    path = folder / META_FILE
    if not path.is_file():
        missing = f"{folder} is not a checkpoint: it has no {META_FILE}."
        raise CheckpointError(missing_file_sentence(path, missing))
    if path.stat().st_size > MAX_META_BYTES:
        raise CheckpointError(
            f"{path} is {path.stat().st_size:,} bytes, far larger than a checkpoint's {META_FILE}; "
            "the file is damaged or not a checkpoint's."
        )
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise CheckpointError(
            f"{path} is not valid JSON ({error}); the file is damaged or not a checkpoint's."
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise CheckpointError(
            f"{path} is not an Attention Lab checkpoint's meta.json (no \"format\": \"{FORMAT_NAME}\")."
        )
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


def model_config_from_meta(meta: dict) -> GPTConfig:
    values = meta["model_config"]
    _check_fields(GPTConfig, values, "meta.json model_config")
    try:
        return GPTConfig.from_dict(values)
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"meta.json model_config: {error}") from None


def tokenizer_from_meta(meta: dict, config: GPTConfig) -> Tokenizer:
    try:
        tokenizer = tokenizer_from_json(meta["tokenizer"])
    except (ValueError, TypeError, KeyError) as error:
        raise CheckpointError(f"meta.json tokenizer: {error}") from None
    if tokenizer.vocab_size > config.vocab_size:
        raise CheckpointError(
            f"meta.json: the tokenizer has {tokenizer.vocab_size} tokens but the model only {config.vocab_size}."
        )
    return tokenizer


def train_config_from_meta(meta: dict) -> TrainConfig | None:
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


def losses_from_meta(losses) -> dict | None:
    if losses is None:
        return None
    good = isinstance(losses, dict) and all(
        isinstance(points, list)
        and all(isinstance(p, list) and len(p) == 2 and all(is_number(v) for v in p) for p in points)
        for points in losses.values()
    )
    if not good:
        raise CheckpointError("meta.json: 'losses' must map a name to a list of [step, loss] pairs.")
    return losses
