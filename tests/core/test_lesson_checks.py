"""needs / try / expect lines, questions.md, and the numbers they use, without a window."""

import json
import os

import numpy as np
import pytest
import torch

from core import GPT, GPTConfig
from core.teaching.lesson_checks import (
    CheckError,
    Expectation,
    NumberName,
    builtin_models,
    failed,
    head_of,
    missing,
    model_features,
    model_for,
    parse_action,
    parse_expectation,
    parse_needs,
)
from core.teaching.lesson_numbers import NUMBER_NAMES, LessonContext, live_numbers, tokenizer_facts
from core.teaching.lesson_questions import answer_numbers, guess_matches, split_questions
from core.teaching.lessons import LessonError, check_template, parse_step
from core.teaching.teaching_numbers import positions_off, word_pieces
from core.tokenizers import CharTokenizer


def test_expectations_compare_numbers_words_and_other_numbers():
    assert parse_expectation("top_prob > 0.25", NUMBER_NAMES) == Expectation("top_prob", ">", 0.25, "top_prob > 0.25")
    word = parse_expectation('most_split_word == "flumpish"', NUMBER_NAMES)
    assert word.value == "flumpish" and not isinstance(word.value, NumberName)
    other = parse_expectation("key_token == copied_token", NUMBER_NAMES)
    assert isinstance(other.value, NumberName)
    assert other.holds({"key_token": " met", "copied_token": " met"})
    assert not other.holds({"key_token": " met", "copied_token": " Ben"})
    assert parse_expectation("gpt3_tokens_times > 1,000", NUMBER_NAMES).value == 1000.0


@pytest.mark.parametrize(
    "line, message",
    [
        ("top_prob is big", "number comparison value"),
        ("top_prob >> 0.2", "neither a number"),
        ("top_porb > 0.2", "not a live number"),
        ("top_prob > lots", "neither a number"),
    ],
)
def test_a_wrong_expect_line_says_how_to_write_it(line, message):
    with pytest.raises(CheckError, match=message):
        parse_expectation(line, NUMBER_NAMES)


def test_a_missing_number_or_a_word_against_a_number_fails_the_check():
    action = parse_action({"expect": ["copy_weight >= 0.3", "top_token == top_prob"]}, NUMBER_NAMES, lambda key: "")
    assert len(failed(action, {"copy_weight": None, "top_token": " a", "top_prob": 0.5})) == 2
    assert failed(action, {"copy_weight": 0.4, "top_token": 0.5, "top_prob": 0.5}) == []


def test_needs_and_features():
    assert parse_needs("bpe, Trained") == ("bpe", "trained")
    with pytest.raises(CheckError, match="not a kind of model"):
        parse_needs("gpu")
    char_rope = model_features("rope", "char", False, True)
    story = model_features("learned", "bpe", True, True)
    assert char_rope == {"rope", "trained"} and story == {"bpe", "learned positions", "trained"}
    assert missing(("bpe", "trained"), char_rope) == ["BPE tokens"]
    assert missing(("bpe",), story) == []


def write_meta(folder, pos_encoding, tokenizer, step=100):
    folder.mkdir()
    (folder / "meta.json").write_text(
        json.dumps({"model_config": {"pos_encoding": pos_encoding}, "tokenizer": tokenizer, "step": step})
    )


def test_built_in_models_are_read_from_their_meta_files_default_first(tmp_path):
    write_meta(tmp_path / "characters", "rope", {"type": "char"})
    (tmp_path / "characters" / "README.md").write_text("# The character model\n\ntext")
    write_meta(tmp_path / "default", "learned", {"type": "bpe", "merges": [[1, 2]]})
    (tmp_path / "not-a-model").mkdir()
    models = builtin_models(tmp_path)
    assert [(m.name, m.folder.name) for m in models] == [
        ("the default model", "default"),
        ("The character model", "characters"),
    ]
    assert model_for(("rope",), models).folder.name == "characters"
    assert model_for(("bpe", "trained"), models).folder.name == "default"
    assert model_for(("bpe", "rope"), models) is None


def test_built_in_models_are_read_again_only_when_a_file_changed(tmp_path):
    write_meta(tmp_path / "default", "learned", {"type": "char"})
    first = builtin_models(tmp_path)
    assert builtin_models(tmp_path) is first  # nothing changed: the models read last time
    meta = tmp_path / "default" / "meta.json"
    meta.write_text(json.dumps({"model_config": {"pos_encoding": "rope"}, "tokenizer": {"type": "char"}, "step": 1}))
    os.utime(meta, ns=(1, 1))  # a different time even where the clock is coarse
    assert "rope" in builtin_models(tmp_path)[0].features
    write_meta(tmp_path / "characters", "rope", {"type": "char"})
    assert [m.folder.name for m in builtin_models(tmp_path)] == ["default", "characters"]
    (tmp_path / "characters" / "README.md").write_text("# The character model\n")
    assert builtin_models(tmp_path)[1].name == "The character model"


def test_a_step_reads_its_needs_and_try(tmp_path):
    step = parse_step(
        "---\ntitle: t\npanel: attentionView\nneeds: bpe\ntry: do it\nprompt: Anna met Ben\n"
        "select: 1.2\nswitch off: positions\ntemperature: 0.5\ntrain: 20\n"
        "expect: top_prob > 0.1\n---\nbody",
        "01-x",
        "x.md",
    )
    assert step.needs == ("bpe",)
    action = step.action
    assert (action.prompt, action.select, action.switch_off, action.temperature, action.train) == (
        "Anna met Ben",
        "1.2",
        "positions",
        0.5,
        20,
    )
    assert head_of("1.2", {}) == (1, 2) and head_of("copy_head", {"copy_head": "0.3"}) == (0, 3)


