"""The model zoo: real language models worth showing a class, each with what it shows best.

Parameter counts are what each model's weights hold (embeddings included, a tied head counted once), the
figure the Hub shows; names like "33M" or "70m" are their authors' round labels. The
download size is NOT listed here: it is asked of the Hub (core.files.hub.download_size) when the user is
about to download, so it is never a stale guess.

    for entry in ZOO:
        print(entry.model_id, human_count(entry.parameters), f"{entry.float32_bytes / 2**30:.1f} GiB")
"""

from __future__ import annotations

from dataclasses import dataclass

BYTES_PER_FLOAT32 = 4


@dataclass(frozen=True)
class ZooEntry:
    model_id: str  # the Hugging Face Hub id, e.g. "gpt2"
    name: str  # what a teacher calls it
    family: str  # the architecture, as its config.json names it, in words
    parameters: int  # numbers in its weights (embeddings included; a tied head counted once)
    shows: str  # what it shows best, in one sentence

    @property
    def float32_bytes(self) -> int:
        """Memory its weights need in float32, the precision every panel computes in."""
        return self.parameters * BYTES_PER_FLOAT32


ZOO: tuple[ZooEntry, ...] = (
    ZooEntry(
        "roneneldan/TinyStories-33M",
        "TinyStories 33M",
        "GPT-Neo",
        68_514_048,
        "Simple English stories from a tiny model: it finishes \"Once upon a time\" like a children's book.",
    ),
    ZooEntry(
        "gpt2",
        "GPT-2 small",
        "GPT-2",
        124_439_808,
        "The classic: learned positions, LayerNorm, GELU, the model most explanations draw.",
    ),
    ZooEntry(
        "gpt2-medium",
        "GPT-2 medium",
        "GPT-2",
        354_823_168,
        "The same design three times bigger: 24 layers of 16 heads, to compare with GPT-2 small.",
    ),
    ZooEntry(
        "EleutherAI/pythia-70m",
        "Pythia 70M",
        "GPT-NeoX",
        70_426_624,
        "The parallel block: attention and MLP read the same input; rotary positions on a quarter of each head.",
    ),
    ZooEntry(
        "EleutherAI/pythia-160m",
        "Pythia 160M",
        "GPT-NeoX",
        162_322_944,
        "The parallel block at GPT-2 small's size, trained on the open Pile data set.",
    ),
    ZooEntry(
        "HuggingFaceTB/SmolLM2-135M",
        "SmolLM2 135M",
        "Llama",
        134_515_008,
        "A modern Llama-shaped model: RMSNorm, SwiGLU, rotary positions, grouped-query attention.",
    ),
    ZooEntry(
        "Qwen/Qwen2.5-0.5B",
        "Qwen2.5 0.5B",
        "Qwen2",
        494_032_768,
        "Grouped-query attention (14 query heads share 2 key/value heads) and a big vocabulary of 151,936 tokens.",
    ),
)


def zoo_entry(model_id: str) -> ZooEntry | None:
    return next((entry for entry in ZOO if entry.model_id == model_id), None)
