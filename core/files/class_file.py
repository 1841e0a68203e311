"""A class file: a classroom session in one file (model, tokenizer, prompt, window layout, lesson position,
timeline). The app's menus call it a "session" (File > Save session…, *.attnlab); the code says class file,
not to be confused with the model in use (app/state/model_in_use.py).

A teacher prepares a demo at home, saves it, and opens the same file in class. The file is a zip:

    session.json            what is shown: prompt, lesson position, layer/head, view settings, timeline steps
    checkpoint/meta.json    the model's config and tokenizer (written by core.files.checkpoint)
    checkpoint/model.safetensors
    layout.bin              the window's panel arrangement (opaque bytes from Qt's saveState)
    geometry.bin            the window's size and place (opaque bytes from Qt's saveGeometry)
    timeline.safetensors    weights kept during training, as "<step>/<parameter name>" tensors (optional;
                            a tied output matrix is stored once, as the embedding)

Nothing is unpickled: tensors are safetensors, everything else JSON or raw bytes. Only these names are read;
anything else in the zip is ignored.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as safetensors_bytes

from core.files.checkpoint import META_FILE, MODEL_FILE, checkpoint_bytes, load_checkpoint, read_model_config
from core.files.checkpoint_header import largest_model_file
from core.model.footprint import check_fits
from core.files.weights_check import check_finite
from core.files.json_values import is_number, is_whole_number
from core.model.model import GPT
from core.files.safe_write import atomic_file, explain_write_failure

FORMAT_NAME = "attention-lab-session"
FORMAT_VERSION = 1
SUFFIX = ".attnlab"
SESSION_FILE = "session.json"
CHECKPOINT_FOLDER = "checkpoint"
LAYOUT_FILE = "layout.bin"
GEOMETRY_FILE = "geometry.bin"
TIMELINE_FILE = "timeline.safetensors"
MAX_JSON_BYTES = 50_000_000  # a session.json bigger than this is not one of ours
# A zip member unpacking to more than this many times its packed size (and over a megabyte) is a zip bomb:
# weights barely shrink, and even JSON shrinks about 10x. Nothing unpacks beyond MAX_UNPACKED_BYTES at all.
MAX_PACKING_RATIO = 200
ZIP_BOMB_MIN_BYTES = 1_000_000
MAX_UNPACKED_BYTES = 16 * 2**30
# Qt's saveState and saveGeometry write a few KB.
MAX_LAYOUT_BYTES = 10_000_000
# Every member that is read (anything else in the zip is ignored).
_MEMBERS_READ = (
    SESSION_FILE,
    f"{CHECKPOINT_FOLDER}/{META_FILE}",
    f"{CHECKPOINT_FOLDER}/{MODEL_FILE}",
    LAYOUT_FILE,
    GEOMETRY_FILE,
    TIMELINE_FILE,
)
# The settings the window reads back, and what each must be.
SETTING_CHECKS = {
    "temperature": (lambda v: is_number(v) and 0 < v <= 100, "a number above 0 and at most 100"),
    "dark": (lambda v: isinstance(v, bool), "true or false"),
    "trained": (lambda v: isinstance(v, bool), "true or false"),
    "source": (lambda v: isinstance(v, str), "a string"),
}


class ClassFileError(ValueError):
    """The file is not a session this version can open; the message says what is wrong."""


class ClassFileSaveError(ClassFileError, OSError):
    """The session could not be written (disk full, folder not writable...); the message says what to do.
    Any file that was already at the path is unchanged."""


@dataclass(frozen=True)
class ClassFile:
    model: GPT  # the model shown
    tokenizer: object  # core.tokenizers.Tokenizer it reads with
    prompt: str = ""  # the prompt in the editor
    lesson: tuple[str, str] | None = None  # (lesson id, step id) the lesson pane was on
    layer: int = 0  # the layer chosen in the selectors
    head: int = 0  # the head chosen
    layout: bytes = b""  # window panel arrangement (Qt saveState), opaque here
    geometry: bytes = b""  # window size and place (Qt saveGeometry)
    step: int = 0  # training steps the weights have had
    losses: dict | None = None  # {"train": [[step, loss], ...], ...} if known
    timeline: tuple[tuple[int, dict], ...] = ()  # ((step, {parameter name: tensor}), ...) kept while training
    settings: dict = field(default_factory=dict)  # other view settings as plain JSON (temperature, theme, ...)


# -- saving -----------------------------------------------------------------------------------------
def save_class_file(path, session: ClassFile) -> Path:
    """Write the session to `path` (a new file, or replacing one); returns the path.

    Written whole to a temporary file beside it, flushed to the disk, then renamed over `path`: a crash
    or a full disk leaves the earlier file as it was. Raises ClassFileSaveError with a sentence on failure."""
    path = Path(path)
    if path.suffix != SUFFIX:
        path = path.with_name(path.name + SUFFIX)
    description = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "prompt": session.prompt,
        "lesson": list(session.lesson) if session.lesson else None,
        "layer": int(session.layer),
        "head": int(session.head),
        "settings": session.settings,
        "timeline_steps": [int(step) for step, _ in session.timeline],
    }
    model_files = checkpoint_bytes(session.model, session.tokenizer, step=session.step, losses=session.losses)
    try:
        with atomic_file(path) as file:
            _write_archive(file, model_files, description, session)
    except OSError as error:
        raise ClassFileSaveError(explain_write_failure(error, path, "the session")) from error
    return path


def _write_archive(file, model_files: dict[str, bytes], description: dict, session: ClassFile) -> None:
    with zipfile.ZipFile(file, "w") as archive:
        for name, packing in ((META_FILE, zipfile.ZIP_DEFLATED), (MODEL_FILE, zipfile.ZIP_STORED)):
            archive.writestr(f"{CHECKPOINT_FOLDER}/{name}", model_files[name], packing)  # weights barely shrink
        archive.writestr(SESSION_FILE, json.dumps(description, indent=1), zipfile.ZIP_DEFLATED)
        archive.writestr(LAYOUT_FILE, bytes(session.layout))
        archive.writestr(GEOMETRY_FILE, bytes(session.geometry))
        if session.timeline:
            tied = session.model.config.tie_embeddings
            archive.writestr(TIMELINE_FILE, safetensors_bytes(_timeline_tensors(session.timeline, tied)))


def _timeline_tensors(timeline, tied: bool) -> dict[str, torch.Tensor]:
    """ "<step>/<name>" -> tensor. A tied output matrix is the embedding: stored once, as in model.safetensors
    (safetensors refuses two names for one memory, and a training snapshot shares that one array)."""
    tensors = {}
    for step, weights in timeline:
        if not isinstance(weights, dict):
            raise ValueError("A timeline snapshot must be a dict of parameter name -> tensor to be saved.")
        for name, value in weights.items():
            if tied and name == "lm_head.weight":
                continue
            # A copy: snapshot arrays are read-only, and torch warns on wrapping those.
            tensor = torch.from_numpy(np.array(value)) if not isinstance(value, torch.Tensor) else value
            tensors[f"{int(step)}/{name}"] = tensor.detach().cpu().contiguous()
    return tensors


# -- opening ----------------------------------------------------------------------------------------
def load_class_file(path) -> ClassFile:
    """Read and check a session file. Raises ClassFileError (a ValueError) with a sentence saying what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ClassFileError(f"{path} does not exist or is not a file.")
    try:
        return _load_class_file(path)
    except MemoryError:  # every size was checked, yet memory ran out (other programs took it meanwhile)
        raise ClassFileError(
            f"This computer ran out of memory while opening {path.name}; close other programs, "
            "or open a session with a smaller model."
        ) from None


