"""What a lesson step needs from the model, what its "try this" does, and what should then be true.

A step file may add these front-matter lines (all optional; see resources/lessons/README.md):

    needs: bpe, learned positions     # the kinds of model the step's demonstration works on
    prompt: Anna met Ben. Then Anna   # the prompt its "try this" types
    select: copy_head                 # the head to tick: "1.2" (layer 1, head 2) or a live number holding one
    switch off: positions             # a what-if to switch on: "positions" or "head" (the selected head)
    temperature: 2                    # the output panel's temperature
    train: 60                         # training steps in the studio (on its current set-up)
    compare: Anna met Eve. Then Anna  # a second prompt in the Compare bar, every panel showing the difference
    expect: top_token_letters >= 2    # one check per line: number, comparison, value

An `expect:` line compares a live number (core.teaching.lesson_numbers) with a number (`0.3`), a word in quotes
(`"flumpish"`, `" ball"`: a space may be written as the app draws it, ·) or another live number:
`key_token == query_token`. Comparisons: == != < <= > >=.
A test performs every "try this" on the built-in models and checks each of its `expect:` lines.
"""

from __future__ import annotations

import json
import operator
import re
from dataclasses import dataclass
from pathlib import Path

from core.files.shipped_models import MODELS_FOLDER
from core.tokenizers.labels import unmark_spaces

# need -> what the model must have, in a few words (the lesson pane shows them on one line)
NEEDS = {"bpe": "BPE tokens", "learned positions": "added positions", "rope": "RoPE", "trained": "trained weights"}
SWITCHES = ("positions", "head")
COMPARISONS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_EXPECT = re.compile(r"^\s*([A-Za-z_]\w*)\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*$")
_HEAD = re.compile(r"^(\d+)\.(\d+)$")


class CheckError(ValueError):
    """A `needs:`, `expect:` or action line that cannot be read; the message says how to write it."""


# -- needs ----------------------------------------------------------------------------------------
def parse_needs(text: str) -> tuple[str, ...]:
    needs = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    for need in needs:
        if need not in NEEDS:
            raise CheckError(f"'needs: {need}' is not a kind of model; use {', '.join(NEEDS)}.")
    return needs


def model_features(pos_encoding: str, tokenizer_kind: str, has_merges: bool, trained: bool) -> frozenset[str]:
    """What a model offers, in the words `needs:` uses."""
    features = set()
    if has_merges or tokenizer_kind in ("bpe", "gpt2"):
        features.add("bpe")
    if pos_encoding in ("learned", "sinusoidal"):
        features.add("learned positions")
    if pos_encoding == "rope":
        features.add("rope")
    if trained:
        features.add("trained")
    return frozenset(features)


def missing(needs: tuple[str, ...], features: frozenset[str]) -> list[str]:
    """The needs this model does not meet, each as words: ['a tokenizer that learned BPE merges']."""
    return [NEEDS[need] for need in needs if need not in features]


@dataclass(frozen=True)
class BuiltinModel:
    name: str  # what a button calls it, e.g. "the default model"
    folder: Path  # the checkpoint folder under resources/models/
    features: frozenset[str]  # as model_features


# folder -> (its files' modification times, the models read then): the lesson pane asks at every model change
_read_models: dict[Path, tuple[tuple, tuple[BuiltinModel, ...]]] = {}


def builtin_models(folder: Path = MODELS_FOLDER) -> tuple[BuiltinModel, ...]:
    """The models the app ships, read from each checkpoint's meta.json (no weights are loaded).
    The default model comes first, so it is offered first. Read again only when a file changed."""
    folder = Path(folder)
    stamp = _modification_times(folder)
    cached = _read_models.get(folder)
    if cached is None or cached[0] != stamp:
        cached = _read_models[folder] = (stamp, _read_builtin_models(folder))
    return cached[1]


def _modification_times(folder: Path) -> tuple:
    """The folder's and every meta.json's and README's modification time: a model added, removed or
    rewritten changes one of them (a few stats, where reading every meta.json takes milliseconds)."""
    times = [folder.stat().st_mtime_ns if folder.is_dir() else None]
    for sub in sorted(folder.iterdir()) if folder.is_dir() else ():
        for name in ("meta.json", "README.md"):
            try:
                times.append((sub.name, name, (sub / name).stat().st_mtime_ns))
            except OSError:
                pass  # not there (not a checkpoint folder, or no README)
    return tuple(times)


