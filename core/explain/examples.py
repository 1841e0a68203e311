"""The classic patching examples, ready to run on any model whose tokenizer reads them.

    pair = example_pair(model, tokenizer, INDIRECT_OBJECT)     # GPT-2 (any GPT-2 folder)
    pair = example_pair(model, tokenizer, COPYING)             # the default model's induction heads

Indirect-object identification (Wang et al., 2022): "When Mary and John went to the store, John gave a
drink to" → " Mary". The corrupted prompt names Mary second instead, so the model should answer John;
patching finds the heads that carry "the name that was not repeated".
Copying: a list said back word for word stops before its fourth word; the corrupted prompt had another
word there the first time. Only an induction head can supply the word, and patching finds it.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.explain.alignment import check_same_length
from core.explain.attribution import token_id
from core.explain.patching import PatchingPair, patching_pair


@dataclass(frozen=True)
class PatchingExample:
    """Two prompts of the same token count and the two answers that tell them apart."""

    title: str  # what a menu shows
    clean: str  # the prompt whose behaviour we look for
    corrupted: str  # the same prompt with the one detail that matters changed
    answer: str  # the clean prompt's next token (one token, with its leading space)
    wrong: str  # the corrupted prompt's next token

    def token_ids(self, tokenizer) -> tuple[list[int], list[int], int, int]:
        """(clean ids, corrupted ids, answer id, wrong id); a ValueError sentence when this tokenizer
        splits an answer into several tokens or gives the two prompts different token counts."""
        clean, corrupted = tokenizer.encode(self.clean), tokenizer.encode(self.corrupted)
        check_same_length(clean, corrupted)
        return clean, corrupted, token_id(tokenizer, self.answer), token_id(tokenizer, self.wrong)


INDIRECT_OBJECT = PatchingExample(
    "Indirect object (GPT-2): who gets the drink?",
    "When Mary and John went to the store, John gave a drink to",
    "When Mary and John went to the store, Mary gave a drink to",
    " Mary",
    " John",
)
COPYING = PatchingExample(
    "Copying (the default model): words said back",
    'Theo said the magic words: "Grass doll shell dog tall map." Emma said them back: "Grass doll shell',
    'Theo said the magic words: "Grass doll shell cat tall map." Emma said them back: "Grass doll shell',
    " dog",
    " cat",
)
EXAMPLES = (INDIRECT_OBJECT, COPYING)


def example_pair(model, tokenizer, example: PatchingExample) -> PatchingPair:
    """Both prompts of `example` traced on `model`, ready for a sweep."""
    clean, corrupted, answer, wrong = example.token_ids(tokenizer)
    return patching_pair(model, clean, corrupted, answer, wrong)
