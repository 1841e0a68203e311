"""Lessons: the shipped Markdown reads, and every live number matches the trace it came from."""

import copy
import math

import numpy as np
import pytest
import torch

from core import GPT, GPTConfig
from core.teaching.lesson_numbers import (
    NUMBER_NAMES,
    LessonContext,
    TrainingFacts,
    gradient_step,
    live_numbers,
    tokenizer_facts,
)
from core.teaching.lessons import LessonError, fill, load_lessons, parse_step, template_names
from core.teaching.explain_numbers import explain_facts
from core.teaching.teaching_numbers import positions_off
from core.training.trainer import TrainConfig
from core.tokenizers.bpe import BPETokenizer

TEXT = "the cat sat on the mat. the cat ate the rat. then the cat sat on the hat."


@pytest.fixture(scope="module")
def tokenizer():
    return BPETokenizer.train(TEXT * 3, vocab_size=280)


def make_context(tokenizer, pos_encoding="learned", layer=1, head=1, **extra):
    torch.manual_seed(0)
    config = GPTConfig(
        vocab_size=tokenizer.vocab_size, context_length=32, d_model=32, n_layers=2, n_heads=2, pos_encoding=pos_encoding
    )
    model = GPT(config)
    prompt = "the cat sat on the"
    ids = tokenizer.encode(prompt)
    context = LessonContext(
        trace=model.trace(ids),
        token_labels=tuple(tokenizer.token_label(i) for i in ids),
        vocab_labels=tuple(tokenizer.token_label(i) for i in range(tokenizer.vocab_size)),
        config=config,
        layer=layer,
        head=head,
        temperature=0.7,
        prompt=prompt,
        tokenizer=tokenizer_facts(tokenizer, ids),
        **extra,
    )
    return model, ids, context


def test_shipped_lessons_load_in_teaching_order():
    opening, forward, training, why = load_lessons()
    assert [s.id.split("-", 1)[-1] for s in opening.steps] == [
        "next-token",
        "large-means-parameters",
        "one-model-many-tasks",
        "transformer",
        "ai-ml-deep-learning",
        "applications",
        "pretraining-and-fine-tuning",
        "data-scale",
        "emergent-abilities",
        "questions",
    ]
    assert [s.id.split("-", 1)[-1] for s in forward.steps] == [
        "text-to-tokens",
        "bpe-merges",
        "special-tokens-and-windows",
        "token-embeddings",
        "positional-encodings",
        "token-plus-position",
        "layer-norm",
        "attention-without-weights",
        "query-key-value",
        "scores-and-scaling",
        "causal-mask",
        "softmax",
        "weighted-sum",
        "multi-head",
        "mlp-and-residual",
        "logits",
        "probabilities-and-sampling",
        "questions",
    ]
    assert training.steps[0].id == "01-loss-gradient-update" and training.steps[-1].id == "questions"
    assert [s.id.split("-", 1)[-1] for s in why.steps] == [
        "logit-lens",
        "direct-attribution",
        "two-prompts",
        "patching",
        "neurons",
        "kv-cache",
        "questions",
    ]
    for lesson in (opening, forward, training, why):
        assert lesson.introduction, lesson.id
        for step in lesson.steps[:-1]:
            assert step.title and step.body and step.live and step.try_this and step.action.expect, step.id
        assert lesson.steps[-1].questions, lesson.id
        kinds = [question.kind for question in lesson.steps[-1].questions]
        assert "predict" in kinds and kinds.count("choose") >= 3, lesson.id


@pytest.mark.parametrize("pos_encoding", ["learned", "sinusoidal", "rope", "none"])
def test_every_number_is_produced_for_every_positional_scheme(tokenizer, pos_encoding):
    _, _, context = make_context(tokenizer, pos_encoding)
    numbers = live_numbers(context)
    assert set(numbers) == NUMBER_NAMES
    assert (numbers["rope_fast"] is None) == (pos_encoding != "rope")
    assert (numbers["position_value"] is None) == (pos_encoding in ("rope", "none"))