def _read_builtin_models(folder: Path) -> tuple[BuiltinModel, ...]:
    found = []
    for sub in sorted(folder.iterdir() if folder.is_dir() else (), key=lambda p: (p.name != "default", p.name)):
        meta_path = sub / "meta.json"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            config, tokenizer = meta["model_config"], meta["tokenizer"]
            features = model_features(
                config.get("pos_encoding", "learned"),
                tokenizer.get("type", ""),
                bool(tokenizer.get("merges")),
                bool(meta.get("step")),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # not a checkpoint folder: nothing to offer
        found.append(BuiltinModel(_model_name(sub), sub, features))
    return tuple(found)


def _model_name(folder: Path) -> str:
    """'the default model', or the first heading of the folder's README ('The character model')."""
    if folder.name == "default":
        return "the default model"
    readme = folder / "README.md"
    if readme.is_file():
        for line in readme.read_text(encoding="utf-8").splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return f"the {folder.name} model"


def model_for(needs: tuple[str, ...], models: tuple[BuiltinModel, ...] | None = None) -> BuiltinModel | None:
    """The first built-in model that meets every need, or None."""
    for model in builtin_models() if models is None else models:
        if not missing(needs, model.features):
            return model
    return None


# -- "try this": what to do, and what to expect ----------------------------------------------------
@dataclass(frozen=True)
class Expectation:
    number: str  # a live number name
    comparison: str  # one of COMPARISONS
    value: object  # a float, a str (a word in quotes) or a NumberName
    text: str  # the line as written, for messages

    def holds(self, numbers: dict) -> bool:
        return COMPARISONS[self.comparison](_spaced(numbers.get(self.number)), _spaced(self.resolve(numbers)))

    def resolve(self, numbers: dict):
        return numbers.get(self.value) if isinstance(self.value, NumberName) else self.value


def _spaced(value):
    """Token labels draw a space as ␣; an `expect:` line may write it either way (or as the older ·)."""
    return unmark_spaces(value) if isinstance(value, str) else value


class NumberName(str):
    """An `expect:` value that names another live number."""


@dataclass(frozen=True)
class TryAction:
    prompt: str | None = None  # typed into the prompt
    select: str | None = None  # "L.H", or the name of a live number holding "L.H"
    switch_off: str | None = None  # "positions" or "head"
    temperature: float | None = None  # set on the output panel
    train: int = 0  # studio training steps
    expect: tuple[Expectation, ...] = ()
    compare: str | None = None  # typed into the Compare bar; every panel then shows clean − corrupted

    @property
    def is_empty(self) -> bool:
        return self == TryAction()


def parse_expectation(line: str, known_names) -> Expectation:
    match = _EXPECT.match(line)
    if not match:
        raise CheckError(f"'expect: {line}' should read 'number comparison value', e.g. 'top_prob > 0.2'.")
    name, comparison, raw = match.groups()
    if name not in known_names:
        raise CheckError(f"'expect: {line}' checks {name!r}, which is not a live number.")
    if raw[0] == raw[-1] and raw[0] in "\"'" and len(raw) >= 2:
        value: object = raw[1:-1]
    elif raw in known_names:
        value = NumberName(raw)
    else:
        try:
            value = float(raw.replace(",", ""))
        except ValueError:
            raise CheckError(
                f"'expect: {line}': {raw!r} is neither a number, a word in quotes nor a live number."
            ) from None
    return Expectation(name, comparison, value, line.strip())


def parse_action(fields: dict[str, list[str]], known_names, one) -> TryAction:
    """The try's action from a step's front matter; `one(key)` reads a key that may appear once."""
    select = one("select") or None
    if select and not (_HEAD.match(select) or select in known_names):
        raise CheckError(f"'select: {select}' should be a head such as 1.2 or a live number that names one.")
    switch_off = (one("switch off") or "").lower() or None
    if switch_off and switch_off not in SWITCHES:
        raise CheckError(f"'switch off: {switch_off}' should be one of {', '.join(SWITCHES)}.")
    try:
        temperature = float(one("temperature")) if one("temperature") else None
        train = int(one("train") or 0)
    except ValueError:
        raise CheckError("'temperature:' takes a number such as 0.5, 'train:' a whole number of steps.") from None
    expect = tuple(parse_expectation(line, known_names) for line in fields.get("expect", []))
    return TryAction(one("prompt") or None, select, switch_off, temperature, train, expect, one("compare") or None)


def head_of(select: str, numbers: dict) -> tuple[int, int] | None:
    """(layer, head) that `select:` names, reading a live number if it names one."""
    value = select if _HEAD.match(select) else numbers.get(select)
    match = _HEAD.match(str(value)) if value is not None else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def failed(action: TryAction, numbers: dict) -> list[str]:
    """The expectations that do not hold, each with the values seen."""
    return [
        f"{e.text} (got {numbers.get(e.number)!r} vs {e.resolve(numbers)!r})"
        for e in action.expect
        if not _safe_holds(e, numbers)
    ]


def _safe_holds(expectation: Expectation, numbers: dict) -> bool:
    try:
        return bool(expectation.holds(numbers))
    except TypeError:  # a missing number (None) or a word compared with a number
        return False
