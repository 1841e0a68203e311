"""The tensors in a Hugging Face folder, each read only when asked for.

Files are memory-mapped (safetensors' safe_open; torch.load with weights_only=True and mmap=True), so
the weights are never all in memory twice: each tensor is read and copied into the model (widened to
float32 there), then let go. A safetensors file is mapped afresh for each tensor and unmapped after it,
so the pages read do not pile up in this process's memory as the whole file would.
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

from core.files.text_files import missing_file_sentence

SAFETENSORS, SAFETENSORS_INDEX = "model.safetensors", "model.safetensors.index.json"
BIN, BIN_INDEX = "pytorch_model.bin", "pytorch_model.bin.index.json"


class WeightStore:
    """name -> tensor for every weight in a folder; `read(name)` gives one as stored."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.file_of: dict[str, Path] = {}  # tensor name -> the file holding it
        self.shape_of: dict[str, tuple[int, ...]] = {}  # tensor name -> its shape, from the file's table
        self._bin: dict[Path, dict] = {}  # pytorch_model.bin file -> its (memory-mapped) tensors
        self._find_files()

    @property
    def names(self) -> set[str]:
        return set(self.file_of)

    def file_names(self) -> str:
        return ", ".join(sorted({path.name for path in self.file_of.values()}))

    def read(self, name: str) -> torch.Tensor:
        """The tensor `name` as stored (float32, float16 or bfloat16); copying it into a float32
        parameter widens it without a float32 copy of its own."""
        path = self.file_of[name]
        if path.suffix == ".safetensors":
            tensor = _read_safetensor(path, name)
        else:
            tensor = self._bin[path][name]
        if not tensor.is_floating_point():
            raise ValueError(
                f"{path.name}: the weight {name!r} holds {tensor.dtype} values, not numbers with a fraction."
            )
        return tensor

    def close(self) -> None:
        self._bin.clear()

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
        shapes = self._table_of(path)
        self.shape_of.update(shapes)
        self.file_of.update(dict.fromkeys(shapes, path))

    def _table_of(self, path: Path) -> dict[str, tuple[int, ...]]:
        """name -> shape of every tensor in one file (for safetensors only its header is read)."""
        if path.suffix != ".safetensors":
            self._bin[path] = _open_bin(path)
            return {name: tuple(tensor.shape) for name, tensor in self._bin[path].items()}
        with _open_safetensors(path) as handle:
            return {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}

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
                raise ValueError(
                    f"{index_path}: {name!r} is said to be in {file_name!r}, which is not a file beside it."
                )
            path = self.folder / file_name
            if not path.is_file():
                raise ValueError(
                    missing_file_sentence(path, f"{path} is missing: {index_path.name} puts {name!r} in it.")
                )
            self.file_of[name] = path
        for path in sorted(set(self.file_of.values())):  # every shard must hold what the index says it holds
            held = self._table_of(path)
            promised = {name for name, where in self.file_of.items() if where == path}
            if promised - set(held):
                raise ValueError(
                    f"{path.name} lacks {sorted(promised - set(held))[0]!r}, which {index_path.name} puts there."
                )
            self.shape_of.update({name: held[name] for name in promised})


def _open_safetensors(path: Path):
    from safetensors import SafetensorError, safe_open

    try:
        return safe_open(str(path), framework="pt", device="cpu")  # memory-mapped: reads only the header
    except (SafetensorError, OSError) as error:
        raise ValueError(f"{path} could not be read as safetensors ({error}).") from None


def _read_safetensor(path: Path, name: str) -> torch.Tensor:
    from safetensors import SafetensorError

    try:
        with _open_safetensors(path) as handle:
            return handle.get_tensor(name)
    except (SafetensorError, OSError) as error:  # e.g. the file was cut short after its header was read
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
    return (
        f"{path} could not be read as plain weights ({type(error).__name__}); only files holding tensors are accepted."
    )
