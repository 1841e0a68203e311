"""`python -m core`: build a small GPT, trace one prompt, and print what it saw, no window needed.

python -m core                                   # nano GPT, character tokenizer, a sample prompt
python -m core --prompt "for x in range(3):" --preset micro
python -m core --gpt2 ~/models/gpt2              # a local Hugging Face GPT-2 folder instead
"""

from __future__ import annotations

import argparse

import torch

from core.model.config import preset
from core.model.model import GPT
from core.model.trace import Trace

DEFAULT_PROMPT = "def add(a, b):"
# Used only if the built-in corpus cannot be read: a few lines this project wrote itself.
FALLBACK_TEXT = (
    "Attention lets every token look back at the tokens before it.\n"
    "A query asks, a key answers, and a value is what gets passed along.\n"
    "def add(a, b):\n    return a + b\n"
)


def character_tokenizer():
    """(tokenizer, where its vocabulary came from): characters of Python's help pages, or a fallback."""
    from core.tokenizers import CharTokenizer

    try:
        from core.training.corpora import load_builtin

        text, source = load_builtin("python-docs"), "the characters of Python's help pages"
    except (ImportError, OSError, ValueError):
        text, source = FALLBACK_TEXT, "the characters of a short built-in text"
    return CharTokenizer.from_text(text, unknown="token"), source


def build(args) -> tuple[GPT, object, str]:
    """(model, tokenizer, one line describing both)."""
    if args.gpt2:
        from core.files.gpt2 import load_gpt2

        model, tokenizer = load_gpt2(args.gpt2)
        return model, tokenizer, f"GPT-2 from {args.gpt2}"
    tokenizer, source = character_tokenizer()
    torch.manual_seed(args.seed)
    model = GPT(preset(args.preset, vocab_size=tokenizer.vocab_size, context_length=64)).eval()
    c = model.config
    about = (
        f"a {args.preset} GPT ({c.n_layers} layers, {c.n_heads} heads, d_model {c.d_model}, "
        f"{model.num_params():,} parameters, untrained: its guesses are random), "
        f"tokenizer: {source} ({tokenizer.vocab_size} tokens)"
    )
    return model, tokenizer, about


def _label(tokenizer, token_id: int) -> str:
    return repr(tokenizer.token_label(token_id))


def print_tokens(trace: Trace, tokenizer) -> None:
    ids = trace.ids[0].tolist()
    print(f"\nTokens ({len(ids)}):")
    for position, token_id in enumerate(ids):
        print(f"  {position:3d}  id {token_id:5d}  {_label(tokenizer, token_id)}")


def print_shapes(trace: Trace) -> None:
    print(f"\nTraced values ({len(trace)} names, B=1 prompt):")
    width = max(map(len, trace))
    for name, tensor in trace.items():
        print(f"  {name:<{width}}  {tuple(tensor.shape)}")


def print_strongest_attention(trace: Trace, tokenizer, layer: int = 0) -> None:
    """Per head: its strongest query->key link (leaving out token 0, which can only see itself),
    and where the last token looks most."""
    pattern = trace[f"blocks.{layer}.attn.pattern"][0]  # (H, T, T)
    ids = trace.ids[0].tolist()
    last = len(ids) - 1

    def link(head: int, query: int, key: int) -> str:
        return (
            f"token {query} {_label(tokenizer, ids[query])} -> token {key} {_label(tokenizer, ids[key])} "
            f"({float(pattern[head, query, key]):.3f})"
        )

    print(f"\nStrongest attention of each head in layer {layer}:")
    for head in range(pattern.size(0)):
        later_rows = pattern[head, 1:, :]  # (T-1, T): token 0 sees only itself
        if later_rows.numel():
            query, key = divmod(int(later_rows.argmax()), later_rows.size(1))
            strongest = link(head, query + 1, key)
        else:
            strongest = "(one token: it can only look at itself)"
        print(
            f"  head {head}: strongest {strongest}; the last token looks most at "
            f"{link(head, last, int(pattern[head, last].argmax()))}"
        )


def print_next_tokens(trace: Trace, tokenizer, k: int = 5) -> None:
    probs = trace["probs"][0, -1]  # (vocab,) after the last token
    top = torch.topk(probs, min(k, probs.numel()))
    print(f"\nTop-{len(top.indices)} next tokens:")
    for rank, (p, token_id) in enumerate(zip(top.values.tolist(), top.indices.tolist()), start=1):
        print(f"  {rank}. {_label(tokenizer, token_id):<12} id {token_id:5d}  {100 * p:5.2f}%")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m core", description="Trace one prompt through a small GPT.")
    parser.add_argument("--prompt", default=DEFAULT_PROMPT, help="text to trace")
    parser.add_argument("--preset", default="nano", choices=["nano", "micro", "small"])
    parser.add_argument("--seed", type=int, default=0, help="seed for the random weights")
    parser.add_argument("--gpt2", metavar="FOLDER", help="load GPT-2 from a local Hugging Face folder")
    args = parser.parse_args(argv)
    try:
        model, tokenizer, about = build(args)
        ids = tokenizer.encode(args.prompt)[-model.config.context_length :]
        if not ids:
            raise ValueError("The prompt gives no tokens; type some text.")
        trace = model.trace(ids)
    except ValueError as error:
        parser.exit(2, f"python -m core: {error}\n")
    except MemoryError:  # every size a file declares is checked first; this is what is left
        parser.exit(
            2, "python -m core: this computer ran out of memory; close other programs or use a smaller model.\n"
        )
    print(f"Attention Lab: one trace of {about}.")
    print(f"Prompt: {args.prompt!r}")
    print_tokens(trace, tokenizer)
    print_shapes(trace)
    print_strongest_attention(trace, tokenizer)
    print_next_tokens(trace, tokenizer)


if __name__ == "__main__":
    main()
