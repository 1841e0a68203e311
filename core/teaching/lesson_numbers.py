"""The live numbers a lesson sentence can quote, computed from one trace of the current prompt.

Everything is read from the trace (or worked out from it with a line of numpy that the lesson
explains), for the layer and head the student has chosen. The token we follow is the last one in
the prompt (the one whose output predicts the next token); the key we look at is the one it
attends to most. Positions count from 0, as in the code and on the heatmaps' axes.

List every name with its meaning:  python -m core.teaching.lesson_numbers
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from core.model.config import GPTConfig
from core.model.param_count import FAMOUS_CONFIGS, count_parameters, human_count
from core.model.sampling import next_token_probs
from core.teaching.explain_numbers import EXPLAIN_DOCS, explain_numbers
from core.teaching.teaching_numbers import MORE_DOCS, MORE_STAGES, PositionsOff, word_pieces
from core.model.trace import Trace


@dataclass(frozen=True)
class TokenizerFacts:
    kind: str                       # "char", "bpe" or "gpt2"
    n_merges: int | None            # merges a BPE tokenizer learned; None if it has none to show
    merge_example: tuple[str, str, str, int] | None  # (token, left part, right part, merge number)
    word_pieces: tuple[tuple[str, int], ...] = ()    # (word, tokens it took) for each word of the prompt
    special: tuple[str, ...] = ()                    # special tokens, e.g. "<|endoftext|>"


@dataclass(frozen=True)
class TrainingFacts:
    steps: int                      # training steps taken so far
    first_loss: float               # training loss at the first recorded step
    last_loss: float                # training loss at the latest recorded step
    val_last_loss: float | None = None  # validation loss at the latest measurement, if measured
    recipe: object | None = None    # the TrainConfig (learning rate, schedule, AdamW, clipping), if known


@dataclass(frozen=True)
class UpdateFacts:
    learning_rate: float            # step size used
    loss_before: float              # loss on the prompt with the current weights
    loss_after: float               # loss after one gradient-descent step on the prompt
    gradient_norm: float            # length of the whole gradient vector


@dataclass(frozen=True)
class LessonContext:
    trace: Trace                          # one forward pass over the prompt (batch of 1)
    token_labels: tuple[str, ...]         # a readable label per prompt token
    vocab_labels: tuple[str, ...]         # a readable label per vocabulary id
    config: GPTConfig                     # the model's shape
    layer: int = 0                        # the layer the student chose
    head: int = 0                         # the head the student chose
    temperature: float = 1.0              # the output panel's temperature
    prompt: str = ""                      # the prompt text as typed
    tokenizer: TokenizerFacts | None = None
    training: TrainingFacts | None = None
    update: UpdateFacts | None = None
    positions_off: PositionsOff | None = None  # the prompt run again without positional encoding
    explanation: object | None = None     # core.teaching.explain_numbers.ExplainFacts: lens, attribution, neurons


# name -> what it means; a teacher may use any of these as {name} in a `live:` line.
NUMBER_DOCS: dict[str, str] = {
    # the prompt and the model
    "n_chars": "characters in the prompt",
    "n_tokens": "tokens in the prompt",
    "chars_per_token": "characters per token (how much the tokenizer compresses)",
    "ids": "the first few token ids",
    "tokens": "the first few tokens",
    "vocab_size": "how many different tokens the model knows",
    "context_length": "the longest prompt the model reads",
    "tokenizer_kind": "char, bpe or gpt2",
    "n_merges": "merges a BPE tokenizer learned (missing for a character tokenizer)",
    "merge_token": "a prompt token made by a merge", "merge_left": "its left part",
    "merge_right": "its right part", "merge_number": "which merge made it (1 = first learned)",
    "d_model": "numbers in each token's vector", "n_layers": "transformer blocks",
    "n_heads": "attention heads per block", "d_head": "numbers each head works in",
    "sqrt_d_head": "√d_head", "d_mlp": "hidden width of each MLP", "pos_encoding": "positional scheme",
    "layer": "the chosen layer", "head": "the chosen head",
    # parameters
    "params": "this model's parameter count, short (e.g. 0.8M)", "params_exact": "the exact count",
    "params_embeddings": "parameters in the embeddings", "params_attention": "in attention",
    "params_mlp": "in the MLPs", "params_layer_norm": "in the LayerNorms", "params_head": "in the output head",
    "gpt2_small": "GPT-2 small's count", "gpt2_xl": "GPT-2 XL's count", "gpt3": "GPT-3's count",
    "gpt3_times": "how many times bigger GPT-3 is than this model",
    # embeddings and position
    "pos": "the position we follow (the last token)", "token": "the token at that position",
    "token_id": "its id", "token_vector": "the first numbers of its token embedding",
    "token_norm": "the length of its token embedding",
    "position_vector": "the first numbers of its positional encoding (learned or sinusoidal)",
    "token_value": "its token embedding's first number", "position_value": "its positional encoding's first number",
    "sum_value": "their sum: the first number of the block's input",
    "rope_fast": "RoPE angle (radians) of the fastest-turning pair at this position",
    "rope_slow": "RoPE angle of the slowest-turning pair",
    # attention in the chosen layer and head
    "query_pos": "the query's position (the last token)", "query_token": "its token",
    "key_pos": "the key it attends to most", "key_token": "that key's token",
    "query_vector": "first numbers of the query", "key_vector": "first numbers of that key",
    "value_vector": "first numbers of that key's value",
    "dot": "query · key", "scaled": "query · key ÷ √d_head (the score)",
    "n_masked": "score cells hidden by the causal mask", "n_cells": "all score cells (tokens²)",
    "n_visible": "keys the query may see (itself and earlier)",
    "weight": "the attention weight from query to key after softmax", "uniform_weight": "1 ÷ n_visible",
    "row_sum": "the sum of the query's attention row (always 1)",
    "z_value": "first number of the head's output (the weighted sum of values)",
    "z_term": "the key's share of it: weight × its value's first number",
    "concat_width": "n_heads × d_head, the width after concatenating the heads",
    "attn_out_norm": "length of what attention adds to the residual stream",
    # MLP, residual and LayerNorm
    "resid_pre_norm": "length of the residual stream entering the chosen block",
    "mlp_out_norm": "length of what the MLP adds", "resid_post_norm": "length leaving the block",
    "gelu_off": "share of the MLP's hidden numbers that are negative before GELU (it makes them small)",
    "ln_mean_before": "mean of the last residual before the final LayerNorm",
    "ln_std_before": "its standard deviation", "ln_mean_after": "mean after LayerNorm",
    "ln_std_after": "standard deviation after LayerNorm",
    # output
    "top_token": "the most likely next token", "top_logit": "its logit", "top_prob": "its probability (0–1)",
    "second_token": "the second most likely", "second_logit": "its logit", "second_prob": "its probability",
    "temperature": "the output panel's temperature", "top_prob_t": "top probability at that temperature",
    "top_prob_cold": "top probability at temperature 0.5", "top_prob_hot": "top probability at temperature 2",
    # training
    "next_token": "the real token after position 0", "next_prob": "the probability the model gave it",
    "next_loss": "its loss, −ln(next_prob)", "loss": "average loss over the prompt",
    "uniform_loss": "the loss of a model that guesses uniformly, ln(vocab_size)",
    "perplexity": "e^loss: how many tokens it is choosing between, in effect",
    "train_steps": "training steps in the timeline", "train_first_loss": "its first loss",
    "train_last_loss": "its latest loss",
    "learning_rate": "step size of the update shown", "update_loss_before": "loss on the prompt now",
    "update_loss_after": "loss after one gradient step on the prompt", "gradient_norm": "length of the gradient",
}
NUMBER_DOCS.update(MORE_DOCS)
NUMBER_DOCS.update(EXPLAIN_DOCS)
NUMBER_NAMES = frozenset(NUMBER_DOCS)


def vector_text(values: np.ndarray, count: int = 3) -> str:
    """The first few numbers of a vector, as a student would write them: '0.12, -0.40, 0.03, …'."""
    shown = ", ".join(f"{v:.2f}" for v in values[:count])
    return shown + (", …" if len(values) > count else "")


def _norm(vector: np.ndarray) -> float:
    return float(np.linalg.norm(vector))


# -- one function per stage, in teaching order ----------------------------------------------------
def prompt_numbers(ctx: LessonContext) -> dict:
    ids = ctx.trace.ids[0].tolist()
    facts = ctx.tokenizer
    example = facts.merge_example if facts else None
    return {
        "n_chars": len(ctx.prompt), "n_tokens": len(ids),
        "chars_per_token": len(ctx.prompt) / len(ids) if ctx.prompt else None,
        "ids": ", ".join(map(str, ids[:8])) + (", …" if len(ids) > 8 else ""),
        "tokens": " | ".join(ctx.token_labels[:8]) + (" | …" if len(ids) > 8 else ""),
        "vocab_size": ctx.config.vocab_size, "context_length": ctx.config.context_length,
        "tokenizer_kind": facts.kind if facts else None,
        "n_merges": facts.n_merges if facts else None,
        "merge_token": example[0] if example else None, "merge_left": example[1] if example else None,
        "merge_right": example[2] if example else None, "merge_number": example[3] if example else None,
    }


def model_numbers(ctx: LessonContext) -> dict:
    c = ctx.config
    return {
        "d_model": c.d_model, "n_layers": c.n_layers, "n_heads": c.n_heads, "d_head": c.d_head,
        "sqrt_d_head": math.sqrt(c.d_head), "d_mlp": c.d_mlp, "pos_encoding": c.pos_encoding,
        "layer": ctx.layer, "head": ctx.head,
    }


def parameter_numbers(ctx: LessonContext) -> dict:
    count = count_parameters(ctx.config)
    famous = {name: count_parameters(config).total for name, config in FAMOUS_CONFIGS.items()}
    return {
        "params": human_count(count.total), "params_exact": f"{count.total:,}",
        "params_embeddings": human_count(count.embeddings), "params_attention": human_count(count.attention),
        "params_mlp": human_count(count.mlp), "params_layer_norm": human_count(count.layer_norm),
        "params_head": human_count(count.head) if count.head else "0 (it reuses the token embedding)",
        "gpt2_small": human_count(famous["GPT-2 small"]), "gpt2_xl": human_count(famous["GPT-2 XL"]),
        "gpt3": human_count(famous["GPT-3"]), "gpt3_times": f"{famous['GPT-3'] / count.total:,.0f}",
    }


def embedding_numbers(ctx: LessonContext) -> dict:
    pos = ctx.trace.ids.shape[1] - 1
    token_vector = ctx.trace.numpy("embed.tok")[pos]          # (C,)
    block_input = ctx.trace.numpy("embed.sum")[pos]           # (C,)
    numbers = {
        "pos": pos, "token": ctx.token_labels[pos], "token_id": int(ctx.trace.ids[0, pos]),
        "token_vector": vector_text(token_vector), "token_norm": _norm(token_vector),
        "token_value": float(token_vector[0]), "sum_value": float(block_input[0]),
        "position_vector": None, "position_value": None, "rope_fast": None, "rope_slow": None,
    }
    if ctx.config.pos_encoding == "rope":
        angles = ctx.trace.numpy("embed.pos")[pos]            # (hs/2,): one angle per pair of dims
        numbers.update(rope_fast=float(angles[0]), rope_slow=float(angles[-1]))
    elif ctx.config.pos_encoding in ("learned", "sinusoidal"):
        position_vector = ctx.trace.numpy("embed.pos")[pos]   # (C,)
        numbers.update(position_vector=vector_text(position_vector), position_value=float(position_vector[0]))
    return numbers


def attention_numbers(ctx: LessonContext) -> dict:
    """Q·K, scaling, mask, softmax and the weighted sum, for the last token in the chosen head."""
    name, h = f"blocks.{ctx.layer}.attn", ctx.head
    query, key, value = (ctx.trace.numpy(f"{name}.{part}")[h] for part in "qkv")   # each (T, hs)
    pattern = ctx.trace.numpy(f"{name}.pattern")[h]                                  # (T, T)
    z = ctx.trace.numpy(f"{name}.z")[h]                                              # (T, hs)
    T = query.shape[0]
    i = T - 1
    j = int(np.argmax(pattern[i]))
    dot = float(query[i] @ key[j])
    return {
        "query_pos": i, "query_token": ctx.token_labels[i], "key_pos": j, "key_token": ctx.token_labels[j],
        "query_vector": vector_text(query[i]), "key_vector": vector_text(key[j]),
        "value_vector": vector_text(value[j]),
        "dot": dot, "scaled": dot / math.sqrt(ctx.config.d_head),
        "n_masked": T * (T - 1) // 2, "n_cells": T * T, "n_visible": i + 1,
        "weight": float(pattern[i, j]), "uniform_weight": 1.0 / (i + 1), "row_sum": float(pattern[i].sum()),
        "z_value": float(z[i, 0]), "z_term": float(pattern[i, j] * value[j, 0]),
        "concat_width": ctx.config.n_heads * ctx.config.d_head,
        "attn_out_norm": _norm(ctx.trace.numpy(f"{name}.out")[i]),
    }


def block_numbers(ctx: LessonContext) -> dict:
    """The residual stream through the chosen block, the MLP, and the final LayerNorm."""
    block, pos = f"blocks.{ctx.layer}", ctx.trace.ids.shape[1] - 1
    last_residual = ctx.trace.numpy(f"blocks.{ctx.config.n_layers - 1}.resid_post")[pos]  # (C,)
    normalised = ctx.trace.numpy("ln_final")[pos]                                          # (C,)
    return {
        "resid_pre_norm": _norm(ctx.trace.numpy(f"{block}.resid_pre")[pos]),
        "mlp_out_norm": _norm(ctx.trace.numpy(f"{block}.mlp.out")[pos]),
        "resid_post_norm": _norm(ctx.trace.numpy(f"{block}.resid_post")[pos]),
        "gelu_off": float(np.mean(ctx.trace.numpy(f"{block}.mlp.pre")[pos] < 0)),
        "ln_mean_before": float(last_residual.mean()), "ln_std_before": float(last_residual.std()),
        "ln_mean_after": float(normalised.mean()), "ln_std_after": float(normalised.std()),
    }


@dataclass(frozen=True)
class ResidualStream:
    """One token's residual stream through the blocks, as lengths, for the residual panel."""

    stages: tuple[str, ...]          # "input", "0 +attn", "0 +MLP", "1 +attn", ...
    lengths: np.ndarray              # (stages,) length of the stream after each stage
    added: np.ndarray                # (stages,) length of what that stage added (the input: its own length)
    before_norm: np.ndarray          # (C,) the stream before the final LayerNorm
    after_norm: np.ndarray           # (C,) after it


