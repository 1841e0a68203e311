"""GPT-2's own weights in our GPT, read from a local Hugging Face folder (never from the network).

Our module names are GPT-2's (wte, wpe, h.{i}.attn.c_attn, ...), so loading is mostly copying. Two
differences to know about:
- GPT-2 stores its linear layers as "Conv1D" with the weight laid out (in, out); nn.Linear keeps
  (out, in). Those four weights per block are transposed on the way in.
- GPT-2 checkpoints may carry its causal mask as buffers (`attn.bias`, `attn.masked_bias`); our mask
  is built from the context length, so those are skipped.

    model, tokenizer = load_gpt2("~/models/gpt2")
    model.trace(tokenizer.encode("Hello there"))
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch

from core.model.config import GPTConfig
from core.model.footprint import check_fits, check_model_fits
from core.model.model import GPT
from core.files.pretrained.hf_config import TANH_GELUS, gpt2_config_from_hf  # noqa: F401  (TANH_GELUS: re-exported)
from core.files.pretrained.loader import read_config_json
from core.files.pretrained.weight_maps import CONV1D_WEIGHTS, MASK_BUFFERS
from core.files.text_files import missing_file_sentence
from core.files.weights_check import check_finite

# GPT-2's layout and config reader are the GPT-2 family of the pretrained loader (core/pretrained);
# this module keeps the GPT-2-only entry points.
# pytorch_model.bin is a zip whose members torch.save stores unpacked; one that would unpack to more than
# this many times its size on disk is a zip bomb, refused before torch.load reads it.
MAX_BIN_PACKING_RATIO = 10
FOLDER_CONTENTS = (
    "config.json (the model's sizes), model.safetensors or pytorch_model.bin (the weights), "
    "vocab.json and merges.txt (the tokenizer)"
)


# -- a GPT-2 state dict -> our GPT ------------------------------------------------------------------
def load_hf_state_dict(
    model_or_config: GPT | GPTConfig, state_dict: Mapping[str, torch.Tensor], source: str = "the state dict"
) -> GPT:
    """Copy a GPT2LMHeadModel's weights (keys with or without 'transformer.') into a GPT; returns it in eval mode."""
    model = model_or_config if isinstance(model_or_config, GPT) else GPT(model_or_config)
    config = model.config
    if config.pos_encoding != "learned" or not config.bias:
        raise ValueError("GPT-2's weights need learned positions and biases (pos_encoding='learned', bias=True).")
    theirs = _without_prefix_and_mask_buffers(state_dict)
    if config.tie_embeddings:  # the head is the token embedding; a saved copy of it adds nothing
        theirs.pop("lm_head.weight", None)
    ours = _our_parameters(model)

    missing = sorted(set(ours) - set(theirs))
    unexpected = sorted(set(theirs) - set(ours))
    if missing or unexpected:
        raise ValueError(_mismatch_sentence(source, config, missing, unexpected))
    check_finite(theirs, source)
    with torch.no_grad():
        for name, parameter in ours.items():
            value = theirs[name]
            conv1d = name.endswith(CONV1D_WEIGHTS)
            expected = tuple(reversed(parameter.shape)) if conv1d else tuple(parameter.shape)
            if tuple(value.shape) != expected:
                raise ValueError(
                    f"{source}: the weight {name!r} has shape {tuple(value.shape)}, but a GPT-2 with "
                    f"{_describe(config)} expects {expected}."
                )
            if not value.is_floating_point():  # int8 or bool "weights" would be copied in as 0s and 1s
                raise ValueError(f"{source}: the weight {name!r} holds {value.dtype} values; weights must be floats.")
            parameter.copy_(value.T if conv1d else value)  # Conv1D (in, out) -> Linear (out, in)
    return model.eval()


