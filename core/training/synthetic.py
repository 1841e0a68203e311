"""Synthetic tasks whose right attention is known, so a student can watch the right head form.

    task = SYNTHETIC_TASKS["induction"]
    text = task.generate_text(n_examples=5000, seed=0)     # train on this with a character tokenizer
    example = task.generate_text(1, seed=1)                 # e.g. "qmzbt" + "qmzbt" + "\\n"
    ideal = task.expected_pattern(example)                  # (T, T): the head you should see forming

Every example is one line of lowercase letters and a separator or two, ending in a line break, so a
character tokenizer reads it and every token is one readable symbol. A line has a random part, which
no model can predict (its loss stays near log of the alphabet size), and a structured part, which
is fully determined by the random part: next-token prediction on the structured part is the task.
Lengths are fixed per task, except induction, whose length varies so that only matching tokens
(not counting positions) finds the earlier copy.

The formats, for random letters x = x0 x1 ... x(n-1):

    copy            x0 x1 x2 | x0 x1 x2 \\n
    reverse         x0 x1 x2 | x2 x1 x0 \\n
    sort            x0 x1 x2 | the same letters in alphabetical order \\n   (no letter twice)
    induction       x0 x1 x2 x0 x1 x2 \\n   (no letter twice, so the repeat starts at the first repeat)
    previous-token  x0 . x0 ␣ x1 . x1 ␣ x2 . x2 \\n

An expected pattern is a (T, T) matrix, T = number of characters: row p is where the token at
position p should look to predict the token at p + 1. It is causal (nothing right of the diagonal)
and each row sums to 1. A token with nothing to look up (in the random part, or at a separator whose
successor is known without looking) attends to itself.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

LETTERS = string.ascii_lowercase
SEPARATOR = "|"
NEWLINE = "\n"

# Row p of a pattern as "sources": sources[p] is the one position the token at p attends to.
Sources = list[int]


@dataclass(frozen=True)
class SyntheticTask:
    """One task: how its example lines are written, and the attention pattern that solves them."""

    name: str  # key in SYNTHETIC_TASKS, e.g. "copy"
    description: str  # one line for a student: what the model must do
    attention_hint: str  # one line: which attention pattern solves it
    symbols: str  # every character the task writes (build a char tokenizer's vocabulary from it)
    default_length: int  # letters in the random part when generate_text is not told
    min_length: int  # shortest random part the format allows
    max_length: int  # longest random part the format allows
    # (random generator, length) -> one example line ending in "\n"
    make_example: Callable[[np.random.Generator, int], str] = field(repr=False)
    # one example line without its "\n" -> sources of each of its positions
    line_sources: Callable[[str], Sources] = field(repr=False)

    def generate_text(self, n_examples: int, seed: int, length: int | None = None) -> str:
        """`n_examples` example lines, the same text for the same seed; `length` = random letters per line."""
        length = self.default_length if length is None else length
        if not isinstance(n_examples, int) or n_examples < 1:
            raise ValueError(f"n_examples must be a whole number of at least 1, not {n_examples!r}.")
        if not isinstance(length, int) or not self.min_length <= length <= self.max_length:
            raise ValueError(
                f"The {self.name} task needs a length between {self.min_length} and "
                f"{self.max_length} letters, not {length!r}."
            )
        generator = np.random.default_rng(seed)
        return "".join(self.make_example(generator, length) for _ in range(n_examples))

    def expected_pattern(self, example: str) -> np.ndarray:
        """(T, T) ideal attention for one example line (or several whole lines), T = len(example)."""
        sources: Sources = []
        for line in _lines(example):
            body = line.removesuffix(NEWLINE)
            start = len(sources)
            sources += [start + source for source in self.line_sources(body)]
            if line.endswith(NEWLINE):
                sources.append(len(sources))  # the line break looks at itself: the next line is random
        return _pattern_from_sources(sources)


def _lines(text: str) -> list[str]:
    if not text:
        raise ValueError("The example is empty; pass one line made by generate_text.")
    lines = text.split(NEWLINE)
    return [line + NEWLINE for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def _pattern_from_sources(sources: Sources) -> np.ndarray:
    T = len(sources)
    pattern = np.zeros((T, T))  # (query position, key position)
    pattern[np.arange(T), sources] = 1.0
    assert all(source <= query for query, source in enumerate(sources)), "a pattern must be causal"
    return pattern


def _random_letters(generator: np.random.Generator, length: int, distinct: bool = False) -> str:
    picks = generator.choice(len(LETTERS), size=length, replace=not distinct)
    return "".join(LETTERS[i] for i in picks)


def _self(positions: range) -> Sources:
    return list(positions)


# -- copy, reverse and sort: "letters|answer" -------------------------------------------------------------
_QUESTION_ANSWER_SYMBOLS = LETTERS + SEPARATOR + NEWLINE


def _split_at_separator(task: str, body: str) -> tuple[str, str]:
    """The random letters and the answer of a "letters|answer" line, checked."""
    question, separator, answer = body.partition(SEPARATOR)
    if not separator or len(answer) != len(question) or not (question + answer).isalpha():
        raise ValueError(
            f"A {task} example looks like 'abc|...': letters, '|', then as many letters again; got {body!r}."
        )
    return question, answer


def _copy_example(generator: np.random.Generator, length: int) -> str:
    letters = _random_letters(generator, length)
    return f"{letters}{SEPARATOR}{letters}{NEWLINE}"


def _copy_sources(body: str) -> Sources:
    """From the '|' on, position p writes letter p - n next, so it looks exactly n places back."""
    question, _ = _split_at_separator("copy", body)
    n = len(question)
    return _self(range(n)) + [p - n for p in range(n, 2 * n)] + [2 * n]


def _reverse_example(generator: np.random.Generator, length: int) -> str:
    letters = _random_letters(generator, length)
    return f"{letters}{SEPARATOR}{letters[::-1]}{NEWLINE}"


def _reverse_sources(body: str) -> Sources:
    """From the '|' on, position p writes letter 2n - 1 - p next: an anti-diagonal."""
    question, _ = _split_at_separator("reverse", body)
    n = len(question)
    return _self(range(n)) + [2 * n - 1 - p for p in range(n, 2 * n)] + [2 * n]


def _sort_example(generator: np.random.Generator, length: int) -> str:
    letters = _random_letters(generator, length, distinct=True)
    return f"{letters}{SEPARATOR}{''.join(sorted(letters))}{NEWLINE}"


def _sort_sources(body: str) -> Sources:
    """From the '|' on, the k-th output position looks at the input letter that sorts k-th."""
    question, _ = _split_at_separator("sort", body)
    n = len(question)
    sorted_positions = np.argsort(list(question), kind="stable").tolist()  # input position of k-th smallest
    return _self(range(n)) + sorted_positions + [2 * n]


# -- induction: a random sequence, then its repeat -------------------------------------------------------
def _induction_example(generator: np.random.Generator, length: int) -> str:
    n = int(generator.integers(max(2, (length + 1) // 2), length + 1))  # from half of `length` up to it
    letters = _random_letters(generator, n, distinct=True)
    return f"{letters}{letters}{NEWLINE}"


def _induction_sources(body: str) -> Sources:
    """In the second copy, the token at p (first seen at p - n) looks at p - n + 1, the token after it."""
    n = len(body) // 2
    if len(body) % 2 or n < 2 or not body.isalpha():
        raise ValueError(f"An induction example is some letters written twice, like 'qmzqmz'; got {body!r}.")
    return _self(range(n)) + [p - n + 1 for p in range(n, 2 * n)]


# -- previous token: "a.a b.b c.c" ------------------------------------------------------------------------
_GROUP_GAP = " "
_GROUP_MARK = "."


def _previous_token_example(generator: np.random.Generator, length: int) -> str:
    groups = [f"{letter}{_GROUP_MARK}{letter}" for letter in _random_letters(generator, length)]
    return _GROUP_GAP.join(groups) + NEWLINE


def _previous_token_sources(body: str) -> Sources:
    """Each '.' writes the letter just before it, so it looks one place back; everything else at itself."""
    groups = body.split(_GROUP_GAP)
    if not all(len(group) == 3 and group[1] == _GROUP_MARK and group[0].isalpha() for group in groups):
        raise ValueError(f"A previous-token example looks like 'a.a b.b c.c'; got {body!r}.")
    return [p - 1 if character == _GROUP_MARK else p for p, character in enumerate(body)]


SYNTHETIC_TASKS: dict[str, SyntheticTask] = {
    task.name: task
    for task in (
        SyntheticTask(
            name="copy",
            description="After the '|', write the random letters before it again, in the same order.",
            attention_hint="Copy head: from the '|' on, each token attends to the letter exactly n places back "
            "(n = letters before the '|'), the letter it must write next.",
            symbols=_QUESTION_ANSWER_SYMBOLS,
            default_length=8,
            min_length=1,
            max_length=100,
            make_example=_copy_example,
            line_sources=_copy_sources,
        ),
        SyntheticTask(
            name="reverse",
            description="After the '|', write the random letters before it backwards.",
            attention_hint="Reverse head: the '|' attends to the last input letter and each output letter to "
            "the input letter one further left, an anti-diagonal.",
            symbols=_QUESTION_ANSWER_SYMBOLS,
            default_length=8,
            min_length=1,
            max_length=100,
            make_example=_reverse_example,
            line_sources=_reverse_sources,
        ),
        SyntheticTask(
            name="sort",
            description="After the '|', write the letters before it in alphabetical order.",
            attention_hint="Sort head: the '|' attends to the smallest input letter, and each output letter to "
            "the smallest input letter larger than itself, the one to write next.",
            symbols=_QUESTION_ANSWER_SYMBOLS,
            default_length=6,
            min_length=2,
            max_length=len(LETTERS),
            make_example=_sort_example,
            line_sources=_sort_sources,
        ),
        SyntheticTask(
            name="induction",
            description="Random letters are written twice; once the repeat begins, continue it from the first copy.",
            attention_hint="Induction head: on the second copy each token attends to the token just after its "
            "earlier occurrence.",
            symbols=LETTERS + NEWLINE,
            default_length=12,
            min_length=2,
            max_length=len(LETTERS),
            make_example=_induction_example,
            line_sources=_induction_sources,
        ),
        SyntheticTask(
            name="previous-token",
            description="In each group like 'k.k', the letter after the dot repeats the letter before it.",
            attention_hint="Previous-token head: each '.' attends to the token right before it, the letter it "
            "must repeat.",
            symbols=LETTERS + _GROUP_MARK + _GROUP_GAP + NEWLINE,
            default_length=6,
            min_length=1,
            max_length=100,
            make_example=_previous_token_example,
            line_sources=_previous_token_sources,
        ),
    )
}


def synthetic_task(name: str) -> SyntheticTask:
    """The task called `name`; ValueError naming the choices for an unknown name."""
    try:
        return SYNTHETIC_TASKS[name]
    except KeyError:
        raise ValueError(
            f"There is no synthetic task called {name!r}; choose one of {', '.join(SYNTHETIC_TASKS)}."
        ) from None