def residual_stream(trace: Trace, n_layers: int, pos: int = -1) -> ResidualStream:
    """How the stream of the token at `pos` grows: every block adds attention's, then the MLP's output."""
    stages, lengths, added = ["input"], [_norm(trace.numpy("embed.sum")[pos])], [_norm(trace.numpy("embed.sum")[pos])]
    for layer in range(n_layers):
        block = f"blocks.{layer}"
        for part, after, name in (("attn.out", "resid_mid", "attn"), ("mlp.out", "resid_post", "MLP")):
            stages.append(f"{layer} +{name}")
            added.append(_norm(trace.numpy(f"{block}.{part}")[pos]))
            lengths.append(_norm(trace.numpy(f"{block}.{after}")[pos]))
    return ResidualStream(
        stages=tuple(stages), lengths=np.array(lengths), added=np.array(added),
        before_norm=trace.numpy(f"blocks.{n_layers - 1}.resid_post")[pos], after_norm=trace.numpy("ln_final")[pos],
    )


def _top_prob(logits: np.ndarray, temperature: float) -> float:
    """The likeliest token's probability when the logits are divided by `temperature`."""
    return float(next_token_probs(logits, temperature=temperature).max())


def output_numbers(ctx: LessonContext) -> dict:
    logits = ctx.trace["logits"][0, -1].double().numpy()        # (vocab,): after the last token (no (T, vocab) copy)
    probs = ctx.trace["probs"][0, -1].double().numpy()          # (vocab,): the softmax of those logits
    top_two = np.argpartition(-logits, 1)[:2]                     # the two largest, without sorting all
    first, second = top_two[np.argsort(-logits[top_two])]
    return {
        "top_token": ctx.vocab_labels[first], "top_logit": float(logits[first]), "top_prob": float(probs[first]),
        "second_token": ctx.vocab_labels[second], "second_logit": float(logits[second]),
        "second_prob": float(probs[second]),
        "temperature": ctx.temperature, "top_prob_t": _top_prob(logits, ctx.temperature),
        "top_prob_cold": _top_prob(logits, 0.5), "top_prob_hot": _top_prob(logits, 2.0),
    }


