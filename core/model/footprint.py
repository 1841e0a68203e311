"""How much memory a model will take, worked out from its config before anything is allocated.

A file of a few bytes can declare a model of any size (`"n_layers": 1000000000`), so every loader asks
here first, and a model that does not fit is refused with the numbers:

    check_model_fits(config, "the checkpoint in runs/big")
    # ValueError: Opening the checkpoint in runs/big needs about 14.2 GB of memory; this machine has 9.1 GB free. ...

The footprint is the weights and buffers (counted by building the model on torch's "meta" device, where
tensors have a shape but no storage, so every switch of the config is counted with no code here), the
Python objects behind each layer, and the activations one trace of a prompt records.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from core.model.config import GPTConfig

BYTES_PER_VALUE = 4  # the model is built in float32
# The longest prompt the app traces: a trace keeps (heads, T, T) patterns, so the context a model
# declares (32,768 for some real ones) is not what one look at attention needs.
LONGEST_TRACED_PROMPT = 1024
# The modules, hook points and tensor objects behind one transformer block (measured: about 80 KB,
# 115 KB on the meta device); counted so that a million tiny layers are refused too.
PYTHON_BYTES_PER_LAYER = 128 * 1024
# Building a block takes about a millisecond; no GPT this app can show has more blocks than this
# (the largest published ones have about 130), and a million of them would freeze it for minutes.
MAX_LAYERS = 1024
# Headroom left for the app itself, the tokenizer and the copies a load makes on the way.
SPARE_FRACTION = 0.1


# -- what this machine has free ---------------------------------------------------------------------
def available_memory_bytes() -> int | None:
    """Memory this process may still use: the least of what the system has available, a container's
    limit, and an address-space limit set on the process. None where none of them can be read."""
    limits = [
        limit for limit in (_system_available(), _cgroup_headroom(), _address_space_headroom()) if limit is not None
    ]
    return min(limits) if limits else None


def _system_available() -> int | None:
    """MemAvailable from /proc/meminfo (free memory plus caches the kernel can drop), else psutil."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil
    except ImportError:
        return _physical_memory()
    return int(psutil.virtual_memory().available)


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _cgroup_headroom() -> int | None:
    """A container's memory limit (cgroup v2) less what it already uses."""
    folder = Path("/sys/fs/cgroup")
    try:
        limit = (folder / "memory.max").read_text(encoding="ascii").strip()
        if limit == "max":
            return None
        return max(0, int(limit) - int((folder / "memory.current").read_text(encoding="ascii")))
    except (OSError, ValueError):
        return None


def _address_space_headroom() -> int | None:
    """An RLIMIT_AS set on this process (`ulimit -v`) less the address space already mapped."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/statm", encoding="ascii") as statm:
            mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        return max(0, soft - mapped)
    except (ImportError, OSError, ValueError, IndexError):
        return None


def check_fits(needed_bytes: int, what: str, advice: str = "Open a smaller model, or close other programs.") -> None:
    """ValueError with both numbers if `needed_bytes` is more than this machine has free (less some spare)."""
    free = available_memory_bytes()
    if free is not None and needed_bytes > free * (1 - SPARE_FRACTION):
        raise ValueError(
            f"Opening {what} needs about {_gigabytes(needed_bytes)} of memory; this machine has "
            f"{_gigabytes(free)} free. {advice}"
        )


def _gigabytes(n_bytes: int) -> str:
    return f"{n_bytes / 1e9:.1f} GB" if n_bytes >= 1e8 else f"{n_bytes / 1e6:.0f} MB"


# -- what a model needs -----------------------------------------------------------------------------
def model_footprint_bytes(config: GPTConfig, trace_tokens: int | None = None) -> int:
    """Bytes to hold the model built from `config` and one trace of a `trace_tokens`-token prompt
    (default: the declared context, up to LONGEST_TRACED_PROMPT). Refuses (ValueError) a config so
    large that even counting it would take minutes."""
    _check_countable(config)
    return (
        weight_and_buffer_bytes(config) + config.n_layers * PYTHON_BYTES_PER_LAYER + trace_bytes(config, trace_tokens)
    )


def check_model_fits(config: GPTConfig, what: str) -> None:
    """ValueError ("... needs about 14.2 GB of memory; this machine has 9.1 GB free") before anything
    of the model is allocated. The cheap lower bound is checked first, so an absurd config is refused
    by arithmetic before even the meta-device model is built."""
    _check_countable(config, what)
    check_fits(_weights_lower_bound(config), what)
    check_fits(model_footprint_bytes(config), what)


def _check_countable(config: GPTConfig, what: str = "the model") -> None:
    if config.n_layers > MAX_LAYERS:
        raise ValueError(
            f"{what[:1].upper()}{what[1:]} declares {config.n_layers:,} layers; Attention Lab opens "
            f"models of up to {MAX_LAYERS:,} layers (the largest published GPTs have about 130)."
        )


def _weights_lower_bound(config: GPTConfig) -> int:
    """Weights any GPT of this shape has at least: the token embedding, and per layer the query and
    output projections (d_model x d_model each) and an MLP reading and writing d_model."""
    C = config.d_model
    per_layer = 2 * C * C + 2 * C * _mlp_width(config)
    return BYTES_PER_VALUE * (config.vocab_size * C + config.n_layers * per_layer)


def _mlp_width(config: GPTConfig) -> int:
    return getattr(config, "d_mlp", None) or 4 * config.d_model


def meta_model(config: GPTConfig):
    """The model with every parameter and buffer shaped but not allocated (torch's "meta" device).
    Check the footprint first: a million layers take minutes to build even here."""
    from core.model.model import GPT  # here: the model file imports nothing of ours that needs this one

    _check_countable(config)
    with torch.device("meta"):
        return GPT(config)


def weight_and_buffer_bytes(config: GPTConfig) -> int:
    """Parameters (a tied matrix once) and buffers of the model, as built."""
    model = meta_model(config)
    tensors = {id(t): t for t in (*model.parameters(), *model.buffers())}  # shared tensors counted once
    return sum(t.numel() * t.element_size() for t in tensors.values())


def traced_length(config: GPTConfig) -> int:
    """The longest prompt the explorer traces for this model: its context, up to LONGEST_TRACED_PROMPT."""
    return min(config.context_length, LONGEST_TRACED_PROMPT)


def trace_bytes(config: GPTConfig, trace_tokens: int | None = None) -> int:
    """What one trace records for a single prompt (B = 1), per layer: the residual stream at five
    places plus the attention output and the MLP's output (T, d_model); query, key, value and z
    (T, d_model each, split over heads); scores, masked scores and the pattern (heads, T, T); the
    MLP's hidden layer before and after GELU (T, d_mlp). Then the token and position embeddings and
    their sum, the final LayerNorm (T, d_model each), and logits and probabilities (T, vocab)."""
    T = traced_length(config) if trace_tokens is None else trace_tokens
    C, heads = config.d_model, config.n_heads
    per_layer = 11 * T * C + 3 * heads * T * T + 2 * T * _mlp_width(config)
    whole = config.n_layers * per_layer + 4 * T * C + 2 * T * config.vocab_size
    return BYTES_PER_VALUE * whole
