"""Training byte-level BPE from scratch.

The recipe, in the order it runs:
1. Cut the corpus into words (GPT-2's pattern) and count how often each distinct word occurs.
2. Write every word as its UTF-8 bytes: tokens 0..255 are the 256 possible bytes.
3. Count every adjacent pair of tokens, weighted by how often its word occurs.
4. Repeat until the vocabulary is big enough: take the most frequent pair, give it a new token id,
   and replace that pair by the new token inside every word that holds it.

Step 4 must be fast. Recounting every pair after every merge would read the whole corpus thousands
of times, so the counts are kept up to date instead: a merge only changes the words that hold the
merged pair, and we know which words those are because we keep, for every pair, the set of words
it appears in. Only those words are rewritten and only their pairs are recounted.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Callable

from core.tokenizers.pretokenize import GPT2_PATTERN, split_into_words, training_pieces

Pair = tuple[int, int]
Merge = tuple[int, int, int]  # (left id, right id, new id)
ProgressCallback = Callable[[int, int], None]  # (merges done, merges wanted)

N_BYTE_TOKENS = 256  # tokens 0..255 are the single bytes


def count_words(text: str, pattern: str = GPT2_PATTERN) -> Counter[bytes]:
    """How often each distinct pre-tokenised word occurs, each word as UTF-8 bytes (a very long word
    counted as its pieces: see MAX_WORD_BYTES)."""
    byte_counts: Counter[bytes] = Counter()
    for word, count in Counter(split_into_words(text, pattern)).items():
        for piece in training_pieces(word.encode("utf-8")):
            byte_counts[piece] += count
    return byte_counts


def merge_pair(ids: list[int], pair: Pair, new_id: int) -> list[int]:
    """`ids` with every occurrence of `pair` (read left to right, never overlapping) replaced by `new_id`."""
    return _merge_with_positions(ids, pair, new_id)[0]


def _merge_with_positions(ids: list[int], pair: Pair, new_id: int) -> tuple[list[int], list[int]]:
    """(merged ids, where in `ids` each merged occurrence started)."""
    left, right = pair
    merged: list[int] = []
    positions: list[int] = []
    start = 0  # ids before this are in `merged` already
    while True:
        try:
            i = ids.index(left, start)  # jump to the next left half (a search in C, not a Python loop)
        except ValueError:
            break
        if i + 1 < len(ids) and ids[i + 1] == right:
            merged += ids[start:i]
            merged.append(new_id)
            positions.append(i)
            start = i + 2
        else:
            merged += ids[start : i + 1]
            start = i + 1
    merged += ids[start:]
    return merged, positions


def merge_in_word(ids: list[int], pair: Pair, new_id: int) -> tuple[list[int], list[Pair], list[Pair]]:
    """Merge `pair` in one word: (new ids, pairs that went away, pairs that appeared), each listed once per
    occurrence. Only the neighbours of a merged pair change, so this costs the number of merges made,
    not the word's length: a long word (a DNA sequence) is not recounted after every merge."""
    merged, positions = _merge_with_positions(ids, pair, new_id)
    left, right = pair
    gone: list[Pair] = []
    appeared: list[Pair] = []
    for k, i in enumerate(positions):
        gone.append(pair)
        if i > 0:
            gone.append((ids[i - 1], left))
        next_is_merged_too = k + 1 < len(positions) and positions[k + 1] == i + 2
        if i + 2 < len(ids) and not next_is_merged_too:  # else that pair is the next one's left neighbour
            gone.append((right, ids[i + 2]))
        j = i - k  # where the new token sits in `merged`: each earlier merge made the word one shorter
        if j > 0:
            appeared.append((merged[j - 1], new_id))
        if j + 1 < len(merged) and merged[j + 1] != new_id:  # (new, new) is the next one's left neighbour
            appeared.append((new_id, merged[j + 1]))
    return merged, gone, appeared


