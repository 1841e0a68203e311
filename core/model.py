"""A GPT written out the way a lecture teaches it: attention, MLP, block, model.

Module names follow GPT-2 (wte, wpe, h, ln_f, c_attn, c_proj, c_fc) so that GPT-2's own weights
load straight in. Every interesting value passes through a named HookPoint, so `model.trace(ids)`
can read it out (see core/trace.py) while plain training pays nothing for them.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import GPTConfig
from .hooks import HookPoint
from .positional import apply_rope, rope_angles, sinusoidal_table


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where each token may only look at itself and earlier tokens."""

    def __init__(self, config: GPTConfig, layer: int) -> None:
        super().__init__()
        self.n_heads = config.n_heads
        self.d_head = config.d_head
        self.dropout = config.dropout
        # One matrix makes query, key and value for every head at once: (C) -> (3C).
        self.c_attn = nn.Linear(config.d_model, 3 * config.d_model, bias=config.bias)
        # After the heads are concatenated, mix them back into the residual stream.
        self.c_proj = nn.Linear(config.d_model, config.d_model, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        # The causal mask, written as what gets added to the scores: 0 where a query (row) may look
        # at a key (column), i.e. the lower triangle, and -inf above it, so softmax gives those 0.
        future = torch.ones(config.context_length, config.context_length, dtype=torch.bool).triu(diagonal=1)
        causal_mask = torch.zeros(config.context_length, config.context_length).masked_fill(future, float("-inf"))
        self.register_buffer("causal_mask", causal_mask, persistent=False)                # (T, T)
        # Scores are scaled by 1/sqrt(d_head) so the softmax does not saturate as heads get wider.
        self.scale = 1.0 / math.sqrt(config.d_head)
        # baddbmm(start, A, B, beta, alpha) computes beta·start + alpha·(A @ B); with beta=0 the start
        # is ignored, and this zero just says so.
        self.register_buffer("nothing_to_add", torch.zeros(()), persistent=False)          # ()
        # Set to False to always take the explicit path (the fast path is used only when nobody reads).
        self.use_fast_path = True

        name = f"blocks.{layer}.attn"
        self.hook_q = HookPoint(f"{name}.q")
        self.hook_k = HookPoint(f"{name}.k")
        self.hook_v = HookPoint(f"{name}.v")
        self.hook_scores = HookPoint(f"{name}.scores")
        self.hook_masked_scores = HookPoint(f"{name}.masked_scores")
        self.hook_pattern = HookPoint(f"{name}.pattern")
        self.hook_z = HookPoint(f"{name}.z")
        self.hook_out = HookPoint(f"{name}.out")

    def forward(self, x: torch.Tensor, rope: torch.Tensor | None = None) -> torch.Tensor:
        B, T, C = x.shape
        query, key, value = self.c_attn(x).split(C, dim=2)                  # each (B, T, C)
        # Split the channels into heads: each head attends on its own d_head dims.
        query = query.view(B, T, self.n_heads, self.d_head).transpose(1, 2)  # (B, nh, T, hs)
        key = key.view(B, T, self.n_heads, self.d_head).transpose(1, 2)      # (B, nh, T, hs)
        value = value.view(B, T, self.n_heads, self.d_head).transpose(1, 2)  # (B, nh, T, hs)
        if rope is not None:  # RoPE: turn queries and keys by an angle set by their position
            query = apply_rope(query, rope[:T])
            key = apply_rope(key, rope[:T])
        query, key, value = self.hook_q(query), self.hook_k(key), self.hook_v(value)

        if self._someone_reads_the_pattern() or not self.use_fast_path:
            z = self._explicit_attention(query, key, value)
        else:
            z = F.scaled_dot_product_attention(
                query, key, value, is_causal=True, dropout_p=self.dropout if self.training else 0.0
            )                                                                  # (B, nh, T, hs)
        z = self.hook_z(z)
        heads_side_by_side = z.transpose(1, 2).contiguous().view(B, T, C)     # (B, T, C): heads concatenated
        return self.hook_out(self.resid_dropout(self.c_proj(heads_side_by_side)))

    def _explicit_attention(self, query, key, value) -> torch.Tensor:
        B, nh, T, hs = query.shape
        # Every (batch, head) pair is one small matrix product: fold the heads into the batch.
        query = query.reshape(B * nh, T, hs)                                  # (B·nh, T, hs)
        key = key.reshape(B * nh, T, hs)                                      # (B·nh, T, hs)
        value = value.reshape(B * nh, T, hs)                                  # (B·nh, T, hs)
        # How well each query matches each key: Q·Kᵀ/sqrt(d_head), scaled inside the product (alpha).
        scores = torch.baddbmm(self.nothing_to_add, query, key.transpose(1, 2), beta=0.0, alpha=self.scale)
        scores = self.hook_scores(scores.view(B, nh, T, T))                   # (B, nh, T, T)
        # Causal mask: a token may not look at the future (adding -inf is cheaper than masked_fill).
        masked_scores = scores + self.causal_mask[:T, :T]                     # (B, nh, T, T)
        masked_scores = self.hook_masked_scores(masked_scores)
        pattern = F.softmax(masked_scores, dim=-1)                             # (B, nh, T, T), rows sum to 1
        pattern = self.hook_pattern(pattern)
        if self.training and self.dropout > 0:  # randomly drop some attention while training
            pattern = self.attn_dropout(pattern)
        z = torch.bmm(pattern.reshape(B * nh, T, T), value)                    # (B·nh, T, hs)
        return z.view(B, nh, T, hs)                                            # (B, nh, T, hs)

    def _someone_reads_the_pattern(self) -> bool:
        return self.hook_scores.active or self.hook_masked_scores.active or self.hook_pattern.active


class MLP(nn.Module):
    """Each token on its own: widen, GELU, narrow back. Where much of the 'knowledge' sits."""

    def __init__(self, config: GPTConfig, layer: int) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.d_model, config.d_mlp, bias=config.bias)
        self.gelu = nn.GELU(approximate="tanh" if config.activation == "gelu_tanh" else "none")  # GPT-2's: tanh
        self.c_proj = nn.Linear(config.d_mlp, config.d_model, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)
        self.hook_pre = HookPoint(f"blocks.{layer}.mlp.pre")
        self.hook_post = HookPoint(f"blocks.{layer}.mlp.post")
        self.hook_out = HookPoint(f"blocks.{layer}.mlp.out")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.hook_pre(self.c_fc(x))            # (B, T, d_mlp)
        hidden = self.hook_post(self.gelu(hidden))      # (B, T, d_mlp)
        return self.hook_out(self.dropout(self.c_proj(hidden)))  # (B, T, C)


