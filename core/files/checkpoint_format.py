"""The checkpoint format: the names of its files, the limits a reader holds a file to, and its errors.

A checkpoint folder holds
    model.safetensors      the weights (a tied output matrix is stored once, as the embedding)
    optimizer.safetensors  AdamW's moments, the batch sampler's state and the counters (for exact resume)
    meta.json              format version, model config, tokenizer (with its merges), training config,
                           step, loss history, and the id of the save the tensor files belong to
"""

from __future__ import annotations

FORMAT_NAME = "attention-lab-checkpoint"
FORMAT_VERSION = 1
MODEL_FILE = "model.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
META_FILE = "meta.json"
SAVE_ID_KEY = "save_id"  # stored in each tensor file's header and in meta.json: they must agree
# Bytes per element of the safetensors dtypes we can read.
DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
# Header bytes one tensor's entry may take ({"dtype": ..., "shape": [...], "data_offsets": [...]} and its
# name): a header far longer than the tensors the model has is refused before it is parsed.
HEADER_BYTES_PER_TENSOR = 1024
HEADER_SLACK_BYTES = 64 * 1024  # __metadata__ and the counters of a training state
MAX_META_BYTES = 100_000_000  # meta.json: settings, a tokenizer's merges and the loss history


class CheckpointError(ValueError):
    """The folder is not a checkpoint this version can load; the message says what is wrong."""


class CheckpointSaveError(CheckpointError, OSError):
    """The checkpoint could not be written (disk full, folder not writable...); the message says what to do.
    Also an OSError, since that is what it is underneath; nothing the folder held before was changed."""
