"""Faults while saving: a real SIGKILL in the middle of a save, a full disk, a folder that cannot be written.

Each kill is of a real process (tests/core/save_loop_child.py) saving a ~5 MB checkpoint again and
again with new weights (every weight of save n equals n). After each kill the folder must load, and hold
one whole save the process announced: the last finished one, or the one it was writing when killed.
"""

from __future__ import annotations

import errno
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from core.files import checkpoint as checkpoint_module
from core.files.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from core.model.config import GPTConfig
from core.model.model import GPT
from core.files.class_file import ClassFile, ClassFileError, load_class_file, save_class_file
from core.tokenizers import CharTokenizer

CHILD = Path(__file__).with_name("save_loop_child.py")
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="the saving process forks one saver per kill")
LINE_TIMEOUT_S = 30
# Where each kill lands: on the first line containing the marker, after a random extra delay.
CHECKPOINT_KILLS = [
    "saving",
    "writing .model.safetensors",
    "writing .optimizer.safetensors",
    "writing .meta.json",
    "-> model.safetensors.prev",
    "-> model.safetensors",
    "-> optimizer.safetensors.prev",
    "-> optimizer.safetensors",
    "-> meta.json",
    "saving",
    "writing .optimizer.safetensors",
    "-> meta.json",
    "saved",
]
SESSION_KILLS = ["saving", "writing .demo.attnlab.tmp", "-> demo.attnlab", "saving", "writing", "saved"]


