"""Training on several processes at once (torchrun), kept out of the trainer's way.

Under `torchrun --nproc_per_node=N`, every process builds the same model and draws the same global
batch, then works on its own share of the rows. DistributedDataParallel averages the gradients during
backward, so after each step all copies of the model hold the same weights. One process is nothing
special: every function here then does the plain single-process thing.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn


def is_active() -> bool:
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    """How many processes train together (1 without torchrun)."""
    return dist.get_world_size() if is_active() else 1


def rank() -> int:
    """This process's number; 0 is the one that writes files and prints."""
    return dist.get_rank() if is_active() else 0


def start_from_environment() -> bool:
    """Join the process group torchrun described in the environment; False when not under torchrun."""
    if is_active() or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return is_active()
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl")
    else:
        dist.init_process_group("gloo")  # CPU processes talk over gloo
    return True


def finish() -> None:
    if is_active():
        # Every process reaches the end first: one that takes the group down while another is still
        # saving or evaluating makes that one's next message fail, and gloo aborts it (seen in CI).
        dist.barrier()
        dist.destroy_process_group()


def wrap_model(model: nn.Module, device: torch.device) -> nn.Module:
    """The module to call for training: the model itself, or a DDP wrapper that averages gradients."""
    if world_size() == 1:
        return model
    device_ids = (
        [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else None
    )
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)


def mean_over_processes(value: torch.Tensor) -> float:
    """The average of a scalar over all processes, as a Python float."""
    if world_size() == 1:
        return value.item()
    total = value.detach().float().clone()
    dist.all_reduce(total)
    return total.item() / world_size()


def broadcast_flag(flag: bool) -> bool:
    """Rank 0's decision, shared with every process (e.g. 'time is up, stop now')."""
    if world_size() == 1:
        return flag
    value = torch.tensor([1.0 if flag else 0.0])
    if torch.cuda.is_available() and dist.get_backend() == "nccl":
        value = value.cuda()
    dist.broadcast(value, src=0)
    return bool(value.item())
