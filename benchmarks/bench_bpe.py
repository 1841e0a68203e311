"""How fast is our BPE training? Trains on tinyshakespeare to 4,096 tokens, beside Hugging Face's trainer.

    .venv/bin/python benchmarks/bench_bpe.py [--text PATH] [--vocab-size 4096] [--repeats 5]

Our trainer and Hugging Face `tokenizers`' ByteLevel BpeTrainer take turns on the same text; prints
the best and worst wall time of each, the median of the per-round ratios, how many tokens each
vocabulary needs for the whole text, and how much faster tiktoken encodes than our reference encoder.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from datetime import date
from pathlib import Path

from core.tokenizers import BPETokenizer
from core.tokenizers.bpe_training import count_words, train_merges

DEFAULT_TEXT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tinyshakespeare.txt"


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def best_time(function, repeats: int):
    """The fastest of `repeats` runs (the least disturbed by other work on the machine), and its result."""
    runs = [timed(function) for _ in range(repeats)]
    return min(seconds for seconds, _ in runs), runs[-1][1]


def train_hugging_face(text: str, vocab_size: int):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tokenizer.train_from_iterator([text], trainer)
    return tokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", type=Path, default=DEFAULT_TEXT)
    parser.add_argument("--vocab-size", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=5, help="rounds of ours then HF")
    args = parser.parse_args()
    text = args.text.read_text(encoding="utf-8")
    print(f"{date.today()}  {platform.platform()}  python {platform.python_version()}")
    print(f"text: {args.text.name}, {len(text):,} characters; vocab_size {args.vocab_size}; {args.repeats} rounds")

    pre_time, _ = best_time(lambda: count_words(text), args.repeats)
    # Ours and HF take turns, so both see the same load; the ratio is the median of the rounds' ratios.
    ours_times, hf_times = [], []
    for _ in range(args.repeats):
        seconds, merges = timed(lambda: train_merges(text, args.vocab_size))
        ours_times.append(seconds)
        seconds, hf_tokenizer = timed(lambda: train_hugging_face(text, args.vocab_size))
        hf_times.append(seconds)
    ours = BPETokenizer(merges)
    ratio = statistics.median(o / h for o, h in zip(ours_times, hf_times))
    print(
        f"ours:  best {min(ours_times):6.2f} s, worst {max(ours_times):6.2f} s  "
        f"(of which pre-tokenise + count words {pre_time:.2f} s)"
    )
    print(
        f"HF:    best {min(hf_times):6.2f} s, worst {max(hf_times):6.2f} s  "
        f"(tokenizers ByteLevel BpeTrainer, its default threads)"
    )
    print(f"ratio ours / HF (median over rounds): {ratio:.1f}x")

    ours_tokens, hf_tokens = len(ours.encode(text)), len(hf_tokenizer.encode(text).ids)
    print(
        f"tokens for the whole text: ours {ours_tokens:,}, HF {hf_tokens:,} (ours / HF {ours_tokens / hf_tokens:.4f})"
    )

    tiktoken_time, _ = best_time(lambda: ours.encode(text), args.repeats)
    reference_time, _ = best_time(lambda: ours.reference_encode(text), 1)
    print(
        f"encode the whole text: tiktoken {tiktoken_time:.3f} s, reference encoder {reference_time:.2f} s "
        f"(reference / tiktoken {reference_time / tiktoken_time:.0f}x)"
    )


if __name__ == "__main__":
    main()
