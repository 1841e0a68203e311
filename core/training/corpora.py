"""Where training text comes from: built-in corpora, sample prompts, and any file the user picks.

    text = load_builtin("python-docs")            # on every machine, no download
    ids = encode_text(text, tokenizer)            # compact numpy array of token ids
    ids = encode_file("my_notes.txt", tokenizer)  # a user's file, streamed
    check_corpus_length(len(ids), context_length=64)

Nothing is ever downloaded. The built-in corpora are text that ships with every Python install
(`pydoc_data.topics`, the help pages behind `help("if")`), text this project wrote itself in
resources/text/, and simple stories written by a program (core.training.stories) for as long as asked.
Synthetic tasks with a known right answer live in core.training.synthetic.
"""

from __future__ import annotations

from pathlib import Path

from core.training.stories import generate_stories
from core.files.text_files import CorpusError, iter_text_blocks, read_text_file
from core.training.token_arrays import check_corpus_length, encode_file, encode_text, split_at_line_starts, token_dtype

TEXT_FOLDER = Path(__file__).resolve().parents[2] / "resources" / "text"

# name -> one line for a student choosing what to train on
BUILTIN_CORPORA = {
    "python-docs": "Python's own reference help (about 470 KB of English with code), shipped with every Python.",
    "lessons": "A short plain-English lesson on tokens, embeddings, attention and training (about 21 KB).",
    "stories": "Simple stories in a few hundred common words, written by a program; names recur, so copying "
    "pays (about 530 bytes a story, 20,000 stories by default).",
}
STORY_COUNT = 20000  # stories in the built-in "stories" corpus when no count is given


def load_builtin(name: str, n_stories: int = STORY_COUNT, seed: int = 0) -> str:
    """The text of one built-in corpus; ValueError naming the choices for an unknown name.

    Only "stories" is written on demand: `n_stories` stories, the same text for the same `seed`.
    """
    if name == "stories":
        return generate_stories(n_stories, seed)
    if name == "python-docs":
        return _python_docs()
    if name == "lessons":
        return read_text_file(TEXT_FOLDER / "lessons.txt")
    raise ValueError(f"There is no built-in corpus called {name!r}; choose one of {', '.join(BUILTIN_CORPORA)}.")


def _python_docs() -> str:
    """Every help topic of pydoc_data, in alphabetical order of topic name, separated by a blank line."""
    from pydoc_data.topics import topics  # imported here: it is half a megabyte of strings

    return "\n\n".join(topics[name].strip("\n") for name in sorted(topics)) + "\n"


def sample_prompts() -> list[str]:
    r"""Short prompts that show attention well, from resources/text/prompts.txt.

    One prompt per line; "\n" inside a line stands for a line break; lines starting with '#' and
    blank lines are skipped.
    """
    lines = read_text_file(TEXT_FOLDER / "prompts.txt").splitlines()
    return [line.replace("\\n", "\n") for line in lines if line.strip() and not line.startswith("#")]


__all__ = [
    "BUILTIN_CORPORA",
    "STORY_COUNT",
    "TEXT_FOLDER",
    "CorpusError",
    "check_corpus_length",
    "encode_file",
    "encode_text",
    "iter_text_blocks",
    "load_builtin",
    "read_text_file",
    "sample_prompts",
    "split_at_line_starts",
    "token_dtype",
]
