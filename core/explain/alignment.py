"""Two prompts for patching must line up position by position: checks, and helpers that pad or cut.

Patching copies a value at (layer, position) from one run into the other, so both prompts need the
same number of tokens. Both helpers keep the prompts' ENDS aligned, because the answer is read after
the last token: padding adds tokens at the start, cutting removes them from the start.
"""

from __future__ import annotations

from collections.abc import Sequence


def _as_list(ids) -> list[int]:
    if hasattr(ids, "tolist"):
        ids = ids.tolist()
    if ids and isinstance(ids[0], list):  # a (1, T) batch
        if len(ids) != 1:
            raise ValueError(f"Patching compares one prompt with one other, not a batch of {len(ids)}.")
        ids = ids[0]
    return [int(i) for i in ids]


def matching_ends(clean: Sequence[int], corrupted: Sequence[int]) -> tuple[int, int]:
    """(tokens the two share at the start, tokens they share at the end)."""
    start = 0
    while start < min(len(clean), len(corrupted)) and clean[start] == corrupted[start]:
        start += 1
    end = 0
    while end < min(len(clean), len(corrupted)) - start and clean[-1 - end] == corrupted[-1 - end]:
        end += 1
    return start, end


def check_same_length(clean_ids, corrupted_ids) -> None:
    """A ValueError sentence unless both prompts have the same number of tokens (and at least one)."""
    clean, corrupted = _as_list(clean_ids), _as_list(corrupted_ids)
    if not clean or not corrupted:
        raise ValueError("Both prompts need at least one token to patch between them.")
    if len(clean) == len(corrupted):
        return
    start, end = matching_ends(clean, corrupted)
    raise ValueError(
        f"The clean prompt has {len(clean)} tokens and the corrupted one {len(corrupted)}; patching copies "
        f"values position by position, so they must have the same count. The first {start} tokens and the "
        f"last {end} match; the middle does not line up. Pick words of the same token count, or make them "
        f"equal with pad_to_same_length (adds tokens at the start of the shorter) or cut_to_same_length "
        f"(drops tokens from the start of the longer)."
    )


def pad_to_same_length(clean_ids, corrupted_ids, pad_id: int) -> tuple[list[int], list[int]]:
    """Both prompts, the shorter one with pad_id added at its start until the counts match."""
    clean, corrupted = _as_list(clean_ids), _as_list(corrupted_ids)
    longest = max(len(clean), len(corrupted))
    return [pad_id] * (longest - len(clean)) + clean, [pad_id] * (longest - len(corrupted)) + corrupted


def cut_to_same_length(clean_ids, corrupted_ids) -> tuple[list[int], list[int]]:
    """Both prompts, the longer one without its first tokens until the counts match."""
    clean, corrupted = _as_list(clean_ids), _as_list(corrupted_ids)
    shortest = min(len(clean), len(corrupted))
    if shortest == 0:
        raise ValueError("Both prompts need at least one token to patch between them.")
    return clean[len(clean) - shortest :], corrupted[len(corrupted) - shortest :]


def pad_id(tokenizer) -> int:
    """What the shorter prompt is padded with at its start: a space, where the tokenizer has one."""
    try:
        ids = tokenizer.encode(" ")
    except ValueError:
        ids = []
    return int(ids[0]) if len(ids) == 1 else 0