def _load_class_file(path: Path) -> ClassFile:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError):
        raise ClassFileError(f"{path.name} is not an Attention Lab session (it is not a zip file).") from None
    with archive:
        names = set(archive.namelist())
        _check_unpacked_total(archive, names, path)
        description = _read_description(archive, names, path.name)
        model, tokenizer, step, losses = _read_checkpoint(archive, names, path.name)
        _check_selection(description, model.config, path.name)
        timeline = _read_timeline(archive, names, description["timeline_steps"], model.config, path.name)
        layout, geometry = (
            _read_member(archive, name, path.name, MAX_LAYOUT_BYTES) if name in names else b""
            for name in (LAYOUT_FILE, GEOMETRY_FILE)
        )
    lesson = description["lesson"]
    return ClassFile(
        model=model,
        tokenizer=tokenizer,
        prompt=description["prompt"],
        lesson=tuple(lesson) if lesson else None,
        layer=description["layer"],
        head=description["head"],
        layout=layout,
        geometry=geometry,
        step=step,
        losses=losses,
        timeline=timeline,
        settings=description["settings"],
    )


def _check_unpacked_total(archive: zipfile.ZipFile, names: set[str], path: Path) -> None:
    """The members we read, all together, must not unpack to far more than the whole file (several
    members can share one packed stream, each under the ratio alone), nor to more than memory holds."""
    read = [archive.getinfo(name) for name in _MEMBERS_READ if name in names]
    unpacked = sum(info.file_size for info in read)
    size = path.stat().st_size
    if unpacked > ZIP_BOMB_MIN_BYTES and unpacked > MAX_PACKING_RATIO * max(size, 1):
        largest = max(read, key=lambda info: info.file_size)
        raise ClassFileError(
            f"{path.name} would unpack from {size:,} to {unpacked:,} bytes ({largest.filename} alone "
            f"to {largest.file_size:,}), far too large for what it holds; the file is damaged or was "
            "made to fill the memory."
        )
    try:
        # each member's bytes, then the tensors made from them
        check_fits(2 * unpacked, f"{path.name}, whose members unpack to {unpacked:,} bytes,")
    except ValueError as error:
        raise ClassFileError(str(error)) from None