def training_numbers(ctx: LessonContext) -> dict:
    ids = ctx.trace.ids[0].numpy()
    probs = ctx.trace["probs"][0]                                   # (T, vocab), read in place
    numbers = dict.fromkeys(
        ["next_token", "next_prob", "next_loss", "loss", "perplexity", "train_steps", "train_first_loss",
         "train_last_loss", "learning_rate", "update_loss_before", "update_loss_after", "gradient_norm"]
    )
    numbers["uniform_loss"] = math.log(ctx.config.vocab_size)
    if len(ids) > 1:
        # Each position is graded on the token that really came next: loss = −ln p(real next token).
        real_next_probs = probs[np.arange(len(ids) - 1), ids[1:]].double().numpy()    # (T-1,)
        losses = -np.log(np.maximum(real_next_probs, 1e-30))
        numbers.update(
            next_token=ctx.token_labels[1], next_prob=float(real_next_probs[0]), next_loss=float(losses[0]),
            loss=float(losses.mean()), perplexity=float(np.exp(losses.mean())),
        )
    if ctx.training:
        numbers.update(train_steps=ctx.training.steps, train_first_loss=ctx.training.first_loss,
                       train_last_loss=ctx.training.last_loss)
    if ctx.update:
        numbers.update(learning_rate=ctx.update.learning_rate, update_loss_before=ctx.update.loss_before,
                       update_loss_after=ctx.update.loss_after, gradient_norm=ctx.update.gradient_norm)
    return numbers


