"""More live numbers, for the lecture steps: where the parameters sit, words and tokens, copies,
attention without weights, switching positions off, and the training run.

Each function takes the same LessonContext as core.teaching.lesson_numbers (which adds them to its stages) and
returns a dict of numbers, None where this model or prompt has no such thing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from core.model.param_count import FAMOUS_CONFIGS, count_parameters
from core.tokenizers.labels import unmark_spaces

GPT3_TRAINING_TOKENS = 300e9  # Brown et al. 2020: GPT-3 was trained on 300 billion tokens

MORE_DOCS: dict[str, str] = {
    # where the parameters sit
    "share_embeddings": "share of this model's parameters in the embeddings (0–1)",
    "share_attention": "share in attention",
    "share_mlp": "share in the MLPs",
    "gpt2_small_share_embeddings": "share of GPT-2 small's parameters in its embeddings",
    "gpt3_share_blocks": "share of GPT-3's parameters in its blocks (attention + MLP)",
    "attention_per_d2": "attention parameters per block ÷ d_model² (about 4)",
    "mlp_per_d2": "MLP parameters per block ÷ d_model² (about 8)",
    # words and tokens
    "n_words": "words in the prompt (runs of letters or digits)",
    "word_tokens_max": "the most tokens any word of the prompt needs",
    "most_split_word": "that word",
    "word_tokens_min": "the fewest tokens a word needs",
    "first_word_tokens": "tokens of the prompt's first word",
    "last_word_tokens": "tokens of its last word",
    "special_tokens": "the tokenizer's special tokens (or 'none')",
    "input_ids": "the first ids the model reads (an input window)",
    "target_ids": "the ids it must predict: the input shifted by one",
    "n_pairs": "input → target pairs in the prompt (tokens − 1)",
    "top_token_letters": "letters in the most likely next token (0 for a space or a mark)",
    "top_token_copies": "how often the most likely next token already appears in the prompt",
    # copies: the last token and its earlier occurrences
    "copy_head": "the head (layer.head) that looks most from the last token at an earlier copy of its word",
    "copy_weight": "the attention that head puts on the earlier copies",
    "induction_head": "the head that looks most at the token after an earlier copy (it predicts a repeat)",
    "induction_weight": "the attention that head puts there",
    "copied_token": "the token after the earlier copy",
    "repeat_embedding_gap": "distance between the token embeddings of the last token and an earlier use of the "
    "same token",
    "repeat_input_gap": "distance between their inputs (token + position)",
    # heads, over every layer
    "previous_token_head": "the head that looks most at the previous token",
    "previous_token_score": "its average weight there",
    "first_token_head": "the head that looks most at the first token",
    "first_token_score": "its average weight there",
    "masked_weight_sum": "attention on later tokens, summed over every layer, head and row (the mask makes it 0)",
    "z_alignment": "cosine between the chosen head's output for the last token and the value of its top key",
    "logit_gap": "top logit minus second logit",
    "ln_plain_mean": "mean of the last residual after subtracting its mean and dividing by its spread, by hand",
    "ln_plain_std": "its standard deviation (1, before the learned gain and bias)",
    # attention without weights: the inputs x themselves as queries, keys and values
    "plain_dot_self": "x · x for the last token (its own length squared)",
    "plain_key_pos": "the position whose x matches the last token's x best (causal)",
    "plain_key_token": "the token there",
    "plain_dot": "their dot product x_last · x_key",
    "plain_weight": "its weight after softmax",
    "plain_z_value": "first number of the weighted sum of the x's",
    # positions switched off (the same model, run again)
    "no_position_top_token": "the most likely next token with positions switched off",
    "no_position_top_prob": "its probability",
    "position_changes": "prompt positions whose top prediction changes",
    # the training run (studio), else the model's own history
    "val_last_loss": "latest validation loss",
    "train_val_gap": "validation minus training loss",
    "train_perplexity": "e^(latest training loss)",
    "val_perplexity": "e^(latest validation loss)",
    "train_tokens": "tokens read in training (steps × batch × context)",
    "gpt3_tokens_times": "how many times more tokens GPT-3 read",
    "lr_peak": "the peak learning rate (end of warmup)",
    "lr_now": "the learning rate at the latest step",
    "lr_min": "where the decay ends",
    "warmup_steps": "steps of warmup",
    "schedule_steps": "length of the schedule",
    "weight_decay": "AdamW's weight decay",
    "grad_clip": "the gradient length clipping allows",
}


@dataclass(frozen=True)
class PositionsOff:
    top_token: str  # the top next token with positional encoding switched off
    top_prob: float  # its probability
    changes: int  # prompt positions whose top prediction differs from the normal run


# -- parameters ---------------------------------------------------------------------------------
def parameter_shares(ctx) -> dict:
    count = count_parameters(ctx.config)
    small, gpt3 = (count_parameters(FAMOUS_CONFIGS[name]) for name in ("GPT-2 small", "GPT-3"))
    d2 = ctx.config.n_layers * ctx.config.d_model**2
    return {
        "share_embeddings": count.embeddings / count.total,
        "share_attention": count.attention / count.total,
        "share_mlp": count.mlp / count.total,
        "gpt2_small_share_embeddings": small.embeddings / small.total,
        "gpt3_share_blocks": (gpt3.attention + gpt3.mlp) / gpt3.total,
        "attention_per_d2": count.attention / d2,
        "mlp_per_d2": count.mlp / d2,
    }


# -- words and tokens ---------------------------------------------------------------------------
def word_numbers(ctx) -> dict:
    facts, ids = ctx.tokenizer, ctx.trace.ids[0].tolist()
    pieces = facts.word_pieces if facts else ()
    numbers = dict.fromkeys(
        ["word_tokens_max", "most_split_word", "word_tokens_min", "first_word_tokens", "last_word_tokens"]
    )
    if pieces:
        word, most = max(pieces, key=lambda piece: piece[1])
        numbers.update(
            word_tokens_max=most,
            most_split_word=word,
            word_tokens_min=min(n for _, n in pieces),
            first_word_tokens=pieces[0][1],
            last_word_tokens=pieces[-1][1],
        )
    logits = ctx.trace["logits"][0, -1]  # (vocab,)
    top_id = int(logits.argmax())
    top = ctx.vocab_labels[top_id]
    return {
        **numbers,
        "n_words": len(pieces),
        "special_tokens": (", ".join(facts.special) or "none") if facts else None,
        "input_ids": ", ".join(map(str, ids[:-1][:6])) + (", …" if len(ids) > 7 else ""),
        "target_ids": ", ".join(map(str, ids[1:][:6])) + (", …" if len(ids) > 7 else ""),
        "n_pairs": len(ids) - 1,
        "top_token_letters": sum(ch.isalpha() for ch in top),
        "top_token_copies": ids.count(top_id),
    }


# -- copies -------------------------------------------------------------------------------------
def _word(label: str) -> str:
    """A token's label without the space in front: " Anna" (drawn ␣Anna) and "Anna" are the same word."""
    return unmark_spaces(label).strip()