def test_attention_numbers_match_the_trace(tokenizer):
    _, ids, context = make_context(tokenizer, layer=1, head=1)
    n = live_numbers(context)
    trace, i = context.trace, len(ids) - 1
    pattern = trace.numpy("blocks.1.attn.pattern")[1]  # (T, T)
    j = int(pattern[i].argmax())
    assert (n["query_pos"], n["key_pos"]) == (i, j)
    assert n["scaled"] == pytest.approx(float(trace.numpy("blocks.1.attn.scores")[1, i, j]), abs=1e-5)
    assert n["dot"] == pytest.approx(n["scaled"] * math.sqrt(16), rel=1e-5)
    assert n["weight"] == pytest.approx(float(pattern[i, j]))
    assert n["row_sum"] == pytest.approx(1.0, abs=1e-5)
    assert n["z_value"] == pytest.approx(float(trace.numpy("blocks.1.attn.z")[1, i, 0]), abs=1e-6)
    # the head's output is the weighted sum of values, done by hand
    values = trace.numpy("blocks.1.attn.v")[1][:, 0]  # (T,)
    assert n["z_value"] == pytest.approx(float(pattern[i] @ values), abs=1e-6)
    assert n["n_masked"] == len(ids) * (len(ids) - 1) // 2 and n["n_visible"] == len(ids)


def test_input_numbers_add_up_and_layer_norm_normalises(tokenizer):
    _, ids, context = make_context(tokenizer)
    n = live_numbers(context)
    assert n["token_id"] == ids[-1]
    assert n["sum_value"] == pytest.approx(n["token_value"] + n["position_value"], abs=1e-6)
    assert n["ln_std_before"] < 0.5 < n["ln_std_after"]  # an untrained stream is small; LN makes it ~1
    assert n["ln_mean_after"] == pytest.approx(0.0, abs=1e-4)


def test_output_and_training_numbers(tokenizer):
    model, ids, context = make_context(tokenizer)
    n = live_numbers(context)
    logits = context.trace.numpy("logits")[-1].astype(np.float64)
    assert n["top_logit"] == pytest.approx(logits.max())
    probs_at_t = np.exp(logits / 0.7) / np.exp(logits / 0.7).sum()
    assert n["top_prob_t"] == pytest.approx(probs_at_t.max())
    assert n["top_prob_cold"] > n["top_prob"] > n["top_prob_hot"]
    ids_t = torch.tensor([ids])
    with torch.no_grad():
        _, loss = model(ids_t[:, :-1], ids_t[:, 1:])
    assert n["loss"] == pytest.approx(loss.item(), rel=1e-5)
    assert n["uniform_loss"] == pytest.approx(math.log(tokenizer.vocab_size))


def test_gradient_step_matches_a_real_update_and_leaves_the_model_alone(tokenizer):
    model, ids, context = make_context(tokenizer)
    before = {name: p.clone() for name, p in model.state_dict().items()}
    update = gradient_step(model, ids, learning_rate=0.05)
    assert all(torch.equal(before[name], p) for name, p in model.state_dict().items())
    assert update.loss_before == pytest.approx(live_numbers(context)["loss"], rel=1e-5)
    # do the same step for real on a copy, the way a trainer would
    copy_ = copy.deepcopy(model)
    inputs, targets = torch.tensor([ids[:-1]]), torch.tensor([ids[1:]])
    _, loss = copy_(inputs, targets)
    loss.backward()
    with torch.no_grad():
        for p in copy_.parameters():
            p -= 0.05 * p.grad
        _, loss_after = copy_(inputs, targets)
    assert update.loss_after == pytest.approx(float(loss_after), rel=1e-5)
    assert update.loss_after < update.loss_before
    assert gradient_step(model, ids[:1]) is None


def test_bpe_merge_example_spells_its_token(tokenizer):
    ids = tokenizer.encode("the cat sat on the")
    facts = tokenizer_facts(tokenizer, ids)
    assert facts.kind == "bpe" and facts.n_merges == len(tokenizer.merges)
    token, left, right, number = facts.merge_example
    made_id = 256 + number - 1
    assert tokenizer.token_label(made_id) == token and made_id in ids
    l_id, r_id, _ = tokenizer.merges[number - 1]
    assert tokenizer.token_bytes(l_id) + tokenizer.token_bytes(r_id) == tokenizer.token_bytes(made_id)