@pytest.mark.parametrize(
    "lines, message",
    [
        ("expect: top_prob > 0.1", "add one"),  # an expectation with no "try this"
        ("try: t\nswitch off: everything", "switch off"),
        ("try: t\nselect: the best one", "select"),
        ("needs: quantum", "not a kind of model"),
    ],
)
def test_a_teachers_mistake_in_a_step_names_the_file(lines, message):
    with pytest.raises(LessonError, match=f"x.md.*{message}"):
        parse_step(f"---\ntitle: t\npanel: p\n{lines}\n---\nbody", "01-x", "x.md")


QUESTIONS = """Read this first.

predict: What comes next?
prompt: The cat sat on the
answer: top_token
reveal: It is “{top_token}”.

choose: Which?
wrong: this one
right: that one
wrong: another
explain: Because."""


def test_questions_parse_in_order_with_their_text_between():
    text, questions = split_questions(QUESTIONS, "q.md", NUMBER_NAMES, check_template)
    assert text == "Read this first."
    predict, choose = questions
    assert (predict.kind, predict.answer, predict.action.prompt) == ("predict", "top_token", "The cat sat on the")
    assert choose.options == (("this one", False), ("that one", True), ("another", False))
    assert choose.explain == "Because."


@pytest.mark.parametrize(
    "question, message",
    [
        ("predict: ?\nanswer: 42\nreveal: x", "must name a live number"),
        ("predict: ?\nanswer: top_token", "needs a 'reveal:'"),
        ("predict: ?\nanswer: top_token\nreveal: {top_tokn}", "not a live number"),
        ("choose: ?\nright: a\nright: b\nexplain: e", "one 'right:'"),
        ("choose: ?\nright: a\nwrong: b", "explain"),
        ("choose: ?\nanswer is b", "expected 'key: value'"),
    ],
)
def test_a_question_that_cannot_be_read_names_the_file_and_question(question, message):
    with pytest.raises((CheckError, LessonError), match=message):
        split_questions(f"intro\n\n{question}", "q.md", NUMBER_NAMES, check_template)


def test_guesses_ignore_case_spaces_and_the_space_mark():
    assert guess_matches("ball", "·ball") and guess_matches(" Ball ", " ball") and guess_matches("2.1", "2.1")
    assert guess_matches("ball", "␣ball") and guess_matches("␣ball", " ball")  # the mark the app draws now
    assert not guess_matches("", "") and not guess_matches("bal", " ball")


def test_word_pieces_count_the_tokens_of_each_word():
    tokenizer = CharTokenizer("abcdefghijklmnopqrstuvwxyz .")
    ids = tokenizer.encode("a cat. ok")
    assert word_pieces(tokenizer, ids) == (("a", 1), ("cat", 3), ("ok", 2))


def small_model(pos_encoding="learned"):
    tokenizer = CharTokenizer("abcdefghijklmnopqrstuvwxyz .")
    torch.manual_seed(0)
    config = GPTConfig(
        vocab_size=tokenizer.vocab_size, context_length=16, d_model=16, n_layers=2, n_heads=2, pos_encoding=pos_encoding
    )
    return GPT(config).eval(), tokenizer


def test_attention_without_weights_is_x_dot_x_softmax_and_weighted_sum():
    model, tokenizer = small_model()
    labels = tuple(tokenizer.token_label(i) for i in range(tokenizer.vocab_size))
    numbers = answer_numbers(model, tokenizer, labels, "ab a")
    x = model.trace(torch.tensor([tokenizer.encode("ab a")])).numpy("embed.sum")  # (T, C)
    scores = x @ x[-1]  # (T,)
    weights = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    assert numbers["plain_dot_self"] == pytest.approx(float(x[-1] @ x[-1]), rel=1e-5)
    assert numbers["plain_key_pos"] == int(np.argmax(scores))
    assert numbers["plain_weight"] == pytest.approx(float(weights.max()), rel=1e-5)
    assert numbers["plain_z_value"] == pytest.approx(float(weights @ x[:, 0]), rel=1e-4, abs=1e-6)


def test_copies_the_mask_and_positions_off_come_from_the_model():
    model, tokenizer = small_model()
    labels = tuple(tokenizer.token_label(i) for i in range(tokenizer.vocab_size))
    ids = tokenizer.encode("ab cab")
    numbers = answer_numbers(model, tokenizer, labels, "ab cab")
    trace = model.trace(torch.tensor([ids]))
    layer, head = map(int, numbers["induction_head"].split("."))
    # the last "b" copies: earlier "b" at 1 is followed by " " at 2
    assert numbers["copied_token"] == labels[ids[2]]
    assert numbers["induction_weight"] == pytest.approx(float(trace.numpy(f"blocks.{layer}.attn.pattern")[head, -1, 2]))
    assert numbers["repeat_embedding_gap"] == 0 and numbers["repeat_input_gap"] > 0
    assert numbers["masked_weight_sum"] == 0
    off = positions_off(model, ids, labels)
    assert numbers["no_position_top_token"] == off.top_token and numbers["position_changes"] == off.changes


def test_a_rope_model_has_no_added_position_so_repeats_have_equal_inputs():
    model, tokenizer = small_model("rope")
    ids = tokenizer.encode("ab cab")
    trace = model.trace(torch.tensor([ids]))
    labels = tuple(tokenizer.token_label(i) for i in range(tokenizer.vocab_size))
    numbers = live_numbers(
        LessonContext(
            trace=trace,
            token_labels=tuple(labels[i] for i in ids),
            vocab_labels=labels,
            config=model.config,
            tokenizer=tokenizer_facts(tokenizer, ids),
        )
    )
    assert numbers["repeat_input_gap"] == 0
