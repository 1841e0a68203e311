"""Open a local Hugging Face model folder as our GPT and a tokenizer.

    model, tokenizer = load_pretrained("~/models/pythia-70m")

In order, each step refusing with a sentence before the next one costs anything:
1. config.json -> our GPTConfig (the family's reader checks sizes and switches);
2. the memory the float32 weights need, worked out from the config, against this computer's;
3. the weight files' tensor table (nothing read yet) and the tokenizer, checked against the config;
4. the model's memory, then each tensor read, reordered where the family needs it
   (core/files/pretrained/weight_maps.py) and copied in (widened to float32), one at a time.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from core.model.config import GPTConfig
from core.model import footprint
from core.files.weights_check import check_finite
from core.model.model import GPT
from core.model.param_count import count_parameters
from core.files.text_files import missing_file_sentence
from core.tokenizers.base import Tokenizer
from core.files.pretrained.hf_config import config_from_hf
from core.files.pretrained.weight_maps import NOT_WEIGHTS, OTHER_SPELLINGS, WEIGHT_MAPS
from core.files.pretrained.weights import WeightStore

FOLDER_CONTENTS = (
    "config.json, the weights (model.safetensors, sharded safetensors or pytorch_model.bin) "
    "and the tokenizer (tokenizer.json, or vocab.json and merges.txt)"
)
LEADING_MODULES = ("transformer.", "model.", "gpt_neox.")  # dropped in some files' names
MAX_CONFIG_BYTES = 10_000_000  # config.json holds a few dozen settings


def load_pretrained(folder: str | Path) -> tuple[GPT, Tokenizer]:
    """(GPT in eval mode, its tokenizer) from a local Hugging Face folder; a ValueError sentence if it cannot."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder. Point at a model folder holding {FOLDER_CONTENTS}.")
    values = read_config_json(folder / "config.json")
    config = config_from_hf(values, source=str(folder / "config.json"))
    check_model_fits(config, folder)
    store = WeightStore(folder)
    try:
        tokenizer = load_pretrained_tokenizer(folder, config)
        recipes = _resolved_recipes(values["model_type"], config, store)
        model = GPT.unfilled(config)
        _copy_weights(model, recipes, store)
    finally:
        store.close()
    check_finite(dict(model.named_parameters()), str(folder))
    return model.eval(), tokenizer


def pretrained_float32_bytes(config: GPTConfig) -> int:
    """The bytes of a model's weights once they are float32 (a tied head counted once)."""
    return 4 * count_parameters(config).total


def check_model_fits(config: GPTConfig, folder: Path) -> None:
    """Refuse a model whose whole footprint (weights, buffers, one trace) does not fit this computer's
    free memory, before any of it is allocated (see core/model/footprint.py)."""
    footprint.check_model_fits(config, f"the model in {folder}")


def read_config_json(path: Path, folder_kind: str = "model", holds: str = FOLDER_CONTENTS) -> dict:
    """config.json as a dict; its sentences say what kind of folder should have held it, and with what."""
    if not path.is_file():
        raise ValueError(missing_file_sentence(path, f"{path} is missing: a {folder_kind} folder holds {holds}."))
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ValueError(
            f"{path} is {path.stat().st_size:,} bytes; a config.json of settings is a few KB, so this is not one."
        )
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise ValueError(
            f"{path} is not valid JSON ({error}); expected a {folder_kind} folder's config.json."
        ) from None
    if not isinstance(values, dict):
        raise ValueError(f"{path} should hold one JSON object of settings (the model's sizes and choices).")
    return values


def load_pretrained_tokenizer(folder: Path, config: GPTConfig) -> Tokenizer:
    """tokenizer.json if there is one, else GPT-2's vocab.json and merges.txt; it must fit the weights."""
    from core.tokenizers.gpt2 import load_gpt2_tokenizer
    from core.tokenizers.hf_json import load_hf_json_tokenizer

    if (folder / "tokenizer.json").is_file():
        tokenizer, source = load_hf_json_tokenizer(folder / "tokenizer.json"), "tokenizer.json"
    elif (folder / "vocab.json").is_file() or (folder / "merges.txt").is_file():
        tokenizer, source = load_gpt2_tokenizer(folder), "vocab.json"
    else:
        raise ValueError(f"No tokenizer in {folder}: expected tokenizer.json, or vocab.json and merges.txt.")
    if tokenizer.vocab_size > config.vocab_size:
        raise ValueError(
            f"{folder / source} has ids up to {tokenizer.vocab_size - 1}, but the weights have only "
            f"{config.vocab_size} token vectors (config.json's vocab_size); the tokenizer must belong to this model."
        )
    return tokenizer


