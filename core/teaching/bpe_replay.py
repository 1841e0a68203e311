"""BPE training, replayed one merge at a time, so a learner can watch a vocabulary grow.

A trained BPETokenizer keeps its merges in the order they were learned. Replaying them on a prompt
shows what each merge did: after merge k, the prompt is encoded with the first k merges only.

    steps = merge_steps(tokenizer)                  # [MergeStep(rank=1, left='t', right='h', new='th'), ...]
    ids = tokenizer.encode_with_merges(prompt, 10)  # the prompt after the first 10 merges
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MergeStep:
    rank: int  # 1 for the first merge learned (the most frequent pair in the corpus)
    left_id: int  # the two tokens that were joined...
    right_id: int
    new_id: int  # ...into this new token
    left: str  # their readable labels
    right: str
    new: str


def merge_steps(tokenizer) -> list[MergeStep]:
    """Every merge of a BPETokenizer, in the order learned, with readable labels."""
    return [
        MergeStep(
            rank,
            left,
            right,
            new,
            tokenizer.token_label(left, full=True),
            tokenizer.token_label(right, full=True),
            tokenizer.token_label(new, full=True),
        )
        for rank, (left, right, new) in enumerate(tokenizer.merges, start=1)
    ]


@dataclass(frozen=True)
class ReplayFrame:
    merges_applied: int  # how many merges were used
    ids: tuple[int, ...]  # the prompt's token ids with those merges
    labels: tuple[str, ...]  # a readable label per token
    n_bytes: int  # the prompt's length in UTF-8 bytes (= tokens with 0 merges)

    @property
    def bytes_per_token(self) -> float:
        """How much each token carries: 1.0 before any merge, more as merges are added."""
        return self.n_bytes / max(1, len(self.ids))


def replay(tokenizer, text: str, merges_applied: int) -> ReplayFrame:
    """The prompt as BPE reads it after the first `merges_applied` merges."""
    ids = tuple(tokenizer.encode_with_merges(text, merges_applied))
    return ReplayFrame(merges_applied, ids, tuple(tokenizer.token_label(i) for i in ids), len(text.encode("utf-8")))
