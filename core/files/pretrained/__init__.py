"""Real pretrained models (GPT-2, GPT-Neo, GPT-NeoX/Pythia, Llama/SmolLM2, Qwen2) run by our own GPT.

model, tokenizer = load_pretrained("~/models/SmolLM2-135M")   # a local Hugging Face folder
model.trace(tokenizer.encode("The capital of France is"))

hf_config.py     a config.json turned into our GPTConfig, one reader per family
weight_maps.py   where each family keeps each weight and how it becomes ours
weights.py       the tensors in a folder, each read only when asked for
loader.py        a local folder opened as our GPT and a tokenizer
"""

from core.files.pretrained.hf_config import SUPPORTED_MODEL_TYPES, config_from_hf
from core.files.pretrained.loader import load_pretrained, pretrained_float32_bytes

__all__ = ["SUPPORTED_MODEL_TYPES", "config_from_hf", "load_pretrained", "pretrained_float32_bytes"]