def test_every_shipped_sentence_fills_when_its_numbers_exist(tokenizer):
    model, ids, plain = make_context(tokenizer)
    _, _, context = make_context(
        tokenizer,
        training=TrainingFacts(300, 5.6, 2.1, val_last_loss=2.3, recipe=TrainConfig()),
        update=gradient_step(model, ids),
        positions_off=positions_off(model, ids, plain.vocab_labels),
        explanation=explain_facts(model, plain.trace),
    )
    numbers = live_numbers(context)
    # Missing for a reason: this model has learned positions (no RoPE); a prompt need not hold a merge, nor
    # the same token id twice (here "the" starts the prompt and " the" ends it).
    may_be_missing = {
        "rope_fast",
        "rope_slow",
        "merge_token",
        "merge_left",
        "merge_right",
        "merge_number",
        "repeat_embedding_gap",
        "repeat_input_gap",
    }
    for lesson in load_lessons():
        for step in lesson.steps:
            for template in step.live:
                missing = {name for name in template_names(template) if numbers[name] is None}
                assert missing <= may_be_missing, (step.id, missing)
                sentence = fill(template, numbers)
                assert (sentence is None) == bool(missing), step.id
                assert sentence is None or ("{" not in sentence and "None" not in sentence), step.id


def test_fill_formats_and_leaves_out_missing_numbers():
    assert fill("{a} and {b:.1%} of {c:,}", {"a": 2.3456, "b": 0.25, "c": 50257}) == "2.35 and 25.0% of 50,257"
    assert fill("angle {rope_fast:.2f}", {"rope_fast": None}) is None
    with pytest.raises(LessonError, match="plain number name"):
        fill("{a.__class__}", {"a": 1.0})


def test_a_teachers_mistakes_are_reported_with_the_file_name():
    good = "---\ntitle: T\npanel: outputView\nlive: {top_prob:.0%}\n---\nBody"
    step = parse_step(good, "01-x", "01-x.md")
    assert step.live == ("{top_prob:.0%}",) and step.body == "Body"
    with pytest.raises(LessonError, match=r"01-x.md.*\{top_probability\}.*not a live number"):
        parse_step(good.replace("top_prob", "top_probability"), "01-x", "01-x.md")
    with pytest.raises(LessonError, match="needs a 'panel:' line"):
        parse_step(good.replace("panel: outputView\n", ""), "01-x", "01-x.md")
    with pytest.raises(LessonError, match="must start with a line '---'"):
        parse_step("title: T", "01-x", "01-x.md")
    with pytest.raises(LessonError, match="unknown front-matter keys colour"):
        parse_step(good.replace("title: T", "title: T\ncolour: red"), "01-x", "01-x.md")
    assert parse_step(good.replace("title: T", 'title: "A: B"'), "s", "s").title == "A: B"


def test_a_broken_step_is_left_out_and_described_when_asked(tmp_path):
    lesson = tmp_path / "01-demo"
    lesson.mkdir()
    (lesson / "lesson.md").write_text("---\ntitle: Demo\nsummary: s\n---\nIntro")
    (lesson / "01-good.md").write_text("---\ntitle: Good\npanel: outputView\n---\nBody")
    (lesson / "02-bad.md").write_text("---\ntitle: Bad\n---\nno panel")
    problems = []
    (loaded,) = load_lessons(tmp_path, problems)
    assert [step.id for step in loaded.steps] == ["01-good"]
    assert len(problems) == 1 and "02-bad.md" in problems[0] and "panel" in problems[0]
    with pytest.raises(LessonError, match="02-bad.md"):
        load_lessons(tmp_path)


def test_the_problems_lesson_lists_what_to_fix():
    from core.teaching.lessons import problems_lesson

    lesson = problems_lesson(["a.md needs a 'panel:' line"])
    assert "a.md needs a 'panel:' line" in lesson.steps[0].body
