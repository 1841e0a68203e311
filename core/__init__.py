"""Attention Lab's engine: a GPT you can read, its tokenizers, and its training. No Qt here.

model/        the GPT itself: config, attention, hook points, one traced forward pass, sampling
tokenizers/   text -> token ids -> text, with a visible label for every token
training/     text and batches, the optimizer and schedule, the trainer, the run recipe, the CLI
files/        checkpoints, safe writes, real pretrained models, the Hub cache, class files
teaching/     lessons and their live numbers, questions, head detectors, the training timeline
explain/      why this next token: logit lens, attribution, patching, neurons, the KV cache
speed/        settings that make the same computation faster, kept out of the teaching code
__main__.py   `python -m core`: build a small GPT, trace one prompt, print what it saw
"""

from core.model.config import POSITIONAL_ENCODINGS, PRESETS, GPTConfig, preset
from core.files.gpt2 import gpt2_config_from_hf, load_gpt2, load_hf_state_dict
from core.model.hooks import HookPoint
from core.model.model import GPT
from core.files.pretrained import load_pretrained
from core.model.sampling import generate, next_token_probs, sample_next
from core.model.trace import Intervention, Trace, run_trace

__all__ = [
    "GPT",
    "GPTConfig",
    "PRESETS",
    "POSITIONAL_ENCODINGS",
    "preset",
    "HookPoint",
    "Intervention",
    "Trace",
    "run_trace",
    "next_token_probs",
    "sample_next",
    "generate",
    "load_gpt2",
    "load_hf_state_dict",
    "gpt2_config_from_hf",
    "load_pretrained",
]
