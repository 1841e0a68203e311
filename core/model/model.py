"""A GPT written out the way a lecture teaches it: attention, MLP, block, model.

Module names follow GPT-2 (wte, wpe, h, ln_f, c_attn, c_proj, c_fc) so that GPT-2's own weights
load straight in. Every interesting value passes through a named HookPoint, so `model.trace(ids)`
can read it out (see core/model/trace.py) while plain training pays nothing for them.

The same GPT runs GPT-Neo, GPT-NeoX (Pythia), Llama (SmolLM2) and Qwen2 with a few switches of its
config: RMSNorm, a SwiGLU MLP, RoPE with a base and on part of each head, fewer key/value heads than
query heads, a parallel block, biases where a family has them, local-attention windows and unscaled
scores (core/pretrained reads their weights in).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from core.model.config import GPTConfig
from core.model.attention_mask import AttentionMasks
from core.model.hooks import HookPoint
from core.model.meta_device import give_memory
from core.model.positional import apply_rope, rope_angles, sinusoidal_table


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where each token may only look at itself and earlier tokens.

    With fewer key/value heads than query heads (grouped-query attention, config.n_kv_heads), each
    key/value head is shared by a group of neighbouring query heads: head h uses key/value head
    h // heads_per_kv_head. The hooks show keys and values copied out to one per query head, so every
    panel still sees (B, nh, T, hs).
    """

    def __init__(self, config: GPTConfig, layer: int) -> None:
        super().__init__()
        self.n_heads = config.n_heads
        self.n_kv_heads = config.n_kv_heads
        self.d_head = config.d_head
        self.dropout = config.dropout
        self.window = config.window_of(layer)  # None: every earlier token; else only the last `window`
        self.kv_width = config.n_kv_heads * config.d_head
        # One matrix makes the queries of every head and the keys and values of every key/value head:
        # (C) -> (C + 2·kv_width). With ordinary multi-head attention kv_width = C, so (C) -> (3C).
        self.c_attn = nn.Linear(config.d_model, config.d_model + 2 * self.kv_width, bias=config.qkv_bias)
        # After the heads are concatenated, mix them back into the residual stream.
        self.c_proj = nn.Linear(config.d_model, config.d_model, bias=config.attn_out_bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        # Scores are scaled by 1/sqrt(d_head) so the softmax does not saturate as heads get wider.
        # GPT-Neo was trained without it (its scores are used as they are).
        self.scale = 1.0 / math.sqrt(config.d_head) if config.scale_scores else 1.0
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

    def forward(self, x: torch.Tensor, rope: torch.Tensor | None, masks: AttentionMasks) -> torch.Tensor:
        B, T, C = x.shape
        query, key, value = self._queries_keys_values(x, rope)                   # (B, nh, T, hs) each
        if self._someone_reads_the_pattern() or not self.use_fast_path:
            z = self._explicit_attention(query, key, value, masks.get(self.window))
        else:
            z = F.scaled_dot_product_attention(
                query, key, value,
                attn_mask=None if self.window is None else masks.get(self.window),
                is_causal=self.window is None, scale=self.scale,
                dropout_p=self.dropout if self.training else 0.0,
            )                                                                  # (B, nh, T, hs)
        return self._mix_heads(self.hook_z(z))

    def forward_cached(self, x: torch.Tensor, rope: torch.Tensor | None, masks: AttentionMasks, past) -> torch.Tensor:
        """Attention for new tokens only: x (B, Tn, C) holds the tokens after the past.length earlier ones,
        whose keys and values `past` keeps (a KV cache; see core/model/kv_cache.py). The earlier tokens
        cannot look at the new ones (causal), so nothing of theirs changes and only the new rows are
        computed; every hook sees those new rows (scores, pattern: (B, nh, Tn, T), all keys).
        """
        query, key, value = self._queries_keys_values(x, rope)                   # (B, nh, Tn, hs) each
        key, value = past.followed_by(key, value)                                # (B, nh, T, hs) each
        z = self._explicit_attention(query, key, value, masks.get(self.window))  # (B, nh, Tn, hs)
        return self._mix_heads(self.hook_z(z))

    def _queries_keys_values(self, x: torch.Tensor, rope: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        """The hooked queries, keys and values of x's tokens, one per query head: (B, nh, T, hs) each."""
        B, T, C = x.shape
        query, key, value = self.c_attn(x).split((C, self.kv_width, self.kv_width), dim=2)  # (B,T,C), (B,T,kv) x2
        # Split the channels into heads: each head attends on its own d_head dims.
        query = query.view(B, T, self.n_heads, self.d_head).transpose(1, 2)     # (B, nh, T, hs)
        key = key.view(B, T, self.n_kv_heads, self.d_head).transpose(1, 2)      # (B, nkv, T, hs)
        value = value.view(B, T, self.n_kv_heads, self.d_head).transpose(1, 2)  # (B, nkv, T, hs)
        if rope is not None:  # RoPE: turn queries and keys by an angle set by their position
            query = apply_rope(query, rope[:T])
            key = apply_rope(key, rope[:T])
        if self.n_kv_heads != self.n_heads:  # grouped-query: hand each query head its group's key and value
            share = self.n_heads // self.n_kv_heads
            key = key.repeat_interleave(share, dim=1)                           # (B, nh, T, hs)
            value = value.repeat_interleave(share, dim=1)                       # (B, nh, T, hs)
        return self.hook_q(query), self.hook_k(key), self.hook_v(value)

    def _mix_heads(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, nh, T, hs) -> (B, T, C): the heads side by side, mixed back into the residual stream."""
        B, nh, T, hs = z.shape
        heads_side_by_side = z.transpose(1, 2).contiguous().view(B, T, nh * hs)  # (B, T, C): heads concatenated
        return self.hook_out(self.resid_dropout(self.c_proj(heads_side_by_side)))

    def _explicit_attention(self, query, key, value, mask: torch.Tensor) -> torch.Tensor:
        """Queries (B, nh, Tq, hs) against keys and values (B, nh, T, hs); Tq = T except in forward_cached."""
        B, nh, Tq, hs = query.shape
        T = key.size(2)
        # Every (batch, head) pair is one small matrix product: fold the heads into the batch.
        query = query.reshape(B * nh, Tq, hs)                                 # (B·nh, Tq, hs)
        key = key.reshape(B * nh, T, hs)                                      # (B·nh, T, hs)
        value = value.reshape(B * nh, T, hs)                                  # (B·nh, T, hs)
        # How well each query matches each key: Q·Kᵀ/sqrt(d_head), scaled inside the product (alpha).
        scores = torch.baddbmm(self.nothing_to_add, query, key.transpose(1, 2), beta=0.0, alpha=self.scale)
        scores = self.hook_scores(scores.view(B, nh, Tq, T))                  # (B, nh, Tq, T)
        # Causal mask: a token may not look at the future (adding -inf is cheaper than masked_fill).
        masked_scores = scores + mask                                         # (B, nh, Tq, T)
        masked_scores = self.hook_masked_scores(masked_scores)
        pattern = F.softmax(masked_scores, dim=-1)                             # (B, nh, Tq, T), rows sum to 1
        pattern = self.hook_pattern(pattern)
        if self.training and self.dropout > 0:  # randomly drop some attention while training
            pattern = self.attn_dropout(pattern)
        z = torch.bmm(pattern.reshape(B * nh, Tq, T), value)                   # (B·nh, Tq, hs)
        return z.view(B, nh, Tq, hs)                                           # (B, nh, Tq, hs)

    def _someone_reads_the_pattern(self) -> bool:
        return self.hook_scores.active or self.hook_masked_scores.active or self.hook_pattern.active


class MLP(nn.Module):
    """Each token on its own: widen, GELU, narrow back. Where much of the 'knowledge' sits.

    The SwiGLU kind (Llama, Qwen2) widens twice: a gate, passed through SiLU, multiplies the 'up'
    projection elementwise, so each hidden unit decides how much of itself to let through.
    """

    def __init__(self, config: GPTConfig, layer: int) -> None:
        super().__init__()
        self.kind = config.mlp
        self.c_fc = nn.Linear(config.d_model, config.d_mlp, bias=config.bias)     # widen ("up" in SwiGLU)
        if self.kind == "swiglu":
            self.c_gate = nn.Linear(config.d_model, config.d_mlp, bias=config.bias)
            self.act = nn.SiLU()
        else:
            self.act = nn.GELU(approximate="tanh" if config.activation == "gelu_tanh" else "none")  # GPT-2's: tanh
        self.c_proj = nn.Linear(config.d_mlp, config.d_model, bias=config.bias)   # narrow back ("down")
        self.dropout = nn.Dropout(config.dropout)
        self.hook_pre = HookPoint(f"blocks.{layer}.mlp.pre")
        self.hook_post = HookPoint(f"blocks.{layer}.mlp.post")
        self.hook_out = HookPoint(f"blocks.{layer}.mlp.out")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "swiglu":
            gate = self.hook_pre(self.c_gate(x))                            # (B, T, d_mlp): before SiLU
            hidden = self.hook_post(self.act(gate) * self.c_fc(x))          # (B, T, d_mlp)
        else:
            hidden = self.hook_pre(self.c_fc(x))                            # (B, T, d_mlp)
            hidden = self.hook_post(self.act(hidden))                       # (B, T, d_mlp)
        return self.hook_out(self.dropout(self.c_proj(hidden)))             # (B, T, C)


def make_norm(config: GPTConfig) -> nn.Module:
    """LayerNorm (centre, then scale to unit spread) or RMSNorm (only scale by the root mean square)."""
    if config.norm == "rmsnorm":
        return nn.RMSNorm(config.d_model, eps=config.layer_norm_eps)
    return nn.LayerNorm(config.d_model, eps=config.layer_norm_eps, bias=config.bias)


class Block(nn.Module):
    """A pre-norm transformer block: x + attention(LN(x)), then x + MLP(LN(x)).

    With parallel_residual (GPT-NeoX, Pythia) the MLP reads the block's input too, not the stream after
    attention: x + attention(LN₁(x)) + MLP(LN₂(x)). resid_mid is then x + attention, for the panels.
    """

    def __init__(self, config: GPTConfig, layer: int) -> None:
        super().__init__()
        self.parallel_residual = config.parallel_residual
        self.ln_1 = make_norm(config)
        self.attn = CausalSelfAttention(config, layer)
        self.ln_2 = make_norm(config)
        self.mlp = MLP(config, layer)
        self.hook_resid_pre = HookPoint(f"blocks.{layer}.resid_pre")
        self.hook_ln1 = HookPoint(f"blocks.{layer}.ln1")
        self.hook_resid_mid = HookPoint(f"blocks.{layer}.resid_mid")
        self.hook_ln2 = HookPoint(f"blocks.{layer}.ln2")
        self.hook_resid_post = HookPoint(f"blocks.{layer}.resid_post")

    def forward(self, x: torch.Tensor, rope: torch.Tensor | None, masks: AttentionMasks, past=None) -> torch.Tensor:
        """past: this layer's cached keys and values when x holds only new tokens (forward_cached)."""
        x = self.hook_resid_pre(x)                                   # (B, T, C): the residual stream
        block_input = x
        normed = self.hook_ln1(self.ln_1(x))
        if past is None:
            attended = self.attn(normed, rope, masks)
        else:  # new tokens only, attending to the cached keys and values too
            attended = self.attn.forward_cached(normed, rope, masks, past)
        x = self.hook_resid_mid(x + attended)
        mlp_reads = block_input if self.parallel_residual else x
        x = self.hook_resid_post(x + self.mlp(self.hook_ln2(self.ln_2(mlp_reads))))
        return x


def _position_table(config: GPTConfig) -> torch.Tensor:
    """The fixed table of a computed positional scheme: sinusoids (context, C) or RoPE angles (context, rot/2)."""
    if config.pos_encoding == "sinusoidal":
        return sinusoidal_table(config.context_length, config.d_model)
    return rope_angles(config.context_length, config.rotary_dims, config.rope_theta)


class Embedding(nn.Embedding):
    """nn.Embedding, except that built on the 'meta' device (shapes only, for weights loaded next) it skips
    its random start: there a random fill does nothing but import PyTorch's reference kernels (a second)."""

    def reset_parameters(self) -> None:
        if not self.weight.is_meta:
            super().reset_parameters()


class GPT(nn.Module):
    """Token ids in, next-token logits out."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        layers = dict(
            wte=Embedding(config.vocab_size, config.d_model),      # token embedding: one vector per id
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList(Block(config, layer) for layer in range(config.n_layers)),
            ln_f=make_norm(config),
        )
        if config.pos_encoding == "learned":
            layers["wpe"] = Embedding(config.context_length, config.d_model)
        self.transformer = nn.ModuleDict(layers)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        if config.tie_embeddings:
            self.lm_head.weight = self.transformer.wte.weight  # read out with the same vectors we read in

        if config.pos_encoding in ("sinusoidal", "rope"):
            # (context, C) sines or (context, rotary dims / 2) angles: grow with the context, not its square.
            # Worked out on the CPU even when the model is built on 'meta' (shapes only), where arange would
            # import PyTorch's reference kernels (a second); it then lands where the weights are.
            with torch.device("cpu"):
                table = _position_table(config)
            self.register_buffer(config.pos_encoding, table.to(self.lm_head.weight.device), persistent=False)

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
        if self.lm_head.weight.is_meta:  # shapes only (GPT.unfilled, the loader's list of names): nothing to fill
            return
        self.apply(self._init_weights)
        # GPT-2's trick: shrink the layers that write into the residual stream by 1/sqrt(2·layers).
        for name, parameter in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(parameter, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layers))

    @classmethod
    def unfilled(cls, config: GPTConfig) -> GPT:
        """A GPT whose weights are allocated but hold whatever the memory held, for loaded weights to fill.

        Built on PyTorch's 'meta' device (shapes only), then given real memory: a random initialisation
        of half a billion parameters would take seconds, only to be overwritten.
        """
        with torch.device("meta"):
            model = cls(config)
        give_memory(model)  # a shared (tied) weight stays shared
        with torch.no_grad():  # the computed tables were empty too: compute them
            if config.pos_encoding in ("sinusoidal", "rope"):
                getattr(model, config.pos_encoding).copy_(_position_table(config))
            for block in model.transformer.h:
                block.attn.nothing_to_add.zero_()
        return model

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
        masks = AttentionMasks(T, ids.device)  # made for these T tokens, only if a layer needs one
        for block in self.transformer.h:
            x = block(x, rope, masks)
        x = self.hook_ln_final(self.transformer.ln_f(x))                # (B, T, C)
        logits = self.hook_logits(self.lm_head(x))                      # (B, T, vocab)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(B * T, -1), targets.reshape(B * T))  # (B·T, vocab) vs (B·T,)
        return logits, loss

    def _add_position(self, token_vectors: torch.Tensor, T: int, start: int = 0):
        """Give tokens start..T-1 their place. Returns (tokens + position, RoPE angles or None)."""
        scheme = self.config.pos_encoding
        if scheme == "rope":
            return token_vectors, self.hook_pos(self.rope[start:T])     # angles (T, hs/2), used in attention
        if scheme == "learned":
            positions = torch.arange(start, T, device=token_vectors.device)
            position_vectors = self.transformer.wpe(positions)          # (T, C)
        elif scheme == "sinusoidal":
            position_vectors = self.sinusoidal[start:T]                 # (T, C)
        else:  # "none": nothing to add, shown as zeros
            if not self.hook_pos.active:
                return token_vectors, None
            position_vectors = torch.zeros(T - start, self.config.d_model, device=token_vectors.device)
        return token_vectors + self.hook_pos(position_vectors), None

    def forward_cached(self, ids: torch.Tensor, past) -> torch.Tensor:
        """The logits (B, Tn, vocab) of new tokens ids (B, Tn) that follow past.length earlier ones.

        The fast path beside forward: a causal model's earlier tokens never see later ones, so their
        keys and values stay what they were; `past` keeps them (a KV cache, see core/model/kv_cache.py, the
        mechanism a later "KV cache" lesson and view show) and only the new tokens are computed.
        """
        B, new = ids.shape
        start = past.length
        T = start + new
        if T > self.config.context_length:
            raise ValueError(
                f"The prompt has {T} tokens but this model reads at most {self.config.context_length}; "
                f"shorten it or keep only its last {self.config.context_length} tokens."
            )
        token_vectors = self.hook_tok(self.transformer.wte(ids))        # (B, Tn, C)
        x, rope = self._add_position(token_vectors, T, start)           # (B, Tn, C)
        x = self.transformer.drop(self.hook_sum(x))
        masks = AttentionMasks(T, ids.device, first_query=start)        # rows of the new queries only
        for block, layer_past in zip(self.transformer.h, past.layers):
            x = block(x, rope, masks, layer_past)
        x = self.hook_ln_final(self.transformer.ln_f(x))                # (B, Tn, C)
        return self.hook_logits(self.lm_head(x))                        # (B, Tn, vocab)

    # -- conveniences ------------------------------------------------------------------------------
    def hook_points(self) -> dict[str, HookPoint]:
        """Every named place a value can be read or changed, by name."""
        return dict(self._hook_points)

    def modules_with_a_mode(self) -> tuple[nn.Module, ...]:
        """This model and every module whose training flag matters (not the hook points), found once:
        cheaper than walking the tree on every trace."""
        return (self, *self._submodules_with_a_mode)

    def trace(self, ids, names=None, intervention=None, previous=None):
        """One forward pass that records every internal; see core.model.trace.run_trace (and `previous` there)."""
        from core.model.trace import run_trace

        return run_trace(self, ids, names=names, intervention=intervention, previous=previous)

    def num_params(self) -> int:
        """Parameters counted once (a tied head shares the embedding's)."""
        return sum(p.numel() for p in self.parameters())

    def set_fast_attention(self, enabled: bool) -> None:
        for block in self.transformer.h:
            block.attn.use_fast_path = enabled
