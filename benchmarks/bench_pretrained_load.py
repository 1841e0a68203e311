"""How long does opening a cached 135M model take, and how much memory does loading it need?

A SmolLM2-135M-shaped Llama with random weights (benchmarks/smollm2_shape.py) is saved as a Hugging Face
folder the way the real one ships: config.json, model.safetensors in bfloat16 (about 270 MB, written by
transformers' save_pretrained) and a byte-level BPE tokenizer.json (trained here on tinyshakespeare, so
smaller than SmolLM2's 49152 tokens). Then, in a fresh Python process each time:

    process start -> imports (torch, PySide6, pyqtgraph, the app) -> core.files.pretrained.load_pretrained(folder)
    -> the explorer window showing it, the prompt traced and every visible panel drawn and painted

Time: from starting the child to its drawn window (target <= 5 s), with each stage's share.
Memory: the child's peak resident memory while loading (VmHWM, read right after load_pretrained) minus its
resident memory after the imports, as a multiple of the model's float32 weights (target <= 1.3x): the
weights themselves are 1.0x, so the rest is what loading needs on top.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_pretrained_load.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHAKESPEARE = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"
PROMPT = "The capital of France is Paris. Once upon a time there was a little girl who lived in a village"


# -- the folder, as the Hub would give it ---------------------------------------------------------------
def save_smollm2_shaped_folder(folder: Path) -> None:
    import torch
    import transformers

    from smollm2_shape import SMOLLM2_135M_CONFIG

    config = transformers.LlamaConfig(**{k: v for k, v in SMOLLM2_135M_CONFIG.items() if k != "architectures"})
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(folder, safe_serialization=True)
    save_tokenizer(folder / "tokenizer.json", config.vocab_size)


def save_tokenizer(path: Path, vocab_size: int) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    text = SHAKESPEARE.read_text(encoding="utf-8") if SHAKESPEARE.is_file() else PROMPT * 1000
    tokenizer.train_from_iterator(text.splitlines(), trainer)
    tokenizer.save(str(path))


# -- one fresh process ------------------------------------------------------------------------------------
def memory_kb(field: str) -> int:
    """VmRSS (resident now) or VmHWM (the peak so far) of this process, in kB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(folder: str, started: float) -> None:
    """Import, load, show; print one JSON line of stage times (since `started`, the parent's clock) and memory."""
    import shiboken6
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    import pyqtgraph  # noqa: F401
    import torch

    from app.state.model_in_use import ModelInUse
    from app.settings import AppSettings
    from app.window import MainWindow
    from bench_explorer import wait_until_drawn
    from core.files.pretrained import load_pretrained

    app = QApplication([])
    stages = {"imports": time.time() - started}
    cpu = {"imports": time.process_time()}  # CPU seconds of every thread: moves far less than wall time under load
    rss_after_imports = memory_kb("VmRSS")
    model, tokenizer = load_pretrained(folder)
    stages["load_pretrained"] = time.time() - started
    cpu["load_pretrained"] = time.process_time()
    peak_loading = memory_kb("VmHWM")
    with tempfile.TemporaryDirectory() as settings_folder:
        session = ModelInUse(model, tokenizer, "SmolLM2-135M-shaped", path=folder)
        window = MainWindow(
            settings=AppSettings(Path(settings_folder) / "s.ini"), session=session, prompt=PROMPT, remember_layout=False
        )
        window.show()
        wait_until_drawn(window, QEventLoop())
        app.processEvents()  # and painted
        stages["window drawn"] = time.time() - started
        cpu["window drawn"] = time.process_time()
        assert window.snapshot.n_tokens > 0
        print(
            json.dumps(
                {
                    "stages": stages,
                    "cpu": cpu,
                    "rss_after_imports_kb": rss_after_imports,
                    "peak_loading_kb": peak_loading,
                    "peak_end_kb": memory_kb("VmHWM"),
                    "float32_weights_bytes": 4 * model.num_params(),
                    "threads": torch.get_num_threads(),
                }
            ),
            flush=True,
        )
        window.close()
        shiboken6.delete(window)
    app.quit()


def run_child(folder: Path, bytecode_folder: str) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPYCACHEPREFIX": bytecode_folder}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.time()
    result = subprocess.run(
        [sys.executable, __file__, "--child", str(folder), str(started)], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"the child failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes (after one warm-up)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], float(args.child[1]))

    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as work, tempfile.TemporaryDirectory() as bytecode_folder:
        folder = Path(work) / "SmolLM2-135M-shaped"
        began = time.perf_counter()
        save_smollm2_shaped_folder(folder)
        sizes = {p.name: p.stat().st_size for p in folder.iterdir()}
        print(
            f"saved in {time.perf_counter() - began:.1f} s: "
            + ", ".join(f"{name} {size / 2**20:.1f} MiB" for name, size in sorted(sizes.items()))
        )
        run_child(folder, bytecode_folder)  # warm-up: byte code cached, files in the page cache, as a cached model is
        runs = [run_child(folder, bytecode_folder) for _ in range(args.runs)]
    weights = runs[0]["float32_weights_bytes"]
    totals = [r["stages"]["window drawn"] for r in runs]
    ratios = [1024 * (r["peak_loading_kb"] - r["rss_after_imports_kb"]) / weights for r in runs]
    print(f"float32 weights: {weights / 2**20:.0f} MiB ({weights // 4:,} parameters)")
    print(
        f"process start -> window drawn with the model: median {statistics.median(totals):.2f} s, "
        f"worst {max(totals):.2f} s over {args.runs} runs (target <= 5 s)"
    )
    for stage in runs[0]["stages"]:
        values = [r["stages"][stage] for r in runs]
        cpu = [r["cpu"][stage] for r in runs]
        print(
            f"    until {stage}: median {statistics.median(values):.2f} s, worst {max(values):.2f} s "
            f"(CPU seconds of all the child's threads: median {statistics.median(cpu):.2f}, worst {max(cpu):.2f})"
        )
    print(
        f"peak RSS while loading, above the RSS after imports: median {statistics.median(ratios):.2f}x, worst "
        f"{max(ratios):.2f}x the float32 weights (target <= 1.3x)"
    )
    print(
        "    each run (after imports MiB, peak loading MiB, peak at the end MiB): "
        + ", ".join(
            f"({r['rss_after_imports_kb'] / 1024:.0f}, {r['peak_loading_kb'] / 1024:.0f}, "
            f"{r['peak_end_kb'] / 1024:.0f})"
            for r in runs
        )
    )
    print(f"    load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