STAGES = (prompt_numbers, model_numbers, parameter_numbers, embedding_numbers, attention_numbers,
          block_numbers, output_numbers, training_numbers, *MORE_STAGES, explain_numbers)


def live_numbers(ctx: LessonContext) -> dict:
    """Every number in NUMBER_DOCS, for this trace (None where this model has no such thing)."""
    if not 0 <= ctx.layer < ctx.config.n_layers or not 0 <= ctx.head < ctx.config.n_heads:
        raise ValueError(f"Layer {ctx.layer}, head {ctx.head} does not exist in this model.")
    numbers: dict = {}
    for stage in STAGES:
        numbers.update(stage(ctx))
    return numbers


# -- facts that need more than the trace ----------------------------------------------------------
def tokenizer_facts(tokenizer, ids) -> TokenizerFacts:
    """What the tokens lesson says about the tokenizer: its kind, merges, and one merge in this prompt."""
    merges = getattr(tokenizer, "merges", None)
    words = word_pieces(tokenizer, ids)
    special = tuple(sorted(getattr(getattr(tokenizer, "encoding", None), "special_tokens_set", ())))
    if not merges:
        return TokenizerFacts(tokenizer.kind, None, None, words, special)
    first_merged_id = len(tokenizer.vocab) - len(merges)
    merged = [token_id for token_id in ids if token_id >= first_merged_id]
    example = None
    if merged:
        longest = max(merged, key=lambda token_id: len(tokenizer.token_bytes(token_id)))
        left, right, _ = merges[longest - first_merged_id]
        example = (tokenizer.token_label(longest), tokenizer.token_label(left), tokenizer.token_label(right),
                   longest - first_merged_id + 1)
    return TokenizerFacts(tokenizer.kind, len(merges), example, words, special)