def _read_member(archive: zipfile.ZipFile, name: str, file_name: str, largest: int = MAX_UNPACKED_BYTES) -> bytes:
    """One member's bytes. A member that would unpack to far more than it packs, or to more than `largest`
    (what it can hold for this model), is refused before unpacking."""
    info = archive.getinfo(name)
    if info.file_size > largest:
        raise ClassFileError(
            f"{file_name}: {name} would unpack to {info.file_size:,} bytes, but it can hold at most "
            f"{largest:,} here; the file is damaged or was made to fill the memory."
        )
    if info.file_size > MAX_UNPACKED_BYTES or (
        info.file_size > ZIP_BOMB_MIN_BYTES and info.file_size > MAX_PACKING_RATIO * max(info.compress_size, 1)
    ):
        raise ClassFileError(
            f"{file_name}: {name} would unpack from {info.compress_size:,} to {info.file_size:,} bytes, far too large "
            f"for what it holds; the file is damaged or was made to fill the memory."
        )
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as error:
        raise ClassFileError(f"{file_name}: {name} is damaged inside the zip ({error}).") from None


def _read_description(archive: zipfile.ZipFile, names: set[str], file_name: str) -> dict:
    if SESSION_FILE not in names:
        raise ClassFileError(f"{file_name} is not an Attention Lab session: it has no {SESSION_FILE}.")
    try:
        description = json.loads(_read_member(archive, SESSION_FILE, file_name, MAX_JSON_BYTES).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ClassFileError(f"{file_name}: {SESSION_FILE} is damaged ({error}).") from None
    if not isinstance(description, dict) or description.get("format") != FORMAT_NAME:
        raise ClassFileError(f"{file_name} is not an Attention Lab session file.")
    version = description.get("format_version")
    if not is_whole_number(version):
        raise ClassFileError(
            f"{file_name}: {SESSION_FILE} has a bad 'format_version' ({version!r:.60}); it must be a whole number."
        )
    if version > FORMAT_VERSION:
        raise ClassFileError(
            f"{file_name} was written by a newer Attention Lab (format {version!r}); update to open it."
        )
    expected = {"prompt": str, "layer": int, "head": int, "settings": dict, "timeline_steps": list}
    for key, kind in expected.items():
        if not isinstance(description.get(key), kind) or isinstance(description.get(key), bool):
            raise ClassFileError(f"{file_name}: {SESSION_FILE} has a bad {key!r} ({description.get(key)!r:.60}).")
    lesson = description.get("lesson")
    lesson_is_a_pair = isinstance(lesson, list) and len(lesson) == 2 and all(isinstance(s, str) for s in lesson)
    if lesson is not None and not lesson_is_a_pair:
        raise ClassFileError(f"{file_name}: 'lesson' must be [lesson id, step id] or null.")
    if not all(is_whole_number(s) for s in description["timeline_steps"]):
        raise ClassFileError(f"{file_name}: 'timeline_steps' must be a list of whole numbers.")
    _check_settings(description["settings"], file_name)
    return description


def _check_settings(settings: dict, file_name: str) -> None:
    """The view settings the window reads back must have the JSON type it expects."""
    for key, (ok, what) in SETTING_CHECKS.items():
        if key in settings and not ok(settings[key]):
            raise ClassFileError(f"{file_name}: the setting {key!r} must be {what}, not {settings[key]!r:.60}.")


def _check_selection(description: dict, config, file_name: str) -> None:
    """The chosen layer and head must exist in the model the session holds."""
    for key, count in (("layer", config.n_layers), ("head", config.n_heads)):
        if not 0 <= description[key] < count:
            raise ClassFileError(
                f"{file_name}: {SESSION_FILE} chooses {key} {description[key]}, but the model "
                f"has {key}s 0 to {count - 1}."
            )


def _read_checkpoint(archive: zipfile.ZipFile, names: set[str], file_name: str):
    wanted = [f"{CHECKPOINT_FOLDER}/{name}" for name in (META_FILE, MODEL_FILE)]
    missing = [name for name in wanted if name not in names]
    if missing:
        raise ClassFileError(f"{file_name} has no model: {missing[0]} is missing.")
    with tempfile.TemporaryDirectory() as folder:
        # Our own fixed names: nothing from the zip picks a path. meta.json first: the config it declares
        # is checked to fit, and bounds how big the weights member may be, before that is unpacked.
        meta_path, model_path = Path(folder) / META_FILE, Path(folder) / MODEL_FILE
        meta_path.write_bytes(_read_member(archive, f"{CHECKPOINT_FOLDER}/{META_FILE}", file_name, MAX_JSON_BYTES))
        try:
            largest = largest_model_file(read_model_config(Path(folder), f"the model in {file_name}"))
            model_path.write_bytes(_read_member(archive, f"{CHECKPOINT_FOLDER}/{MODEL_FILE}", file_name, largest))
            checkpoint = load_checkpoint(folder)
        except ClassFileError:
            raise
        except ValueError as error:
            raise ClassFileError(f"{file_name}: the model inside could not be loaded: {error}") from None
    return checkpoint.model, checkpoint.tokenizer, checkpoint.step, checkpoint.losses


def _read_timeline(
    archive: zipfile.ZipFile, names: set[str], steps: list[int], model_config, file_name: str
) -> tuple[tuple[int, dict], ...]:
    if not steps:
        return ()
    if TIMELINE_FILE not in names:
        raise ClassFileError(f"{file_name} lists {len(steps)} timeline steps but has no {TIMELINE_FILE}.")
    try:
        # Each step keeps at most every weight of the model once.
        largest = len(set(steps)) * largest_model_file(model_config)
        tensors = load_safetensors_bytes(_read_member(archive, TIMELINE_FILE, file_name, largest))
    except ClassFileError:
        raise
    except Exception as error:  # safetensors raises its own error types on damage
        raise ClassFileError(f"{file_name}: {TIMELINE_FILE} could not be read: {error}") from None
    by_step: dict[int, dict] = {step: {} for step in steps}
    for key, tensor in tensors.items():
        step_text, _, name = key.partition("/")
        if not (step_text.isascii() and step_text.isdigit()) or int(step_text) not in by_step:
            raise ClassFileError(f"{file_name}: {TIMELINE_FILE} holds {key!r}, which belongs to no listed step.")
        by_step[int(step_text)][name] = tensor
    try:
        check_finite(tensors, f"{file_name}: {TIMELINE_FILE}")
    except ValueError as error:
        raise ClassFileError(str(error)) from None
    if model_config.tie_embeddings:  # the output matrix is the embedding, stored once
        for weights in by_step.values():
            if "transformer.wte.weight" in weights:
                weights["lm_head.weight"] = weights["transformer.wte.weight"]
    return tuple((step, by_step[step]) for step in steps)