def copy_numbers(ctx) -> dict:
    """The last token's earlier copies: the same word (with or without a space in front), and the heads that
    look at them (duplicate) or at the token after them (induction)."""
    ids, labels = ctx.trace.ids[0].numpy(), ctx.token_labels
    last = len(ids) - 1
    word = _word(labels[last])
    copies = np.array([j for j in range(last) if word and _word(labels[j]) == word], dtype=int)
    numbers = dict.fromkeys(
        [
            "copy_head",
            "copy_weight",
            "induction_head",
            "induction_weight",
            "copied_token",
            "repeat_embedding_gap",
            "repeat_input_gap",
        ]
    )
    exact = np.flatnonzero(ids[:last] == ids[last])  # the very same token id earlier
    if len(exact):
        token, block_input = ctx.trace.numpy("embed.tok"), ctx.trace.numpy("embed.sum")  # (T, C) each
        numbers.update(
            repeat_embedding_gap=float(np.linalg.norm(token[last] - token[exact[0]])),
            repeat_input_gap=float(np.linalg.norm(block_input[last] - block_input[exact[0]])),
        )
    if len(copies) == 0:
        return numbers
    after = copies + 1  # the tokens that followed them
    best_copy, best_induction = (-1.0, ""), (-1.0, "")
    for layer in range(ctx.config.n_layers):
        rows = ctx.trace.numpy(f"blocks.{layer}.attn.pattern")[:, last]  # (nh, T): each head's last row
        for head, row in enumerate(rows):
            best_copy = max(best_copy, (float(row[copies].sum()), f"{layer}.{head}"))
            best_induction = max(best_induction, (float(row[after].sum()), f"{layer}.{head}"))
    return {
        **numbers,
        "copy_head": best_copy[1],
        "copy_weight": best_copy[0],
        "induction_head": best_induction[1],
        "induction_weight": best_induction[0],
        "copied_token": labels[int(after[-1])],
    }


