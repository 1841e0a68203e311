"""A plain PyTorch GPT and training loop, the yardstick for the project's trainer.

Written the way nanoGPT writes it (model.py + train.py), with nanoGPT's character-level CPU recipe
from its README: 4 layers, 4 heads, 128 dims, context 64, batch 12, dropout 0, AdamW lr 1e-3,
betas (0.9, 0.99), weight decay 0.1 on 2-D weights, grad clip 1.0, 100 warmup steps, cosine to 1e-4
over 2,000 steps, float32 on the CPU (nanoGPT uses no autocast there), torch.optim.AdamW in its default
(foreach) form as nanoGPT picks on CPU. Nothing here is imported by the project.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class BaselineRecipe:
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    batch_size: int = 12
    learning_rate: float = 1e-3
    min_lr: float = 1e-4
    warmup_iters: int = 100
    lr_decay_iters: int = 2000
    max_iters: int = 2000
    beta1: float = 0.9
    beta2: float = 0.99
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    seed: int = 1337


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd: int, n_head: int) -> None:
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.n_head = n_head

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # nanoGPT's flash path
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class Block(nn.Module):
    def __init__(self, n_embd: int, n_head: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class BaselineGPT(nn.Module):
    def __init__(self, vocab_size: int, recipe: BaselineRecipe) -> None:
        super().__init__()
        self.block_size = recipe.block_size
        self.wte = nn.Embedding(vocab_size, recipe.n_embd)
        self.wpe = nn.Embedding(recipe.block_size, recipe.n_embd)
        self.h = nn.ModuleList(Block(recipe.n_embd, recipe.n_head) for _ in range(recipe.n_layer))
        self.ln_f = nn.LayerNorm(recipe.n_embd)
        self.lm_head = nn.Linear(recipe.n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * recipe.n_layer))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)

    def forward(self, idx, targets=None):
        B, T = idx.size()
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


def baseline_lr(it: int, r: BaselineRecipe) -> float:
    """nanoGPT's get_lr."""
    if it < r.warmup_iters:
        return r.learning_rate * (it + 1) / (r.warmup_iters + 1)
    if it > r.lr_decay_iters:
        return r.min_lr
    ratio = (it - r.warmup_iters) / (r.lr_decay_iters - r.warmup_iters)
    return r.min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (r.learning_rate - r.min_lr)


class BaselineRun:
    """nanoGPT's training loop, one iteration per `step()`."""

    def __init__(self, train_tokens: np.ndarray, vocab_size: int, recipe: BaselineRecipe = BaselineRecipe()) -> None:
        torch.manual_seed(recipe.seed)
        self.recipe = recipe
        self.data = train_tokens
        self.model = BaselineGPT(vocab_size, recipe)
        params = [p for p in self.model.parameters() if p.requires_grad]
        groups = [
            {"params": [p for p in params if p.dim() >= 2], "weight_decay": recipe.weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
        ]
        self.optimizer = torch.optim.AdamW(groups, lr=recipe.learning_rate, betas=(recipe.beta1, recipe.beta2))
        self.iter = 0

    def get_batch(self):
        r = self.recipe
        ix = torch.randint(len(self.data) - r.block_size, (r.batch_size,))
        x = torch.stack([torch.from_numpy(self.data[i : i + r.block_size].astype(np.int64)) for i in ix])
        y = torch.stack([torch.from_numpy(self.data[i + 1 : i + 1 + r.block_size].astype(np.int64)) for i in ix])
        return x, y

    def step(self) -> None:
        lr = baseline_lr(self.iter, self.recipe)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        x, y = self.get_batch()
        _, loss = self.model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.recipe.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.iter += 1

    @property
    def tokens_per_step(self) -> int:
        return self.recipe.batch_size * self.recipe.block_size
