"""The tensors in a Hugging Face folder, each read only when asked for.

Files are memory-mapped (safetensors' safe_open, torch.load(mmap=True)), so the weights are never all
in memory twice: each tensor is read, turned into float32 and copied into the model, then let go.
Understood, in this order of preference:
    model.safetensors                                      one file
    model.safetensors.index.json + model-0000x-of-0000n    sharded (the index names each tensor's file)
    pytorch_model.bin (or its .index.json and shards)      read with weights_only: nothing is unpickled
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import torch

from ..text_files import missing_file_sentence

SAFETENSORS, SAFETENSORS_INDEX = "model.safetensors", "model.safetensors.index.json"
BIN, BIN_INDEX = "pytorch_model.bin", "pytorch_model.bin.index.json"


class WeightStore:
    """name -> tensor for every weight in a folder; `read(name)` gives it as float32."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.file_of: dict[str, Path] = {}   # tensor name -> the file holding it
        self._open: dict[Path, object] = {}  # file -> an open safe_open handle, or a loaded (mmap) dict
        self._find_files()

    @property
    def names(self) -> set[str]:
        return set(self.file_of)

    def file_names(self) -> str:
        return ", ".join(sorted({path.name for path in self.file_of.values()}))

    def read(self, name: str) -> torch.Tensor:
        """The tensor `name` as float32 (fp16/bf16 weights are widened; the values do not change)."""
        path = self.file_of[name]
        handle = self._handle(path)
        tensor = handle.get_tensor(name) if hasattr(handle, "get_tensor") else handle[name]
        if not tensor.is_floating_point():
            raise ValueError(f"{path.name}: the weight {name!r} holds {tensor.dtype} values, not numbers with a fraction.")
        return tensor.to(torch.float32)

    def size_of(self, name: str) -> tuple[int, ...]:
        handle = self._handle(self.file_of[name])
        if hasattr(handle, "get_slice"):
            return tuple(handle.get_slice(name).get_shape())
        return tuple(handle[name].shape)

    def close(self) -> None:
        self._open.clear()

    # -- finding the files -----------------------------------------------------------------------------
    def _find_files(self) -> None:
        for single, index in ((SAFETENSORS, SAFETENSORS_INDEX), (BIN, BIN_INDEX)):
            if (self.folder / single).is_file():
                self._add_whole_file(self.folder / single)
                return
            if (self.folder / index).is_file():
                self._add_index(self.folder / index)
                return
        for name in (SAFETENSORS, BIN):
            path = self.folder / name
            if path.is_dir() or path.is_symlink():  # there, but not a file
                raise ValueError(missing_file_sentence(path, ""))
        raise ValueError(
            f"No weights in {self.folder}: expected model.safetensors (preferred), its sharded form with "
            "model.safetensors.index.json, or pytorch_model.bin."
        )

    def _add_whole_file(self, path: Path) -> None:
        handle = self._handle(path)
        names = handle.keys()
        self.file_of.update(dict.fromkeys(names, path))

    def _add_index(self, index_path: Path) -> None:
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
            raise ValueError(f"{index_path} is not valid JSON ({error}).") from None
        weight_map = index.get("weight_map") if isinstance(index, dict) else None
        if not isinstance(weight_map, dict) or not weight_map:
            raise ValueError(f"{index_path} has no 'weight_map' saying which file holds each weight.")
        for name, file_name in weight_map.items():
            # Only a plain file name beside the index: never a path that leads elsewhere.
            if not isinstance(file_name, str) or Path(file_name).name != file_name or file_name in ("", ".", ".."):
                raise ValueError(f"{index_path}: {name!r} is said to be in {file_name!r}, which is not a file beside it.")
            path = self.folder / file_name
            if not path.is_file():
                raise ValueError(missing_file_sentence(path, f"{path} is missing: {index_path.name} puts {name!r} in it."))
            self.file_of[name] = path
        for path in set(self.file_of.values()):  # every shard must hold what the index says it holds
            held = set(self._handle(path).keys())
            promised = {name for name, where in self.file_of.items() if where == path}
            if promised - held:
                raise ValueError(f"{path.name} lacks {sorted(promised - held)[0]!r}, which {index_path.name} puts there.")

    def _handle(self, path: Path):
        if path not in self._open:
            self._open[path] = _open_safetensors(path) if path.suffix == ".safetensors" else _open_bin(path)
        return self._open[path]


def _open_safetensors(path: Path):
    from safetensors import SafetensorError, safe_open

    try:
        return safe_open(str(path), framework="pt", device="cpu")  # memory-mapped: reads nothing yet
    except (SafetensorError, OSError) as error:
        raise ValueError(f"{path} could not be read as safetensors ({error}).") from None


def _open_bin(path: Path) -> dict:
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError as error:
        if "mmap" not in str(error):
            raise ValueError(_not_plain_weights(path, error)) from None
        # An old (pre-zip) torch file cannot be memory-mapped: read it whole.
        state_dict = _load_bin_without_mmap(path)
    except Exception as error:  # torch raises several kinds for a damaged or unsafe pickle
        raise ValueError(_not_plain_weights(path, error)) from None
    if not isinstance(state_dict, Mapping) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ValueError(f"{path} should hold a dict of weight tensors (a state dict).")
    return dict(state_dict)


def _load_bin_without_mmap(path: Path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(_not_plain_weights(path, error)) from None


def _not_plain_weights(path: Path, error: Exception) -> str:
    return (f"{path} could not be read as plain weights ({type(error).__name__}); "
            "only files holding tensors are accepted.")