# -- every head, and the chosen one -----------------------------------------------------------------
def head_numbers(ctx) -> dict:
    """The detectors' best heads for this prompt, the mask's total, and how one head's output copies a value."""
    from core.teaching.detectors import first_token_score, previous_token_score

    patterns = [
        ctx.trace.numpy(f"blocks.{layer}.attn.pattern")[None] for layer in range(ctx.config.n_layers)
    ]  # (1, nh, T, T) each
    numbers = {"masked_weight_sum": float(sum(np.triu(p[0], k=1).sum() for p in patterns))}
    if patterns[0].shape[-1] > 1:
        for name, score in (("previous_token", previous_token_score), ("first_token", first_token_score)):
            scores = np.stack([score(p) for p in patterns])  # (n_layers, nh)
            layer, head = np.unravel_index(int(np.argmax(scores)), scores.shape)
            numbers.update({f"{name}_head": f"{layer}.{head}", f"{name}_score": float(scores[layer, head])})
    attention = f"blocks.{ctx.layer}.attn"
    pattern = ctx.trace.numpy(f"{attention}.pattern")[ctx.head]  # (T, T)
    last = pattern.shape[0] - 1
    z = ctx.trace.numpy(f"{attention}.z")[ctx.head][last]  # (hs,)
    value = ctx.trace.numpy(f"{attention}.v")[ctx.head][int(np.argmax(pattern[last]))]  # (hs,)
    numbers["z_alignment"] = float(z @ value / max(np.linalg.norm(z) * np.linalg.norm(value), 1e-12))
    logits = np.sort(ctx.trace["logits"][0, -1].double().numpy())[-2:]  # the two largest
    numbers["logit_gap"] = float(logits[1] - logits[0])
    residual = ctx.trace.numpy(f"blocks.{ctx.config.n_layers - 1}.resid_post")[last]  # (C,)
    plain = (residual - residual.mean()) / np.sqrt(residual.var() + ctx.config.layer_norm_eps)
    numbers.update(ln_plain_mean=float(plain.mean()), ln_plain_std=float(plain.std()))
    heads = ("previous_token_head", "previous_token_score", "first_token_head", "first_token_score")
    return dict.fromkeys(heads) | numbers


# -- attention without weights --------------------------------------------------------------------
def plain_attention_numbers(ctx) -> dict:
    """Self-attention with no learned matrices: every input x is its own query, key and value."""
    x = ctx.trace.numpy("embed.sum")  # (T, C): the block's input
    last = x.shape[0] - 1
    scores = x[: last + 1] @ x[last]  # (T,): x_last · x_j, j ≤ last (causal)
    weights = np.exp(scores - scores.max())
    weights /= weights.sum()  # softmax over the visible tokens
    context = weights @ x  # (C,): weighted sum of the x's
    key = int(np.argmax(weights))
    return {
        "plain_dot_self": float(scores[last]),
        "plain_key_pos": key,
        "plain_key_token": ctx.token_labels[key],
        "plain_dot": float(scores[key]),
        "plain_weight": float(weights[key]),
        "plain_z_value": float(context[0]),
    }


# -- positions switched off ---------------------------------------------------------------------
def positions_off_numbers(ctx) -> dict:
    off = ctx.positions_off
    return {
        "no_position_top_token": off.top_token if off else None,
        "no_position_top_prob": off.top_prob if off else None,
        "position_changes": off.changes if off else None,
    }


