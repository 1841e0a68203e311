"""Lessons: Markdown files a teacher can edit, read into steps, with sentences filled by live numbers.

A lesson is a folder in resources/lessons/ (folders and files are taken in name order):

    resources/lessons/02-forward-pass/
        lesson.md            front matter: title, summary; the body introduces the lesson
        07-scores.md         one step

A step file starts with front matter, then the explanation in Markdown:

    ---
    title: Scores, and dividing by √d_head
    panel: qkvView                  # object name of the panel to bring forward and highlight
    live: Query {query_pos} dotted with key {key_pos} gives {dot}; ÷ {sqrt_d_head} = {scaled}.
    live: (more sentences: one per `live:` line)
    try: Change the last word and watch the scores move.
    ---
    Markdown explanation...

A step may also say which kind of model it needs and what its "try this" does and should show
(`needs:`, `prompt:`, `select:`, `switch off:`, `temperature:`, `train:`, `compare:`, `expect:`; see
core.teaching.lesson_checks), and a lesson's questions.md holds its questions (core.teaching.lesson_questions).
resources/lessons/README.md documents every line for teachers.

`{name}` in a live sentence is a number from core.teaching.lesson_numbers (its docstring lists them all);
`{name:.3f}` picks the format. A sentence that needs a number this model does not have (merges for a
character tokenizer, RoPE angles for learned positions) is left out rather than shown half-filled.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from core.teaching.lesson_checks import CheckError, TryAction, parse_action, parse_needs
from core.teaching.lesson_questions import Question, split_questions

LESSONS_FOLDER = Path(__file__).resolve().parents[2] / "resources" / "lessons"
ACTION_KEYS = {"prompt", "select", "switch off", "temperature", "train", "expect", "compare"}
STEP_KEYS = {"title", "panel", "highlight", "live", "try", "needs"} | ACTION_KEYS
QUESTIONS_FILE = "questions.md"  # a lesson's "check your understanding" page (core.teaching.lesson_questions)
LESSON_KEYS = {"title", "summary"}


class LessonError(ValueError):
    """A lesson file a teacher wrote cannot be read; the message says which file and what to fix."""


@dataclass(frozen=True)
class LessonStep:
    id: str  # the file name without .md, e.g. "07-scores"
    title: str  # shown in the table of contents
    panel: str  # object name of the panel to bring forward, e.g. "attentionView"
    body: str  # the explanation, Markdown
    live: tuple[str, ...]  # sentence templates filled with live numbers
    try_this: str = ""  # a "try this" suggestion
    highlight: str = ""  # optional object name of a part inside the panel to frame instead
    needs: tuple[str, ...] = ()  # kinds of model the demonstration needs (core.teaching.lesson_checks)
    action: TryAction = TryAction()  # what the "try this" does, and what should then be true
    questions: tuple[Question, ...] = ()  # check-your-understanding questions (questions.md)


@dataclass(frozen=True)
class Lesson:
    id: str  # the folder name, e.g. "02-forward-pass"
    title: str
    summary: str  # one line for the table of contents and the hand-out
    introduction: str  # Markdown body of lesson.md
    steps: tuple[LessonStep, ...]


# -- reading files -------------------------------------------------------------------------------
def split_front_matter(text: str, source: str) -> tuple[dict[str, list[str]], str]:
    """'---\\nkey: value\\n---\\nbody' -> ({key: [values]}, body). Keys may repeat (e.g. live)."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        raise LessonError(f"{source} must start with a line '---', then 'key: value' lines, then '---'.")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise LessonError(f"{source}: the front matter is never closed; add a line '---' after it.") from None
    fields: dict[str, list[str]] = {}
    for number, line in enumerate(lines[1:end], start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, colon, value = line.partition(":")
        if not colon:
            raise LessonError(f"{source}, line {number}: expected 'key: value', got {line.strip()!r}.")
        fields.setdefault(key.strip().lower(), []).append(_unquote(value.strip()))
    return fields, "\n".join(lines[end + 1 :]).strip()


def _unquote(value: str) -> str:
    """'"Training: loss"' -> 'Training: loss' (quotes let a title hold a colon, as in YAML)."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _one(fields: dict[str, list[str]], key: str, source: str, required: bool = True) -> str:
    values = fields.get(key, [])
    if len(values) > 1:
        raise LessonError(f"{source} sets {key!r} {len(values)} times; keep one.")
    if required and not (values and values[0]):
        raise LessonError(f"{source} needs a '{key}:' line in its front matter.")
    return values[0] if values else ""


def _check_keys(fields: dict, allowed: set[str], source: str) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise LessonError(
            f"{source} has unknown front-matter keys {', '.join(sorted(unknown))}; use {', '.join(sorted(allowed))}."
        )


def parse_step(text: str, step_id: str, source: str = "a lesson step") -> LessonStep:
    from core.teaching.lesson_numbers import NUMBER_NAMES

    fields, body = split_front_matter(text, source)
    _check_keys(fields, STEP_KEYS, source)
    live = tuple(fields.get("live", []))
    for template in live:
        check_template(template, source)
    try:
        needs = parse_needs(_one(fields, "needs", source, required=False))
        action = parse_action(fields, NUMBER_NAMES, lambda key: _one(fields, key, source, required=False))
        if action.expect and not _one(fields, "try", source, required=False):
            raise CheckError("'expect:' lines check a 'try:' suggestion; add one")
        questions = ()
        if step_id == QUESTIONS_FILE[:-3]:
            body, questions = split_questions(body, source, NUMBER_NAMES, check_template)
    except CheckError as error:
        raise LessonError(error if str(error).startswith(source) else f"{source}: {error}") from None
    return LessonStep(
        id=step_id,
        title=_one(fields, "title", source),
        panel=_one(fields, "panel", source),
        body=body,
        live=live,
        try_this=_one(fields, "try", source, required=False),
        highlight=_one(fields, "highlight", source, required=False),
        needs=needs,
        action=action,
        questions=questions,
    )


def load_lesson(folder: Path, problems: list[str] | None = None) -> Lesson:
    """The lesson in `folder`. With a `problems` list, a step file that cannot be read is left out and
    its message added to the list; without one, the first problem raises LessonError."""
    folder = Path(folder)
    intro = folder / "lesson.md"
    if not intro.is_file():
        raise LessonError(f"The lesson folder {folder} needs a lesson.md with a title and a summary.")
    fields, introduction = split_front_matter(intro.read_text(encoding="utf-8"), str(intro))
    _check_keys(fields, LESSON_KEYS, str(intro))
    read = (
        _read_or_note(lambda path=path: parse_step(path.read_text(encoding="utf-8"), path.stem, str(path)), problems)
        for path in sorted(folder.glob("*.md"), key=_step_order)
        if path.name != "lesson.md"
    )
    steps = [step for step in read if step is not None]
    if not steps:
        raise LessonError(f"The lesson folder {folder} has no readable step files (e.g. 01-first-step.md).")
    return Lesson(
        id=folder.name,
        title=_one(fields, "title", str(intro)),
        summary=_one(fields, "summary", str(intro), required=False),
        introduction=introduction,
        steps=tuple(steps),
    )


def _step_order(path: Path) -> tuple[bool, str]:
    """Steps in name order, the questions page last."""
    return path.name == QUESTIONS_FILE, path.name


def load_lessons(folder: Path | str = LESSONS_FOLDER, problems: list[str] | None = None) -> tuple[Lesson, ...]:
    """Every lesson under `folder`, in folder-name order. With a `problems` list, unreadable lessons and
    steps are left out and described there (the app keeps going); without one, the first problem raises."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LessonError(f"There is no lessons folder at {folder}.")
    read = (
        _read_or_note(lambda sub=sub: load_lesson(sub, problems), problems)
        for sub in sorted(folder.iterdir())
        if sub.is_dir() and not sub.name.startswith((".", "_"))
    )
    lessons = [lesson for lesson in read if lesson is not None]
    if not lessons:
        raise LessonError(f"{folder} holds no readable lesson folders.")
    return tuple(lessons)


def _read_or_note(read, problems: list[str] | None):
    """read(), or None with its problem noted in `problems` (raised when there is no list)."""
    try:
        return read()
    except (LessonError, UnicodeDecodeError) as error:
        if problems is None:
            raise
        problems.append(str(error))
        return None


def problems_lesson(problems: list[str]) -> Lesson:
    """A one-step lesson that says why no lesson could be read (so the app still opens)."""
    body = "No lesson could be read. Fix these files and restart:\n\n" + "\n".join(f"- {p}" for p in problems)
    step = LessonStep(id="01-problems", title="The lessons could not be read", panel="lessonPane", body=body, live=())
    return Lesson(id="00-problems", title="Lessons", summary="", introduction="", steps=(step,))


# -- filling live sentences ----------------------------------------------------------------------
class _LiveFormatter(string.Formatter):
    """str.format limited to plain names (no attribute or index access), floats as 0.00 by default."""

    def get_field(self, field_name, args, kwargs):
        return self.get_value(field_name, args, kwargs), field_name  # template_names checked the name

    def format_field(self, value, format_spec):
        if isinstance(value, float) and not format_spec:
            format_spec = ".2f"
        return super().format_field(value, format_spec)


_FORMATTER = _LiveFormatter()


def template_names(template: str) -> list[str]:
    """The number names a live sentence uses: '{dot:.2f} and {scaled}' -> ['dot', 'scaled']."""
    names = [name for _, name, _, _ in _FORMATTER.parse(template) if name is not None]
    for name in names:
        if not name.isidentifier():
            raise LessonError(f"'{{{name}}}' is not a plain number name; write e.g. {{dot}} or {{dot:.3f}}.")
    return names


def check_template(template: str, source: str = "a live sentence") -> None:
    """Reject names that no model could ever fill, so a typo shows up when the lesson loads."""
    from core.teaching.lesson_numbers import NUMBER_NAMES

    try:
        names = template_names(template)
    except LessonError as error:
        raise LessonError(f"{source}: {error}") from None
    except ValueError as error:
        raise LessonError(f"{source}: the live sentence {template!r} has a stray brace ({error}).") from None
    for name in names:
        if name not in NUMBER_NAMES:
            raise LessonError(
                f"{source}: the live sentence uses {{{name}}}, which is not a live number. "
                f"Known numbers: {', '.join(sorted(NUMBER_NAMES))}."
            )


def fill(template: str, numbers: dict) -> str | None:
    """The sentence with its numbers in, or None when one of them does not exist for this model."""
    if any(numbers.get(name) is None for name in template_names(template)):
        return None
    try:
        return _FORMATTER.vformat(template, (), numbers)
    except (ValueError, TypeError) as error:
        raise LessonError(f"The live sentence {template!r} could not be filled: {error}.") from None


def live_sentences(step: LessonStep, numbers: dict) -> list[str]:
    filled = (fill(template, numbers) for template in step.live)
    return [sentence for sentence in filled if sentence is not None]