def _without_prefix_and_mask_buffers(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """GPT-2 names as we use them: 'h.0.attn.c_attn.weight', 'lm_head.weight'."""
    cleaned = {}
    for name, value in state_dict.items():
        name = name.removeprefix("transformer.")
        if not name.endswith(MASK_BUFFERS):
            cleaned[name] = value
    return cleaned


def _our_parameters(model: GPT) -> dict[str, torch.nn.Parameter]:
    """Our parameters under GPT-2's names. A tied head is the embedding, so it is not asked for."""
    named = {}
    for name, parameter in model.named_parameters(remove_duplicate=True):
        named[name.removeprefix("transformer.")] = parameter
    return named


def _mismatch_sentence(source: str, config: GPTConfig, missing: list[str], unexpected: list[str]) -> str:
    parts = [f"{source} does not fit a GPT-2 with {_describe(config)}:"]
    if missing:
        parts.append(f"it lacks {len(missing)} weight(s), e.g. {', '.join(missing[:3])};")
    if unexpected:
        parts.append(f"it has {len(unexpected)} weight(s) this model does not, e.g. {', '.join(unexpected[:3])};")
    parts.append("check that config.json belongs to these weights.")
    return " ".join(parts)


def _describe(config: GPTConfig) -> str:
    return (
        f"n_layer={config.n_layers}, n_head={config.n_heads}, n_embd={config.d_model}, "
        f"vocab_size={config.vocab_size}, n_positions={config.context_length}"
    )


# -- a whole folder ---------------------------------------------------------------------------------
def load_gpt2(folder: str | Path):
    """(GPT, tokenizer) from a local Hugging Face GPT-2 folder; see FOLDER_CONTENTS for the files."""
    from core.tokenizers.gpt2 import load_gpt2_tokenizer  # imported here: tokenizers need not load for the model

    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder. Point at a GPT-2 folder holding {FOLDER_CONTENTS}.")
    config = gpt2_config_from_hf(_read_config(folder / "config.json"))
    check_model_fits(config, f"the GPT-2 model in {folder}")
    _check_weights_fit(folder, config)
    weights_file, state_dict = _read_weights(folder)
    model = load_hf_state_dict(config, state_dict, source=weights_file.name)
    tokenizer = load_gpt2_tokenizer(folder)
    if tokenizer.vocab_size > config.vocab_size:
        raise ValueError(
            f"vocab.json has {tokenizer.vocab_size} tokens but config.json's vocab_size is only "
            f"{config.vocab_size}; the tokenizer files must belong to this model."
        )
    return model, tokenizer


def _check_weights_fit(folder: Path, config: GPTConfig) -> None:
    """The weights are read, then copied into the model: they need about twice what the file unpacks to.
    A safetensors header longer than the model's tensors need is refused before it is parsed."""
    from core.files.checkpoint import read_safetensors_header  # here: checkpoint imports the whole training side

    safetensors_file, bin_file = folder / "model.safetensors", folder / "pytorch_model.bin"
    if safetensors_file.is_file():
        # Ours, plus a head and the two causal-mask buffers per block some GPT-2 files carry.
        check_fits(2 * safetensors_file.stat().st_size, f"the GPT-2 model in {folder}")
        read_safetensors_header(safetensors_file, max_tensors=16 * config.n_layers + 16)
    elif bin_file.is_file():
        check_fits(2 * _unpacked_size(bin_file), f"the GPT-2 model in {folder}")


def _unpacked_size(bin_file: Path) -> int:
    """What pytorch_model.bin unpacks to: the sizes its zip declares (torch reads no more than those),
    or its own size for the older, unzipped format."""
    size = bin_file.stat().st_size
    if not zipfile.is_zipfile(bin_file):
        return size
    try:
        with zipfile.ZipFile(bin_file) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, EOFError, OSError, ValueError):
        return size  # torch.load gives its own error for a damaged zip
    if unpacked > MAX_BIN_PACKING_RATIO * max(size, 1):
        raise ValueError(
            f"{bin_file} would unpack from {size:,} to {unpacked:,} bytes; weights barely shrink "
            "when packed, so the file is damaged or was made to fill the memory."
        )
    return unpacked


def _read_config(path: Path) -> dict:
    return read_config_json(path, "GPT-2", FOLDER_CONTENTS)


def _read_weights(folder: Path) -> tuple[Path, dict[str, torch.Tensor]]:
    """model.safetensors if present, else pytorch_model.bin (loaded with weights_only: nothing is unpickled)."""
    safetensors_file, bin_file = folder / "model.safetensors", folder / "pytorch_model.bin"
    if safetensors_file.is_file():
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return safetensors_file, load_file(str(safetensors_file), device="cpu")
        except (SafetensorError, OSError) as error:
            raise ValueError(f"{safetensors_file} could not be read as safetensors ({error}).") from None
    if bin_file.is_file():
        try:
            state_dict = torch.load(bin_file, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises several kinds for a damaged or unsafe pickle
            raise ValueError(
                f"{bin_file} could not be read as plain weights ({type(error).__name__}); "
                "only files holding tensors are accepted."
            ) from None
        if not isinstance(state_dict, Mapping) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
            raise ValueError(f"{bin_file} should hold a dict of weight tensors (a state dict).")
        return bin_file, dict(state_dict)
    for path in (safetensors_file, bin_file):
        if path.is_dir() or path.is_symlink():  # there, but not a file
            raise ValueError(missing_file_sentence(path, ""))
    raise ValueError(f"No weights in {folder}: expected model.safetensors (preferred) or pytorch_model.bin.")
