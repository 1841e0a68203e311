"""Attention Lab's engine: a GPT you can read, its tokenizers, and its training. No Qt here."""
from .config import PRESETS, GPTConfig, preset
from .model import GPT
from .trace import Intervention, Trace, run_trace

__all__ = ["GPT", "GPTConfig", "PRESETS", "preset", "Intervention", "Trace", "run_trace"]
