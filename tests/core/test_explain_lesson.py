"""The "Why this next token?" lesson: its live numbers are core/explain's own, and every step's
"try this" holds on the default model (performed here from the core; tests/app/test_lesson_tries.py
performs it in the window)."""

import pytest

from core.explain.attribution import direct_attribution
from core.explain.kv_steps import forward_multiply_adds
from core.explain.logit_lens import logit_lens
from core.explain.neurons import top_neurons
from core.files.checkpoint import load_checkpoint
from core.files.shipped_models import DEFAULT_MODEL_FOLDER
from core.teaching.explain_numbers import EXPLAIN_DOCS, explain_facts
from core.teaching.lesson_checks import failed, head_of
from core.teaching.lesson_numbers import NUMBER_NAMES, LessonContext, live_numbers
from core.teaching.lesson_questions import answer_numbers
from core.teaching.lessons import fill, load_lessons
from explain_models import random_ids, tiny_model

LESSON = next(lesson for lesson in load_lessons() if lesson.id == "04-why-this-token")


def _context(model, ids, layer=1, head=2, explained=True):
    trace = model.trace(ids)
    labels = tuple(f"t{i}" for i in range(model.config.vocab_size))
    return trace, LessonContext(
        trace=trace,
        token_labels=tuple(labels[i] for i in ids[0].tolist()),
        vocab_labels=labels,
        config=model.config,
        layer=layer,
        head=head,
        explanation=explain_facts(model, trace) if explained else None,
    )


def test_the_numbers_are_core_explains_own():
    model = tiny_model("gpt2")
    ids = random_ids()
    trace, context = _context(model, ids)
    numbers = live_numbers(context)
    assert set(EXPLAIN_DOCS) <= NUMBER_NAMES
    attribution = direct_attribution(model, trace)
    assert numbers["head_share"] == pytest.approx(attribution.heads[1, 2])
    assert numbers["mlp_share"] == pytest.approx(attribution.mlps[1])
    assert numbers["shares_total"] == pytest.approx(float(trace["logits"][0, -1].max()), abs=1e-4)
    assert numbers["top_share"] == pytest.approx(attribution.heads.max())
    lens = logit_lens(model, trace, k=1)
    assert numbers["lens_early_token"] == f"t{lens.top_ids[1, -1, 0]}"
    assert numbers["lens_early_prob"] == pytest.approx(float(lens.top_probs[1, -1, 0]), abs=1e-6)
    first = next(row for row in range(4) if lens.top_ids[row, -1, 0] == lens.top_ids[-1, -1, 0])
    assert numbers["lens_first_layer"] == first - 1
    table = top_neurons(trace, 1, k=1)
    assert numbers["top_neuron"] == int(table.neurons[0])
    assert numbers["top_neuron_activation"] == pytest.approx(float(table.peaks[0]))


def test_without_the_weights_only_the_cache_numbers_are_there():
    model = tiny_model("llama")
    _, context = _context(model, random_ids(n_tokens=7), explained=False)
    numbers = live_numbers(context)
    cache = {"cache_reused", "cache_work", "no_cache_work", "cache_saving"}
    assert all(numbers[name] is None for name in set(EXPLAIN_DOCS) - cache)
    assert numbers["cache_reused"] == 7
    assert numbers["cache_work"] == forward_multiply_adds(model.config, 1, 7)
    assert numbers["cache_saving"] == pytest.approx(1 - numbers["cache_work"] / forward_multiply_adds(model.config, 8))


@pytest.fixture(scope="module")
def story_model():
    return load_checkpoint(DEFAULT_MODEL_FOLDER)


@pytest.mark.parametrize("step", [step for step in LESSON.steps if step.try_this], ids=lambda step: step.id)
def test_every_try_holds_on_the_default_model(story_model, step):
    model, tokenizer = story_model.model, story_model.tokenizer
    labels = tuple(tokenizer.token_label(i) for i in range(tokenizer.vocab_size))
    action = step.action
    numbers = answer_numbers(model, tokenizer, labels, action.prompt, select=action.select)
    if action.select:
        assert head_of(action.select, numbers) == (numbers["layer"], numbers["head"])
    assert failed(action, numbers) == [], step.id
    for template in step.live:
        sentence = fill(template, numbers)
        assert sentence is not None and "{" not in sentence and "None" not in sentence, (step.id, template)


def test_the_lesson_reads_like_the_others():
    assert LESSON.introduction and LESSON.steps[-1].questions
    for step in LESSON.steps[:-1]:
        assert step.title and step.body and step.live and step.try_this and step.action.expect, step.id


def test_the_predict_question_is_answered_from_the_model(story_model):
    model, tokenizer = story_model.model, story_model.tokenizer
    labels = tuple(tokenizer.token_label(i) for i in range(tokenizer.vocab_size))
    predicts = [question for question in LESSON.steps[-1].questions if question.kind == "predict"]
    assert predicts
    for question in predicts:
        numbers = answer_numbers(model, tokenizer, labels, question.action.prompt, select=question.action.select)
        assert numbers[question.answer] == "3.3"  # the head that reads the name back (see README)
        assert fill(question.reveal, numbers) is not None
