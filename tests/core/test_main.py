"""`python -m core` prints a real trace summary of the prompt it was given."""

import re
import subprocess
import sys

import torch

from core.__main__ import build, main


def test_python_m_core_prints_tokens_shapes_heads_and_next_tokens():
    result = subprocess.run(
        [sys.executable, "-m", "core", "--prompt", "def add(a, b):"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "a nano GPT (2 layers, 2 heads, d_model 32" in out
    assert "Tokens (14):" in out
    assert re.search(r"^\s+3  id\s+\d+  '␣'$", out, re.MULTILINE)  # the space is made visible
    assert re.search(r"^  blocks\.1\.attn\.pattern\s+\(1, 2, 14, 14\)$", out, re.MULTILINE)
    assert re.search(r"^  embed\.pos\s+\(14, 32\)$", out, re.MULTILINE)
    assert "Traced values (38 names" in out
    assert re.search(r"^  head 0: strongest token \d+ .* -> token \d+ .*\(0\.\d{3}\)", out, re.MULTILINE)
    assert re.search(r"^  head 1: ", out, re.MULTILINE)

    # The top-5 list is the real one: rebuild the same model here and compare.
    args = type("Args", (), dict(gpt2=None, preset="nano", seed=0))()
    model, tokenizer, _ = build(args)
    probs = model.trace(tokenizer.encode("def add(a, b):"))["probs"][0, -1]
    expected = torch.topk(probs, 5)
    printed = re.findall(r"^  \d\. .* id\s+(\d+)\s+([\d.]+)%$", out, re.MULTILINE)
    assert [int(token_id) for token_id, _ in printed] == expected.indices.tolist()
    assert [float(p) for _, p in printed] == [round(100 * p, 2) for p in expected.values.tolist()]


def test_a_one_token_prompt_and_a_bad_folder(capsys):
    main(["--prompt", "x"])
    out = capsys.readouterr().out
    assert "Tokens (1):" in out and "can only look at itself" in out
    try:
        main(["--gpt2", "/no/such/folder"])
    except SystemExit as exit:
        assert exit.code == 2
    assert "is not a folder" in capsys.readouterr().err
