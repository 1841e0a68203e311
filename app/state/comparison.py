"""Two prompts side by side: the clean prompt (the explorer's) and a corrupted one, shown three ways.

    comparison = Comparison("When Mary and John went to the store, Mary gave a drink to", DIFFERENCE)
    maker = ComparedMaker()
    snapshot, notice = maker.make(session, clean_prompt, Intervention(), comparison)
    snapshot.mode            # "difference": every value of snapshot.trace is clean − corrupted
    snapshot.compared        # (clean snapshot, corrupted snapshot)
    snapshot.token_labels    # "John/Mary" where the two prompts' tokens differ

Every panel draws whichever snapshot it is handed, so "Corrupted" shows the corrupted prompt everywhere and
"Difference" shows clean − corrupted everywhere. A difference needs the same number of tokens: when the
counts differ the clean prompt is shown and the note says so, until the user pads or cuts (ends aligned,
core/explain/alignment.py). The corrupted prompt is read only while the switch is not on "Clean".
No Qt: the controller's worker thread runs this, and so can a script or a test.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from core import Intervention
from core.explain.alignment import cut_to_same_length, matching_ends, pad_id, pad_to_same_length
from core.explain.difference import difference_trace

from .model_in_use import ModelInUse
from .snapshot import Snapshot
from .snapshot_maker import SnapshotMaker, prompt_ids

CLEAN, CORRUPTED, DIFFERENCE = "clean", "corrupted", "difference"
MODES = (CLEAN, CORRUPTED, DIFFERENCE)
PAD, CUT = "pad", "cut"  # how two prompts of different token counts are made equal (ends aligned)


@dataclass(frozen=True)
class Comparison:
    corrupted_prompt: str = ""  # the second prompt: the clean one with the detail that matters changed
    mode: str = CLEAN  # what every panel shows: CLEAN, CORRUPTED or DIFFERENCE
    fix: str = ""  # PAD or CUT when the token counts differ; "" leaves them as they are

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"A comparison shows one of {', '.join(MODES)}, not {self.mode!r}.")
        if self.fix not in ("", PAD, CUT):
            raise ValueError(
                f"Two prompts of different lengths are padded ({PAD!r}) or cut ({CUT!r}), not {self.fix!r}."
            )

    @property
    def reads_corrupted(self) -> bool:
        """The corrupted prompt is traced: the switch is not on Clean and there is a second prompt."""
        return self.mode != CLEAN and bool(self.corrupted_prompt)


def mode_title(title: str, mode: str) -> str:
    """A panel's title saying which prompt it shows ("Attention — difference")."""
    return title if mode == CLEAN else f"{title} — {mode}"


def alignment_note(clean: list[int], corrupted: list[int], fix: str = "") -> str:
    """One sentence on how the two prompts line up position by position."""
    if len(clean) == len(corrupted):
        return f"Both prompts have {len(clean)} tokens: they line up position by position."
    if fix == PAD:
        longest = max(len(clean), len(corrupted))
        return f"Both prompts now have {longest} tokens (spaces added at the start of the shorter)."
    if fix == CUT:
        shortest = min(len(clean), len(corrupted))
        return f"Both prompts now have {shortest} tokens (the first tokens of the longer cut)."
    more = len(corrupted) - len(clean)
    which = "corrupted" if more > 0 else "clean"
    start, end = matching_ends(clean, corrupted)
    return (
        f"The {which} prompt has {abs(more)} more token{'s' if abs(more) != 1 else ''} "
        f"({len(clean)} clean, {len(corrupted)} corrupted): only the first {start} and the last {end} line up. "
        f"Pad the shorter or cut the longer to compare them position by position."
    )


def alignment_headline(clean: list[int], corrupted: list[int], fix: str = "") -> str:
    """alignment_note in a few words, for the Compare bar (Pad and Cut buttons follow one that ends in ':')."""
    if len(clean) == len(corrupted):
        return f"Both prompts have {len(clean)} tokens."
    if fix == PAD:
        return f"Padded to {max(len(clean), len(corrupted))} tokens."
    if fix == CUT:
        return f"Cut to {min(len(clean), len(corrupted))} tokens."
    more = len(corrupted) - len(clean)
    return (
        f"The {'corrupted' if more > 0 else 'clean'} prompt has {abs(more)} more token{'s' if abs(more) != 1 else ''}:"
    )


