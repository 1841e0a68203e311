"""What does a story model do? Its next tokens, its continuations, its heads, its tokens.

Prints, for a checkpoint folder (default: the shipped default model):
- the five likeliest next tokens and a greedy continuation after each of five prompts;
- every head's detector scores: previous-token on a story, induction on repeated common words;
- how common words and made-up words are split into tokens.

    PYTHONPATH=$PWD python benchmarks/check_story_model.py [FOLDER]

tests/core/test_default_model.py checks the same things on the shipped model, with thresholds.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from core.files.checkpoint import load_checkpoint
from core.teaching.detectors import head_scores, pattern_names
from core.files.shipped_models import DEFAULT_MODEL_FOLDER, common_word_probe, continue_greedily, top_next_tokens
from core.training.stories import generate_stories

PROMPTS = [
    "The cat sat on the",
    "Anna met Ben. Then Anna",
    "Tom had a dog called Zubak. One day, Tom met Lily at the park. They played with",
    "Mia lost her red kite. She looked all over the garden, but",
    "Once upon a time, there was a little",
]
WORDS = [" the", " cat", " park", " happy", " gave", " Anna", " flumpish", " Zubak", " photosynthesis"]


def show_prompts(checkpoint) -> None:
    for prompt in PROMPTS:
        best = ", ".join(
            f"{token!r} {p:.2f}" for token, p in top_next_tokens(checkpoint.model, checkpoint.tokenizer, prompt)
        )
        more = continue_greedily(checkpoint.model, checkpoint.tokenizer, prompt, 16)
        print(f"{prompt!r}\n    next: {best}\n    continues: {more!r}")


def show_heads(checkpoint, story: str) -> None:
    model, tokenizer = checkpoint.model, checkpoint.tokenizer
    names = pattern_names(model.config.n_layers)
    text_ids = torch.tensor([tokenizer.encode(story)[: model.config.context_length]])  # (1, T)
    on_text = head_scores(model.trace(text_ids, names=names))
    on_probe = head_scores(model.trace(common_word_probe(tokenizer, generate_stories(500, seed=1)), names=names))
    print("head   previous-token (story)   induction (repeated words)   first-token (story)")
    for layer, head in np.ndindex(on_text["previous_token"].shape):
        print(
            f"L{layer}H{head}   {on_text['previous_token'][layer, head]:.2f}"
            f"                     {on_probe['induction'][layer, head]:.2f}"
            f"                         {on_text['first_token'][layer, head]:.2f}"
        )


def show_tokens(checkpoint) -> None:
    for word in WORDS:
        pieces = [checkpoint.tokenizer.decode([i]) for i in checkpoint.tokenizer.encode(word)]
        print(f"{word!r:18} -> {len(pieces)} token(s): {pieces}")


def main(folder=DEFAULT_MODEL_FOLDER) -> None:
    torch.set_num_threads(1)  # the machine is shared
    checkpoint = load_checkpoint(folder)
    print(
        f"{folder}: {checkpoint.model.num_params():,} parameters, step {checkpoint.step}, "
        f"vocabulary {checkpoint.tokenizer.vocab_size}, positions {checkpoint.config.pos_encoding}"
    )
    show_prompts(checkpoint)
    show_heads(checkpoint, generate_stories(1, seed=2))
    show_tokens(checkpoint)


if __name__ == "__main__":
    main(*sys.argv[1:])