# -- their tensors -> our parameters ------------------------------------------------------------------------
def _resolved_recipes(model_type: str, config: GPTConfig, store: WeightStore) -> list:
    """The family's recipes with their names as this folder spells them; every weight accounted for."""
    parameter_names = [name for name, _ in _our_parameters_by_name(config)]
    recipes = WEIGHT_MAPS[model_type](config, parameter_names)
    unmade = set(parameter_names) - {ours for ours, _, _ in recipes}
    if unmade:  # a gap in a family's map would leave a parameter holding whatever its memory held
        raise RuntimeError(
            f"The {model_type} weight map makes no {sorted(unmade)[0]!r}; this is a bug in core/pretrained."
        )
    available, used, missing, resolved = store.names, set(), [], []
    for ours, theirs, how in recipes:
        spelled = [_spelling_in(available, name) for name in theirs]
        missing += [name for name, found in zip(theirs, spelled) if found is None]
        used.update(found for found in spelled if found)
        resolved.append((ours, spelled, how))
    tied_copy = (
        {name for name in available if name.endswith(("lm_head.weight", "embed_out.weight"))}
        if config.tie_embeddings
        else set()
    )
    unexpected = sorted(name for name in available - used - tied_copy if not name.endswith(NOT_WEIGHTS))
    if missing or unexpected:
        parts = [
            f"The weights in {store.folder} ({store.file_names()}) do not fit the {model_type} model "
            f"config.json describes ({_describe(config)}):"
        ]
        if missing:
            parts.append(f"they lack {len(missing)} weight(s), e.g. {', '.join(missing[:3])};")
        if unexpected:
            parts.append(f"they have {len(unexpected)} this model does not, e.g. {', '.join(unexpected[:3])};")
        parts.append("check that config.json belongs to these weights.")
        raise ValueError(" ".join(parts))
    return resolved


def _our_parameters_by_name(config: GPTConfig):
    """Our parameters' names without building the model: from a shapes-only ('meta') copy."""
    with torch.device("meta"):
        return list(GPT(config).named_parameters())


def _spelling_in(available: set[str], name: str) -> str | None:
    for spelling in (name, *OTHER_SPELLINGS.get(name, ())):
        if spelling in available:
            return spelling
        for leading in LEADING_MODULES:
            if spelling.startswith(leading) and spelling.removeprefix(leading) in available:
                return spelling.removeprefix(leading)
    return None


def _copy_weights(model: GPT, recipes: list, store: WeightStore) -> None:
    parameters = dict(model.named_parameters())
    with torch.no_grad():
        for ours, theirs, how in recipes:
            parameter = parameters[ours]
            sizes = [store.shape_of[name] for name in theirs]
            if sum(math.prod(size) for size in sizes) != parameter.numel():
                raise ValueError(_shape_sentence(store, theirs, sizes, ours, parameter, model.config))
            try:
                value = how(*(store.read(name) for name in theirs))
            except RuntimeError:  # the numbers add up but the shapes do not fit together
                raise ValueError(_shape_sentence(store, theirs, sizes, ours, parameter, model.config)) from None
            pieces = value if isinstance(value, tuple) else (value,)  # a tuple: pieces stacked row after row
            if sum(len(piece) for piece in pieces) != len(parameter) or any(
                piece.shape[1:] != parameter.shape[1:] for piece in pieces
            ):
                raise ValueError(_shape_sentence(store, theirs, sizes, ours, parameter, model.config))
            row = 0
            for piece in pieces:  # fp16/bf16 become float32 here, in the parameter's own memory
                parameter[row : row + len(piece)].copy_(piece)
                row += len(piece)
            del value, pieces


def _shape_sentence(store, theirs, sizes, ours, parameter, config) -> str:
    found = ", ".join(f"{name} {tuple(size)}" for name, size in zip(theirs, sizes))
    return (
        f"{store.file_names()}: {found} cannot make this model's {ours} {tuple(parameter.shape)} "
        f"for {_describe(config)}; check that config.json belongs to these weights."
    )


def _describe(config: GPTConfig) -> str:
    return (
        f"{config.n_layers} layers, {config.n_heads} heads ({config.n_kv_heads} key/value), "
        f"d_model {config.d_model}, d_mlp {config.d_mlp}, vocabulary {config.vocab_size}"
    )