def aligned(clean: list[int], corrupted: list[int], fix: str, pad: int) -> tuple[list[int], list[int]]:
    """Both prompts made the same length by `fix` (ends aligned); unchanged when they already are or fix is ""."""
    if len(clean) == len(corrupted) or not fix:
        return clean, corrupted
    if fix == PAD:
        return pad_to_same_length(clean, corrupted, pad)
    return cut_to_same_length(clean, corrupted)


def compared_labels(clean: tuple[str, ...], corrupted: tuple[str, ...]) -> tuple[str, ...]:
    """A label per position: the token where both prompts have it, "clean/corrupted" where they differ."""
    return tuple(a if a == b else f"{a}/{b}" for a, b in zip(clean, corrupted))


def difference_snapshot(clean: Snapshot, corrupted: Snapshot, note: str = "") -> Snapshot:
    """A snapshot whose every traced value is clean − corrupted (ValueError unless the token counts match)."""
    baseline = None
    if clean.baseline is not None and corrupted.baseline is not None:
        baseline = difference_trace(clean.baseline, corrupted.baseline)  # the intact difference, for before/after
    return replace(
        clean,
        trace=difference_trace(clean.trace, corrupted.trace),
        token_labels=compared_labels(clean.token_labels, corrupted.token_labels),
        baseline=baseline,
        mode=DIFFERENCE,
        compared=(clean, corrupted),
        comparison_note=note[0],
        comparison_headline=note[1],
    )


class ComparedMaker:
    """Snapshots of the clean prompt and, while the switch is not on Clean, of the corrupted one: each
    prompt keeps its own SnapshotMaker, so a keystroke in either prompt costs only its new tokens."""

    def __init__(self) -> None:
        self._clean = SnapshotMaker()
        self._corrupted = SnapshotMaker()

    def make(
        self, session: ModelInUse, prompt: str, intervention: Intervention, comparison: Comparison = Comparison()
    ) -> tuple[Snapshot | None, str]:
        """(snapshot to show, notice): the snapshot is None when the clean prompt has nothing to read."""
        ids, cut, notice = prompt_ids(session, prompt)
        if not ids:
            return None, notice
        if not comparison.corrupted_prompt:
            return self._clean.make_from_ids(session, ids, intervention, cut), notice
        other, other_cut, other_notice = prompt_ids(session, comparison.corrupted_prompt)
        if not other:
            note = ("The corrupted prompt has no tokens this model can read.",) * 2
            return replace(
                self._clean.make_from_ids(session, ids, intervention, cut),
                comparison_note=note[0],
                comparison_headline=note[1],
            ), notice
        note = alignment_note(ids, other, comparison.fix), alignment_headline(ids, other, comparison.fix)
        differ = len(ids) != len(other) and not comparison.fix
        if comparison.mode == CLEAN:  # the second prompt is only measured: nothing more to trace
            clean = self._clean.make_from_ids(session, ids, intervention, cut)
            return replace(clean, comparison_note=note[0], comparison_headline=note[1], counts_differ=differ), notice
        if other_notice and other_notice != notice:
            notice = f"{notice} Corrupted prompt: {other_notice}".strip()
        if comparison.mode == CORRUPTED:
            clean = self._clean.make_from_ids(session, ids, intervention, cut)
            shown = self._corrupted.make_from_ids(session, other, intervention, other_cut)
            return replace(
                shown,
                mode=CORRUPTED,
                compared=(clean, shown),
                comparison_note=note[0],
                comparison_headline=note[1],
                counts_differ=differ,
            ), notice
        clean_ids, corrupted_ids = aligned(ids, other, comparison.fix, pad_id(session.tokenizer))
        clean = self._clean.make_from_ids(session, clean_ids, intervention, cut if clean_ids == ids else [])
        if len(clean_ids) != len(corrupted_ids):  # nothing half-drawn: the clean prompt, and why
            return replace(clean, comparison_note=note[0], comparison_headline=note[1], counts_differ=True), notice
        corrupted = self._corrupted.make_from_ids(session, corrupted_ids, intervention)
        return difference_snapshot(clean, corrupted, note), notice