# -- the training run ---------------------------------------------------------------------------
def run_numbers(ctx) -> dict:
    run = ctx.training
    numbers = dict.fromkeys(
        k
        for k in MORE_DOCS
        if k
        in (
            "val_last_loss",
            "train_val_gap",
            "train_perplexity",
            "val_perplexity",
            "train_tokens",
            "gpt3_tokens_times",
            "lr_peak",
            "lr_now",
            "lr_min",
            "warmup_steps",
            "schedule_steps",
            "weight_decay",
            "grad_clip",
        )
    )
    if run is None:
        return numbers
    numbers["train_perplexity"] = math.exp(run.last_loss)
    if run.val_last_loss is not None:
        numbers.update(
            val_last_loss=run.val_last_loss,
            train_val_gap=run.val_last_loss - run.last_loss,
            val_perplexity=math.exp(run.val_last_loss),
        )
    recipe = run.recipe
    if recipe is not None:
        from core.training.schedule import learning_rate_at

        tokens = run.steps * recipe.batch_size * recipe.context_length
        numbers.update(
            train_tokens=tokens,
            gpt3_tokens_times=GPT3_TRAINING_TOKENS / max(tokens, 1),
            lr_peak=recipe.learning_rate,
            lr_now=learning_rate_at(max(run.steps - 1, 0), recipe),
            lr_min=recipe.min_lr,
            warmup_steps=recipe.warmup_steps,
            schedule_steps=recipe.max_steps,
            weight_decay=recipe.weight_decay,
            grad_clip=recipe.grad_clip,
        )
    return numbers


MORE_STAGES = (
    parameter_shares,
    word_numbers,
    copy_numbers,
    head_numbers,
    plain_attention_numbers,
    positions_off_numbers,
    run_numbers,
)


# -- facts that need the tokenizer or the model ---------------------------------------------------
def word_pieces(tokenizer, ids) -> tuple[tuple[str, int], ...]:
    """(word, tokens it took) for each word (a run of letters or digits), from where each token's text starts."""
    text, starts = "", []
    for token_id in ids:
        piece = tokenizer.decode([token_id])
        blank = len(piece) - len(piece.lstrip()) if piece.strip() else 0
        starts.append(len(text) + blank)  # where its first non-space char is
        text += piece
    pieces = (
        (match.group(), sum(match.start() <= start < match.end() for start in starts))
        for match in re.finditer(r"\w+", text)
    )
    return tuple((word, count) for word, count in pieces if count)


def positions_off(model, ids, vocab_labels) -> PositionsOff | None:
    """The same prompt with positional encoding switched off: what changes in the predictions."""
    import torch

    from core.model.trace import Intervention

    if model.config.pos_encoding == "none":
        return None
    ids = torch.as_tensor(ids, dtype=torch.long).reshape(1, -1)  # (1, T)
    with torch.no_grad():
        normal = model.trace(ids, names=["logits"])["logits"][0]  # (T, vocab)
        off = model.trace(ids, names=["logits"], intervention=Intervention(positional=False))["logits"][0]
    probs = torch.softmax(off[-1].double(), dim=-1)  # (vocab,)
    top = int(probs.argmax())
    changes = int((normal.argmax(-1) != off.argmax(-1)).sum())
    return PositionsOff(vocab_labels[top], float(probs[top]), changes)


def checkpoint_history(folder) -> tuple[list | None, list | None, object | None]:
    """(train losses, validation losses, TrainConfig) saved with a checkpoint; Nones where it has none.
    Reads only meta.json: the weights are not loaded again."""
    from pathlib import Path

    from core.files.checkpoint import CheckpointError, read_meta
    from core.training.train_config import TrainConfig

    try:
        meta = read_meta(Path(folder))
        losses = meta.get("losses") or {}
        recipe = TrainConfig.from_dict(meta["train_config"]) if isinstance(meta.get("train_config"), dict) else None
    except (CheckpointError, OSError, ValueError, TypeError):
        return None, None, None
    train, val = losses.get("train"), losses.get("val")
    return (train if isinstance(train, list) else None), (val if isinstance(val, list) else None), recipe