class Saver:
    """The child process, and the lines it prints, read on a thread so a wait can time out."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(CHILD)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.recent: list[str] = []  # the last lines read, for the message if it goes quiet
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for("ready")

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def next_line(self) -> str:
        try:
            line = self.lines.get(timeout=LINE_TIMEOUT_S)
        except queue.Empty:
            raise AssertionError(f"the saving process went quiet after {self.recent}") from None
        self.recent = [*self.recent[-9:], line]
        return line

    def wait_for(self, start: str) -> str:
        while not (line := self.next_line()).startswith(start):
            pass
        return line

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=LINE_TIMEOUT_S)


class Announcements:
    """What the savers said: the last finished save, and the save in progress (if any)."""

    def __init__(self) -> None:
        self.last_saved: int | None = None
        self.in_progress: int | None = None

    def hear(self, line: str) -> None:
        word, _, rest = line.partition(" ")
        if word == "saving":
            self.in_progress = int(rest)
        elif word == "saved":
            self.last_saved, self.in_progress = int(rest), None

    def possible(self) -> set[int]:
        return {n for n in (self.last_saved, self.in_progress) if n is not None}


@pytest.fixture(scope="module")
def saver():
    saver = Saver()
    yield saver
    saver.close()


def kill_during_saves(saver: Saver, kind: str, target: Path, kills: list[str], check) -> dict:
    """Start a saving process per kill, kill it where `kills` says, then check(target) -> the step found there."""
    rng = random.Random(7)
    heard = Announcements()
    found = {"old": 0, "new": 0}
    for number, marker in enumerate(kills):
        saver.process.stdin.write(f"{kind} {target} {1000 * (number + 1)}\n")
        # The forked saver may announce "saving n" before its parent reports "started": hear those
        # lines too (skipping them made a finished new save look impossible on a busy machine).
        while not (line := saver.next_line()).startswith("started"):
            heard.hear(line)
        pid = int(line.split()[1])
        if heard.last_saved is None:  # the very first save must finish: before it there is nothing to load
            while heard.last_saved is None:
                heard.hear(saver.next_line())
        while not _at(marker, line := saver.next_line()):
            heard.hear(line)
        heard.hear(line)
        time.sleep(rng.uniform(0, 0.02))
        os.kill(pid, signal.SIGKILL)
        while not (line := saver.next_line()).startswith("dead"):
            heard.hear(line)  # lines printed before the kill landed
        assert int(line.split()[1]) == pid and int(line.split()[2]) & 0x7F == signal.SIGKILL
        step = check(target)
        assert step in heard.possible(), (marker, step, heard.possible())
        found["new" if step == heard.in_progress else "old"] += 1
        heard.last_saved, heard.in_progress = step, None  # what the folder holds now; that save never finishes
    print(f"{kind}: {len(kills)} kills, {found['old']} left the previous save, {found['new']} the new one")
    return found


def _at(marker: str, line: str) -> bool:
    """Whether `line` is where the kill should land ("-> model.safetensors" is not "-> model.safetensors.prev")."""
    return line.startswith(marker) or line.endswith(marker)


def _all_weights_equal(model: GPT, n: int) -> None:
    for name, tensor in model.state_dict().items():
        if name.endswith("weight") or name.endswith("bias"):
            assert torch.all(tensor == float(n)), f"{name} is not from save {n}: the files were mixed"


@needs_fork
def test_killing_a_checkpoint_save_always_leaves_a_whole_checkpoint(saver, tmp_path):
    folder = tmp_path / "run"

    def check(target: Path) -> int:
        loaded = load_checkpoint(target)
        _all_weights_equal(loaded.model, loaded.step)
        assert int(loaded.optimizer_state["trainer.step"]) == loaded.step  # the optimizer file is the same save
        return loaded.step

    found = kill_during_saves(saver, "checkpoint", folder, CHECKPOINT_KILLS, check)
    assert found["old"] + found["new"] == len(CHECKPOINT_KILLS)
    assert found["old"] > 0  # some kills really landed before the commit
    loaded = load_checkpoint(folder)  # the next save tidies what the kills left behind
    save_checkpoint(folder, loaded.model, loaded.tokenizer, loaded.train_config, loaded.optimizer_state, loaded.step)
    assert sorted(os.listdir(folder)) == ["meta.json", "model.safetensors", "optimizer.safetensors"]


@needs_fork
def test_killing_a_session_save_always_leaves_a_whole_session(saver, tmp_path):
    path = tmp_path / "demo.attnlab"

    def check(target: Path) -> int:
        opened = load_class_file(target)
        _all_weights_equal(opened.model, opened.step)
        assert opened.prompt == f"save {opened.step}"
        return opened.step

    found = kill_during_saves(saver, "session", path, SESSION_KILLS, check)
    assert found["old"] + found["new"] == len(SESSION_KILLS) and found["old"] > 0
    save_class_file(path, load_class_file(path))  # the next save replaces what a kill left behind
    assert sorted(os.listdir(tmp_path)) == ["demo.attnlab"]


# -- a full disk, a folder that cannot be written ---------------------------------------------------------
@pytest.fixture
def small():
    tokenizer = CharTokenizer("abcdefgh ")
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, context_length=8, d_model=16, n_layers=1, n_heads=2))
    return model, tokenizer


def _weights(model: GPT) -> dict:
    return {name: tensor.clone() for name, tensor in model.state_dict().items()}


def _disk_fills_after(limit: int):
    """A stand-in for the checkpoint's low-level write: the disk is full after `limit` bytes in all."""
    written = {"bytes": 0}

    def write_all(file, data: bytes) -> None:
        room = max(0, limit - written["bytes"])
        file.write(data[:room])
        written["bytes"] += min(room, len(data))
        if len(data) > room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    return write_all


# Where the disk fills, in bytes from the start of the save: the model file's start, its header, its last
# bytes, and inside meta.json (written after it).
@pytest.mark.parametrize("where", [lambda size: 0, lambda size: 100, lambda size: size - 10, lambda size: size + 50])
def test_a_disk_that_fills_while_saving_says_so_and_keeps_the_earlier_checkpoint(tmp_path, small, monkeypatch, where):
    model, tokenizer = small
    folder = tmp_path / "model"
    save_checkpoint(folder, model, tokenizer, step=1)
    before = _weights(model)
    with torch.no_grad():
        model.transformer.wte.weight.add_(1.0)
    model_file_size = (folder / "model.safetensors").stat().st_size
    monkeypatch.setattr(checkpoint_module, "_write_all", _disk_fills_after(where(model_file_size)))
    with pytest.raises(CheckpointError, match="The disk is full") as failure:
        save_checkpoint(folder, model, tokenizer, step=2)
    assert str(folder) in str(failure.value) and "unchanged" in str(failure.value)
    assert sorted(os.listdir(folder)) == ["meta.json", "model.safetensors"]  # no temporary files left
    loaded = load_checkpoint(folder)
    assert loaded.step == 1
    for name, tensor in loaded.model.state_dict().items():
        assert torch.equal(tensor, before[name]), name
    assert torch.equal(model.transformer.wte.weight, before["transformer.wte.weight"] + 1.0)  # memory untouched


