"""Check your understanding: questions written in a lesson's questions.md, answered by the live model.

After its front matter (title, panel, as in a step), questions.md holds Markdown paragraphs and
questions. A question is a paragraph of `key: value` lines starting with `predict:` or `choose:`:

    predict: Which token will the model put first after “The cat sat on the”?
    prompt: The cat sat on the
    answer: top_token
    reveal: Its first choice is “{top_token}” ({top_prob:.0%}); then “{second_token}”.

    choose: What does "large" count in "large language model"?
    right: The parameters: the numbers the network learned.
    wrong: The words it knows.
    explain: A model's size is its parameter count; GPT-3 has about 175 billion.

A `predict:` question has the student type a guess first; then the app types `prompt:` (and ticks the
head `select:` names, if any), and shows `reveal:` filled with live numbers. `answer:` names the live
number the guess is compared with: the answer is always computed from the model, never written down.
A `choose:` question lists its options (`right:` once, `wrong:` one or more) in the order shown, and an
`explain:` that appears once the student has chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.teaching.lesson_checks import CheckError, TryAction, parse_action
from core.tokenizers.labels import unmark_spaces

QUESTION_KEYS = {"predict", "choose", "prompt", "select", "answer", "reveal", "right", "wrong", "explain"}


@dataclass(frozen=True)
class Question:
    kind: str  # "predict" or "choose"
    text: str  # the question
    action: TryAction = TryAction()  # predict: the prompt to type and head to tick before revealing
    answer: str = ""  # predict: the live number that is the answer
    reveal: str = ""  # predict: a live sentence shown with the answer
    options: tuple[tuple[str, bool], ...] = ()  # choose: (option, is it right), in the order shown
    explain: str = ""  # why the answer is what it is


def split_questions(body: str, source: str, known_names, check_template) -> tuple[str, tuple[Question, ...]]:
    """(the Markdown between the questions, the questions) of a questions.md body."""
    text, questions = [], []
    for paragraph in body.split("\n\n"):
        first = paragraph.strip().split(":", 1)[0].strip().lower()
        if first in ("predict", "choose"):
            where = f"{source}, question {len(questions) + 1}"
            questions.append(parse_question(paragraph, where, known_names, check_template))
        elif paragraph.strip():
            text.append(paragraph.strip())
    return "\n\n".join(text), tuple(questions)


def parse_question(paragraph: str, where: str, known_names, check_template) -> Question:
    fields: dict[str, list[str]] = {}
    options: list[tuple[str, bool]] = []  # in the file's order
    for line in paragraph.strip().splitlines():
        key, colon, value = line.partition(":")
        key = key.strip().lower()
        if not colon or key not in QUESTION_KEYS:
            raise CheckError(
                f"{where}: expected 'key: value' with a key from {', '.join(sorted(QUESTION_KEYS))}, "
                f"got {line.strip()!r}."
            )
        fields.setdefault(key, []).append(value.strip())
        if key in ("right", "wrong"):
            options.append((value.strip(), key == "right"))

    def one(key: str) -> str:
        values = fields.get(key, [])
        if len(values) > 1:
            raise CheckError(f"{where} sets {key!r} {len(values)} times; keep one.")
        return values[0] if values else ""

    if "predict" in fields:
        return _predict(fields, one, where, known_names, check_template)
    return _choose(fields, one, where, tuple(options))


def _predict(fields, one, where, known_names, check_template) -> Question:
    answer, reveal = one("answer"), one("reveal")
    if answer not in known_names:
        raise CheckError(f"{where}: 'answer: {answer}' must name a live number (the app computes the answer).")
    if not reveal:
        raise CheckError(f"{where} needs a 'reveal:' sentence that shows the live answer.")
    check_template(reveal, where)
    try:
        action = parse_action(fields, known_names, one)
    except CheckError as error:
        raise CheckError(f"{where}: {error}") from None
    return Question("predict", one("predict"), action=action, answer=answer, reveal=reveal, explain=one("explain"))


def _choose(fields, one, where, options: tuple[tuple[str, bool], ...]) -> Question:
    if len(fields.get("right", [])) != 1 or not fields.get("wrong"):
        raise CheckError(f"{where} needs one 'right:' option and at least one 'wrong:' option.")
    if not one("explain"):
        raise CheckError(f"{where} needs an 'explain:' line, shown once the student has chosen.")
    return Question("choose", one("choose"), options=options, explain=one("explain"))


def questions_markdown(questions: tuple[Question, ...]) -> str:
    """The questions for paper (a hand-out): numbered, options as a list, no answers."""
    parts = []
    for number, question in enumerate(questions, start=1):
        kind = "Predict, then check in the app" if question.kind == "predict" else "Choose one"
        parts.append(f"{number}. **{kind}:** {question.text}")
        parts.extend(f"    - {option}" for option, _ in question.options)
    return "\n\n" + "\n".join(parts) if parts else ""


def guess_matches(guess: str, answer) -> bool:
    """A typed guess against the live answer, ignoring case, spaces and the ␣ (or ·) drawn for a space."""

    def plain(text) -> str:
        return "".join(unmark_spaces(str(text)).split()).strip("\"'“”").lower()

    return bool(plain(guess)) and plain(guess) == plain(answer)


def answer_numbers(
    model, tokenizer, vocab_labels, prompt: str, layer: int = 0, head: int = 0, select: str | None = None, **context
) -> dict:
    """Every live number for `prompt` on `model`, computed now: how a `predict:` question is answered.
    `select` (as in the question) picks the head after a first pass; `context` adds LessonContext fields."""
    import torch

    from core.teaching.explain_numbers import explain_facts
    from core.teaching.lesson_checks import head_of
    from core.teaching.lesson_numbers import LessonContext, live_numbers, tokenizer_facts
    from core.teaching.teaching_numbers import positions_off

    ids = tokenizer.encode(prompt)[-model.config.context_length :]
    if not ids:
        raise ValueError(f"The prompt {prompt!r} has no tokens to predict from.")
    trace = model.trace(torch.tensor([ids]))
    base = LessonContext(
        trace=trace,
        token_labels=tuple(vocab_labels[i] for i in ids),
        vocab_labels=vocab_labels,
        config=model.config,
        layer=layer,
        head=head,
        prompt=prompt,
        tokenizer=tokenizer_facts(tokenizer, ids),
        positions_off=positions_off(model, ids, vocab_labels),
        **{"explanation": explain_facts(model, trace), **context},
    )
    numbers = live_numbers(base)
    chosen = head_of(select, numbers) if select else None
    if chosen is not None and chosen != (layer, head):
        from dataclasses import replace

        numbers = live_numbers(replace(base, layer=chosen[0], head=chosen[1]))
    return numbers