class Block(nn.Module):
    """A pre-LayerNorm transformer block: x + attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, config: GPTConfig, layer: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps, bias=config.bias)
        self.attn = CausalSelfAttention(config, layer)
        self.ln_2 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps, bias=config.bias)
        self.mlp = MLP(config, layer)
        self.hook_resid_pre = HookPoint(f"blocks.{layer}.resid_pre")
        self.hook_ln1 = HookPoint(f"blocks.{layer}.ln1")
        self.hook_resid_mid = HookPoint(f"blocks.{layer}.resid_mid")
        self.hook_ln2 = HookPoint(f"blocks.{layer}.ln2")
        self.hook_resid_post = HookPoint(f"blocks.{layer}.resid_post")

    def forward(self, x: torch.Tensor, rope: torch.Tensor | None = None) -> torch.Tensor:
        x = self.hook_resid_pre(x)                                   # (B, T, C): the residual stream
        x = self.hook_resid_mid(x + self.attn(self.hook_ln1(self.ln_1(x)), rope))
        x = self.hook_resid_post(x + self.mlp(self.hook_ln2(self.ln_2(x))))
        return x


class GPT(nn.Module):
    """Token ids in, next-token logits out."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        layers = dict(
            wte=nn.Embedding(config.vocab_size, config.d_model),   # token embedding: one vector per id
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList(Block(config, layer) for layer in range(config.n_layers)),
            ln_f=nn.LayerNorm(config.d_model, eps=config.layer_norm_eps, bias=config.bias),
        )
        if config.pos_encoding == "learned":
            layers["wpe"] = nn.Embedding(config.context_length, config.d_model)
        self.transformer = nn.ModuleDict(layers)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        if config.tie_embeddings:
            self.lm_head.weight = self.transformer.wte.weight  # read out with the same vectors we read in

        if config.pos_encoding == "sinusoidal":
            self.register_buffer("sinusoidal", sinusoidal_table(config.context_length, config.d_model), persistent=False)
        elif config.pos_encoding == "rope":
            self.register_buffer("rope", rope_angles(config.context_length, config.d_head), persistent=False)

        self.hook_tok = HookPoint("embed.tok")
        self.hook_pos = HookPoint("embed.pos")
        self.hook_sum = HookPoint("embed.sum")
        self.hook_ln_final = HookPoint("ln_final")
        self.hook_logits = HookPoint("logits")
        # Found once: the module tree does not change after construction, and a trace needs them fast.
        self._hook_points = {m.name: m for m in self.modules() if isinstance(m, HookPoint)}
        # The modules whose training flag can change what they do (hook points never look at theirs).
        # Not itself: a model holding itself is a reference cycle, freed only by the cyclic GC, long
        # after it is dropped.
        self._submodules_with_a_mode = tuple(
            m for m in self.modules() if m is not self and not isinstance(m, HookPoint)
        )
        self.apply(self._init_weights)
        # GPT-2's trick: shrink the layers that write into the residual stream by 1/sqrt(2·layers).
        for name, parameter in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(parameter, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layers))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    # -- the forward pass, in teaching order -------------------------------------------------------
    def forward(self, ids: torch.Tensor, targets: torch.Tensor | None = None):
        """ids (B, T) -> logits (B, T, vocab), and the cross-entropy loss when targets are given."""
        if ids.dim() != 2:
            raise ValueError(
                f"The model reads token ids shaped (batch, tokens), but got shape {tuple(ids.shape)}; "
                "for a single prompt use ids[None, :]."
            )
        B, T = ids.shape
        if T > self.config.context_length:
            raise ValueError(
                f"The prompt has {T} tokens but this model reads at most {self.config.context_length}; "
                f"shorten it or keep only its last {self.config.context_length} tokens."
            )
        token_vectors = self.hook_tok(self.transformer.wte(ids))        # (B, T, C)
        x, rope = self._add_position(token_vectors, T)                  # (B, T, C)
        x = self.transformer.drop(self.hook_sum(x))
        for block in self.transformer.h:
            x = block(x, rope)
        x = self.hook_ln_final(self.transformer.ln_f(x))                # (B, T, C)
        logits = self.hook_logits(self.lm_head(x))                      # (B, T, vocab)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(B * T, -1), targets.reshape(B * T))  # (B·T, vocab) vs (B·T,)
        return logits, loss

    def _add_position(self, token_vectors: torch.Tensor, T: int):
        """Give every token its place. Returns (tokens + position, RoPE angles or None)."""
        scheme = self.config.pos_encoding
        if scheme == "rope":
            return token_vectors, self.hook_pos(self.rope[:T])          # angles (T, hs/2), used in attention
        if scheme == "learned":
            positions = torch.arange(T, device=token_vectors.device)
            position_vectors = self.transformer.wpe(positions)          # (T, C)
        elif scheme == "sinusoidal":
            position_vectors = self.sinusoidal[:T]                      # (T, C)
        else:  # "none": nothing to add, shown as zeros
            if not self.hook_pos.active:
                return token_vectors, None
            position_vectors = torch.zeros(T, self.config.d_model, device=token_vectors.device)
        return token_vectors + self.hook_pos(position_vectors), None

    # -- conveniences ------------------------------------------------------------------------------
    def hook_points(self) -> dict[str, HookPoint]:
        """Every named place a value can be read or changed, by name."""
        return dict(self._hook_points)

    def modules_with_a_mode(self) -> tuple[nn.Module, ...]:
        """This model and every module whose training flag matters (not the hook points), found once:
        cheaper than walking the tree on every trace."""
        return (self, *self._submodules_with_a_mode)

    def trace(self, ids, names=None, intervention=None):
        """One forward pass that records every internal; see core.trace.run_trace."""
        from .trace import run_trace

        return run_trace(self, ids, names=names, intervention=intervention)

    def num_params(self) -> int:
        """Parameters counted once (a tied head shares the embedding's)."""
        return sum(p.numel() for p in self.parameters())

    def set_fast_attention(self, enabled: bool) -> None:
        for block in self.transformer.h:
            block.attn.use_fast_path = enabled