@needs_fork
def test_a_real_file_size_limit_stops_the_save_cleanly(saver, tmp_path):
    """RLIMIT_FSIZE makes the operating system itself refuse a write (EFBIG) part way through a real file."""
    saver.process.stdin.write(f"limited {tmp_path} 1\n")
    said = []
    while not (line := saver.next_line()).startswith("dead"):
        said.append(line)
    assert line.split()[2] == "0", said  # the saving process ended normally
    error, found = said[-2], said[-1]
    assert error.startswith("The file is too large for this disk") and str(tmp_path) in error
    assert found == "loads step 1"
    assert sorted(os.listdir(tmp_path)) == ["meta.json", "model.safetensors"]


def test_a_folder_inside_a_file_is_named(tmp_path, small):
    model, tokenizer = small
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    for target in (blocker, blocker / "model", blocker / "a" / "b"):
        with pytest.raises(CheckpointError, match="is a file, not a folder") as failure:
            save_checkpoint(target, model, tokenizer)
        assert str(blocker) in str(failure.value)
    with pytest.raises(ClassFileError, match="is a file, not a folder"):
        save_class_file(blocker / "lesson.attnlab", ClassFile(model, tokenizer))
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"] and blocker.read_text() == "a file, not a folder"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere, whatever the modes")
def test_a_read_only_folder_is_named(tmp_path, small):
    model, tokenizer = small
    folder = tmp_path / "locked"
    save_checkpoint(folder, model, tokenizer, step=1)
    folder.chmod(0o500)
    try:
        with pytest.raises(CheckpointError, match="This folder cannot be written to") as failure:
            save_checkpoint(folder, model, tokenizer, step=2)
        assert str(folder) in str(failure.value)
        with pytest.raises(CheckpointError, match="cannot be written to"):
            save_checkpoint(folder / "inside", model, tokenizer)
        with pytest.raises(ClassFileError, match="cannot be written to"):
            save_class_file(folder / "lesson.attnlab", ClassFile(model, tokenizer))
        assert load_checkpoint(folder).step == 1
    finally:
        folder.chmod(0o700)


def test_permission_refused_by_the_system_is_named(tmp_path, small, monkeypatch):
    """What a read-only folder does (as root, modes do not stop a write, so the refusal is simulated)."""
    model, tokenizer = small
    folder = tmp_path / "shared"
    save_checkpoint(folder, model, tokenizer, step=1)

    def refuse(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(checkpoint_module, "open", refuse, raising=False)
    with pytest.raises(CheckpointError, match="This folder cannot be written to") as failure:
        save_checkpoint(folder, model, tokenizer, step=2)
    assert f"written to: {folder}." in str(failure.value)
    monkeypatch.undo()
    assert load_checkpoint(folder).step == 1 and sorted(os.listdir(folder)) == ["meta.json", "model.safetensors"]


def test_a_session_save_that_fails_leaves_the_earlier_file_and_no_temporary(tmp_path, small, monkeypatch):
    from core.files import class_file as class_file_module

    model, tokenizer = small
    path = save_class_file(tmp_path / "lesson", ClassFile(model, tokenizer, prompt="first", step=1))

    def disk_full(file, *args) -> None:
        file.write(b"PK half a zip")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(class_file_module, "_write_archive", disk_full)
    with pytest.raises(ClassFileError, match="The disk is full") as failure:
        save_class_file(path, ClassFile(model, tokenizer, prompt="second", step=2))
    assert str(path) in str(failure.value)
    assert sorted(os.listdir(tmp_path)) == ["lesson.attnlab"]
    assert load_class_file(path).prompt == "first"