def gradient_step(model, ids, learning_rate: float = 0.01) -> UpdateFacts | None:
    """One step of gradient descent on the prompt (each token predicting the next), tried on a copy.

    The model itself is not changed: the new weights live only inside this function.
    Returns None for a one-token prompt, which has no next token to learn from.
    """
    ids = torch.as_tensor(ids, dtype=torch.long).reshape(1, -1)       # (1, T)
    if ids.shape[1] < 2:
        return None
    inputs, targets = ids[:, :-1], ids[:, 1:]                          # (1, T-1) each
    names, weights = zip(*[(n, p) for n, p in model.named_parameters() if p.requires_grad])
    with torch.enable_grad():
        _, loss = model(inputs, targets)
        gradients = torch.autograd.grad(loss, weights)
    new_weights = {n: (w - learning_rate * g).detach() for n, w, g in zip(names, weights, gradients)}
    with torch.no_grad():
        _, loss_after = torch.func.functional_call(model, new_weights, (inputs, targets), tie_weights=True)
    gradient_norm = torch.sqrt(sum((g.double() ** 2).sum() for g in gradients))
    return UpdateFacts(learning_rate, float(loss.detach()), float(loss_after), float(gradient_norm))


if __name__ == "__main__":
    for number_name, meaning in NUMBER_DOCS.items():
        print(f"{{{number_name}}}".ljust(22), meaning)
