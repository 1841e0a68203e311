"""Synthetic tasks: seeded text in the documented formats, and ideal attention patterns that solve them."""

from __future__ import annotations

import numpy as np
import pytest

from core.training.synthetic import SYNTHETIC_TASKS, SyntheticTask, synthetic_task

TASKS = ["copy", "reverse", "sort", "induction", "previous-token"]


def _lines(task: str, n_examples: int = 200, seed: int = 0, **kwargs) -> list[str]:
    text = SYNTHETIC_TASKS[task].generate_text(n_examples, seed, **kwargs)
    assert text.endswith("\n")
    return text[:-1].split("\n")


def test_the_five_tasks_exist_and_explain_themselves_in_one_line():
    assert list(SYNTHETIC_TASKS) == TASKS
    for name, task in SYNTHETIC_TASKS.items():
        assert isinstance(task, SyntheticTask) and task.name == name
        for sentence in (task.description, task.attention_hint):
            assert 20 < len(sentence) < 160 and "\n" not in sentence
        with pytest.raises(AttributeError):
            task.name = "other"  # frozen
    assert "induction head" in SYNTHETIC_TASKS["induction"].attention_hint.lower()
    with pytest.raises(ValueError, match="copy, reverse, sort, induction, previous-token"):
        synthetic_task("addition")


@pytest.mark.parametrize("name", TASKS)
def test_text_is_deterministic_under_a_seed_and_uses_only_the_tasks_symbols(name):
    task = SYNTHETIC_TASKS[name]
    text = task.generate_text(300, seed=7)
    assert text == task.generate_text(300, seed=7)
    assert text != task.generate_text(300, seed=8)
    assert set(text) <= set(task.symbols)
    assert text.count("\n") == 300


def test_copy_writes_the_letters_again():
    for line in _lines("copy", length=9):
        question, answer = line.split("|")
        assert answer == question and len(question) == 9 and question.isalpha()


def test_reverse_writes_the_letters_backwards():
    for line in _lines("reverse"):
        question, answer = line.split("|")
        assert answer == question[::-1] and len(question) == SYNTHETIC_TASKS["reverse"].default_length


def test_sort_writes_distinct_letters_in_alphabetical_order():
    for line in _lines("sort", length=10):
        question, answer = line.split("|")
        assert answer == "".join(sorted(question)) and len(set(question)) == 10


def test_induction_repeats_distinct_letters_with_varying_lengths():
    lengths = set()
    for line in _lines("induction", length=12):
        half = len(line) // 2
        assert len(line) % 2 == 0 and line[:half] == line[half:]
        assert len(set(line[:half])) == half  # no letter twice: the repeat starts where a letter recurs
        lengths.add(half)
    assert lengths == set(range(6, 13))  # half of `length` up to `length`, so no fixed offset solves it


def test_previous_token_groups_repeat_the_letter_before_the_dot():
    for line in _lines("previous-token", length=5):
        groups = line.split(" ")
        assert len(groups) == 5
        assert all(g[1] == "." and g[0] == g[2] and g[0].isalpha() for g in groups)


def test_random_parts_are_uniform_over_the_alphabet():
    # The random part must be unpredictable: every letter about equally often.
    counts = np.zeros(26)
    for line in _lines("copy", n_examples=2_000):
        for letter in line.split("|")[0]:
            counts[ord(letter) - ord("a")] += 1
    frequencies = counts / counts.sum()
    assert np.all(np.abs(frequencies - 1 / 26) < 0.01)


@pytest.mark.parametrize("name", TASKS)
def test_expected_patterns_are_causal_and_rows_sum_to_one(name):
    task = SYNTHETIC_TASKS[name]
    for seed in range(5):
        example = task.generate_text(1, seed=seed)
        pattern = task.expected_pattern(example)
        T = len(example)
        assert pattern.shape == (T, T)
        np.testing.assert_allclose(pattern.sum(axis=1), 1.0)
        assert np.all(pattern >= 0)
        assert np.all(np.triu(pattern, k=1) == 0)  # nothing after the query


@pytest.mark.parametrize("name", TASKS)
def test_where_the_pattern_looks_is_the_next_token(name):
    """Wherever the ideal head looks away from itself, it finds exactly the token that comes next."""
    task = SYNTHETIC_TASKS[name]
    example = task.generate_text(1, seed=3)
    pattern = task.expected_pattern(example)
    looked_up = 0
    for query, key in enumerate(pattern.argmax(axis=1)):
        if key != query:
            looked_up += 1
            is_last_of_induction_copy = name == "induction" and example[query + 1] == "\n"
            if not is_last_of_induction_copy:  # there the head looks at the copy's start, by its definition
                assert example[key] == example[query + 1], (query, key)
    assert looked_up >= task.default_length // 2


def _pointers(task: str, example: str) -> list[int]:
    return SYNTHETIC_TASKS[task].expected_pattern(example).argmax(axis=1).tolist()


def test_patterns_point_where_the_docstring_says():
    # copy "abc|abc": the '|' looks 3 back at a, a at b, b at c; the rest look at themselves.
    assert _pointers("copy", "abc|abc\n") == [0, 1, 2, 0, 1, 2, 6, 7]
    # reverse "abc|cba": an anti-diagonal from the '|' (looks at c) down to the first letter.
    assert _pointers("reverse", "abc|cba\n") == [0, 1, 2, 2, 1, 0, 6, 7]
    # sort "cab|abc": '|' looks at a (position 1), a at b (position 2), b at c (position 0).
    assert _pointers("sort", "cab|abc\n") == [0, 1, 2, 1, 2, 0, 6, 7]
    # induction "qmzqmz": the second q looks at m (1), m at z (2), z at the second copy's start (3).
    assert _pointers("induction", "qmzqmz\n") == [0, 1, 2, 1, 2, 3, 6]
    # previous-token "a.a b.b": each '.' looks one back.
    assert _pointers("previous-token", "a.a b.b\n") == [0, 0, 2, 3, 4, 4, 6, 7]


def test_a_line_without_its_line_break_and_several_lines_both_work():
    task = SYNTHETIC_TASKS["induction"]
    one = task.expected_pattern("qmzqmz")
    assert one.shape == (6, 6)
    two = task.expected_pattern("qmzqmz\nabab\n")
    np.testing.assert_array_equal(two[:7, :7], task.expected_pattern("qmzqmz\n"))
    np.testing.assert_array_equal(two[7:, 7:], task.expected_pattern("abab\n"))
    assert two[7:, :7].sum() == 0  # the second line never looks into the first


def test_the_induction_pattern_scores_perfectly_with_the_head_detector():
    from core.teaching.detectors import induction_score

    example = "qmzbtqmzbt"
    pattern = SYNTHETIC_TASKS["induction"].expected_pattern(example)[None, None]  # (B=1, nh=1, T, T)
    assert induction_score(pattern, period=5)[0] == pytest.approx(1.0)


def test_bad_arguments_and_malformed_examples_are_explained():
    with pytest.raises(ValueError, match="between 2 and 26"):
        SYNTHETIC_TASKS["sort"].generate_text(3, seed=0, length=27)
    with pytest.raises(ValueError, match="at least 1"):
        SYNTHETIC_TASKS["copy"].generate_text(0, seed=0)
    with pytest.raises(ValueError, match="'abc|...'"):
        SYNTHETIC_TASKS["copy"].expected_pattern("abc|ab\n")
    with pytest.raises(ValueError, match="written twice"):
        SYNTHETIC_TASKS["induction"].expected_pattern("abcab\n")
    with pytest.raises(ValueError, match="empty"):
        SYNTHETIC_TASKS["reverse"].expected_pattern("")
