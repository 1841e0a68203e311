"""The models that ship with Attention Lab, and the small probes that show what they learned.

    checkpoint = load_checkpoint(DEFAULT_MODEL_FOLDER)            # the story model the app opens with
    top_next_tokens(checkpoint.model, checkpoint.tokenizer, "The cat sat on the")
        # [(' mat', 0.21), (' bed', 0.12), ...]
    continue_greedily(checkpoint.model, checkpoint.tokenizer, "Anna met Ben. Then Anna", 8)
        # ' gave Ben a red ball. Ben was'

Three models ship (each folder has a README with the command that trained it):
- default:           a BPE model trained on core.training.stories, RoPE positions; speaks simple English
                     word by word, with a previous-token head and an induction head.
- learned-positions: its twin with learned position vectors added to the tokens (GPT-2's way), for the
                     lesson steps that show "token + position".
- characters:        a character model trained on Python's help pages, RoPE positions; every token is one
                     character, so every heatmap row is readable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from core.teaching.detectors import induction_probe
from core.model.eval_mode import evaluating
from core.model.sampling import generate

MODELS_FOLDER = Path(__file__).resolve().parents[2] / "resources" / "models"
DEFAULT_MODEL_FOLDER = MODELS_FOLDER / "default"  # the story model: BPE, RoPE
LEARNED_POSITIONS_MODEL_FOLDER = MODELS_FOLDER / "learned-positions"  # the same stories, learned positions
CHARACTER_MODEL_FOLDER = MODELS_FOLDER / "characters"  # the character model: Python's help pages, RoPE


def top_next_tokens(model, tokenizer, prompt: str, k: int = 5) -> list[tuple[str, float]]:
    """The k likeliest next tokens after `prompt`, as (token text, probability), likeliest first."""
    ids = torch.tensor([tokenizer.encode(prompt)[-model.config.context_length :]])  # (1, T)
    with evaluating(model), torch.no_grad():
        logits, _ = model(ids)
    probs = torch.softmax(logits[0, -1].float(), dim=-1)  # (vocab,) for the token after the prompt
    best = torch.topk(probs, k)
    return [(tokenizer.decode([int(i)]), float(p)) for p, i in zip(best.values, best.indices)]


def continue_greedily(model, tokenizer, prompt: str, n_new: int) -> str:
    """What the model writes after `prompt`, always taking the likeliest token (no randomness)."""
    prompt_ids = tokenizer.encode(prompt)
    ids = generate(model, prompt_ids, n_new, greedy=True)
    return tokenizer.decode(ids[len(prompt_ids) :])


def common_word_probe(tokenizer, text: str, length: int = 20, batch: int = 4, seed: int = 0) -> torch.Tensor:
    """(batch, 2·length): random sequences of the corpus's common whole-word tokens, each shown twice.

    The induction detector's probe, drawn from tokens the model has read often (the 200 commonest
    tokens of `text` that are a space and letters, like ' ball'), so a head that copies shows it.
    """
    ids, counts = np.unique(np.asarray(tokenizer.encode(text)), return_counts=True)
    by_count = [int(token) for token in ids[np.argsort(-counts, kind="stable")]]
    words = [token for token in by_count if _is_spaced_word(tokenizer.decode([token]))][:200]
    return induction_probe(tokenizer.vocab_size, length, seed=seed, batch=batch, token_ids=words)


def _is_spaced_word(piece: str) -> bool:
    return len(piece) > 2 and piece[0] == " " and piece[1:].isalpha()