class PairCounts:
    """How often each adjacent pair occurs in the corpus, and which words hold it.

    `words` are the distinct words as lists of token ids; `word_counts[w]` is how often word w occurs.
    A heap of (-count, left, right) finds the most frequent pair quickly. Its entries may be out of
    date, but never too low: when a count grows, a new entry is pushed; when it shrinks, nothing is
    done until the old entry reaches the top, where it is corrected (or dropped, at zero).
    """

    def __init__(self, words: list[list[int]], word_counts: list[int]) -> None:
        self.count: dict[Pair, int] = defaultdict(int)
        self.words_with: dict[Pair, set[int]] = defaultdict(set)
        for word, ids in enumerate(words):
            for pair in zip(ids, ids[1:]):
                self.count[pair] += word_counts[word]
                self.words_with[pair].add(word)
        self._heap = [(-count, left, right) for (left, right), count in self.count.items()]
        heapq.heapify(self._heap)
        self._skipped: set[Pair] = set()

    def most_frequent(self) -> Pair | None:
        """The pair that occurs most often (ties: the smallest ids), or None if no pair is left."""
        while self._heap:
            negative_count, left, right = self._heap[0]
            pair = (left, right)
            count = self.count.get(pair, 0)
            if count == -negative_count and pair not in self._skipped:
                return pair
            if count == 0 or pair in self._skipped:
                heapq.heappop(self._heap)
            else:  # the count shrank since this entry was pushed: put it back with the true count
                heapq.heapreplace(self._heap, (-count, left, right))
        return None

    def skip(self, pair: Pair) -> None:
        """Never offer `pair` again."""
        self._skipped.add(pair)

    def replace_word(self, word: int, gone: list[Pair], appeared: list[Pair], occurrences: int) -> None:
        """Word `word` (occurring `occurrences` times) lost the pairs `gone` and gained `appeared` (see
        merge_in_word): update the counts. A word stays listed under a pair it lost (checking would cost
        a pass over the word); merging finds nothing in it, which is cheap."""
        change: dict[Pair, int] = defaultdict(int)
        for pair in gone:
            change[pair] -= occurrences
        for pair in appeared:
            change[pair] += occurrences
            self.words_with[pair].add(word)
        for pair, delta in change.items():
            if delta:
                self._add(pair, delta)

    def _add(self, pair: Pair, delta: int) -> None:
        count = self.count[pair] + delta
        if count:
            self.count[pair] = count
        else:
            del self.count[pair]
        if delta > 0:
            heapq.heappush(self._heap, (-count, *pair))


def train_merges(
    text: str, vocab_size: int, pattern: str = GPT2_PATTERN, progress: ProgressCallback | None = None
) -> list[Merge]:
    """Learn up to vocab_size - 256 merges from `text`, in the order they were learned.

    Merge i creates token 256 + i. Training stops early if every word has become a single token.
    `progress(done, wanted)` is called after each merge.
    """
    check_vocab_size(vocab_size)
    word_counts = count_words(text, pattern)
    words = [list(word) for word in word_counts]  # each distinct word as byte ids 0..255
    occurrences = list(word_counts.values())
    pairs = PairCounts(words, occurrences)

    token_bytes = [bytes([byte]) for byte in range(N_BYTE_TOKENS)]
    known_bytes = set(token_bytes)
    merges: list[Merge] = []
    wanted = vocab_size - N_BYTE_TOKENS
    while len(merges) < wanted:
        pair = pairs.most_frequent()
        if pair is None:
            break  # every word is already one token: nothing left to merge
        new_bytes = token_bytes[pair[0]] + token_bytes[pair[1]]
        if new_bytes in known_bytes:
            # A different pair already spells these bytes. tiktoken knows a token by its bytes,
            # so two tokens must never share them: leave this pair unmerged.
            pairs.skip(pair)
            continue
        new_id = len(token_bytes)
        for word in pairs.words_with.pop(pair):
            words[word], gone, appeared = merge_in_word(words[word], pair, new_id)
            pairs.replace_word(word, gone, appeared, occurrences[word])
        merges.append((pair[0], pair[1], new_id))
        token_bytes.append(new_bytes)
        known_bytes.add(new_bytes)
        if progress is not None:
            progress(len(merges), wanted)
    return merges


def check_vocab_size(vocab_size: int) -> None:
    if not isinstance(vocab_size, int) or isinstance(vocab_size, bool) or vocab_size < N_BYTE_TOKENS:
        raise ValueError(
            f"vocab_size must be a whole number of at least {N_BYTE_TOKENS} (one token for every "
            f"possible byte, before any merge), but it is {vocab_size!r}."
        )
