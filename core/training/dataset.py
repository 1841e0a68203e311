"""A corpus as one long row of token ids, split in two, served as random context windows.

The model learns from `train` and is judged on `val`, text it never trains on. A batch is B windows
of T+1 consecutive tokens starting at random places: the inputs are the first T tokens of each window,
the targets the same window shifted one to the left ("predict the next token at every position").
"""

from __future__ import annotations

import numpy as np
import torch

SPLITS = ("train", "val")


class TokenDataset:
    def __init__(self, tokens: np.ndarray, val_fraction: float = 0.1) -> None:
        tokens = np.asarray(tokens)
        if tokens.ndim != 1 or not np.issubdtype(tokens.dtype, np.integer):
            raise ValueError(
                f"Tokens must be a flat row of whole-number ids, not an array of shape {tokens.shape} "
                f"and type {tokens.dtype}."
            )
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be at least 0 and below 1 (e.g. 0.1), but it is {val_fraction}.")
        if tokens.size == 0:
            raise ValueError("The corpus is empty: there is no text to learn from.")
        # The last part is held out, so validation text is text the model never saw (no overlap).
        n_val = int(round(len(tokens) * val_fraction))
        self.train = tokens[: len(tokens) - n_val]  # views, not copies: a big corpus is stored once
        self.val = tokens[len(tokens) - n_val :]
        self.val_fraction = val_fraction

    def split(self, split: str) -> np.ndarray:
        if split not in SPLITS:
            raise ValueError(f"Unknown split {split!r}; use 'train' or 'val'.")
        return self.train if split == "train" else self.val

    def sample_starts(self, split: str, batch_size: int, context_length: int, generator: torch.Generator) -> np.ndarray:
        """Where each of the batch's windows begins: (B,) random offsets, drawn from `generator`."""
        data = self.split(split)
        n_starts = len(data) - context_length  # a window needs context_length + 1 tokens
        if n_starts < 1:
            raise ValueError(
                f"The {split} split has {len(data)} tokens, but one training example needs "
                f"{context_length + 1} (a context of {context_length} plus the next token). "
                f"Use a longer text or a shorter context length."
            )
        return torch.randint(n_starts, (batch_size,), generator=generator).numpy()

    def windows_at(self, split: str, starts: np.ndarray, context_length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The inputs and next-token targets for windows beginning at `starts`."""
        data = self.split(split)
        positions = starts[:, None] + np.arange(context_length + 1)  # (B, T+1) indices into data
        windows = torch.from_numpy(data[positions].astype(np.int64))  # (B, T+1)
        x = windows[:, :-1].contiguous()  # (B, T): what the model reads
        y = windows[:, 1:].contiguous()  # (B, T): the token that came next
        return x, y

    def get_batch(
        self, split: str, batch_size: int, context_length: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y) LongTensors of shape (batch_size, context_length), the same for the same generator state."""
        starts = self.sample_starts(split, batch_size, context_length, generator)
        return self.windows_at(split, starts, context_length)

    def __repr__(self) -> str:
        return f"TokenDataset(train={len(self.train):,} tokens, val={len(self.val):,} tokens)"
