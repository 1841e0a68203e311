"""The explorer with a Llama-shaped model (RMSNorm, SwiGLU, RoPE, grouped-query) and a GPT-Neo-shaped one
(local windows, unscaled scores): every panel draws, the status line and the model card say what it is."""

import pytest
import torch

from app.dialogs.model_card import ModelCardDialog
from app.lessons.parameter_view import ParameterView
from app.state.model_in_use import ModelInUse
from core import GPT, GPTConfig
from core.model.param_count import count_parameters, human_count
from core.tokenizers import CharTokenizer

from conftest import VOCABULARY

FAMILIES = {
    "llama-shaped": dict(
        pos_encoding="rope",
        norm="rmsnorm",
        mlp="swiglu",
        n_heads=4,
        n_kv_heads=2,
        bias=False,
        qkv_bias=True,
        rope_theta=500.0,
    ),
    "neo-shaped": dict(qkv_bias=False, attention_windows=(None, 3), scale_scores=False, n_heads=2),
    "pythia-shaped": dict(
        pos_encoding="rope", rope_fraction=0.5, parallel_residual=True, tie_embeddings=False, n_heads=2
    ),
}


def family_session(name: str) -> ModelInUse:
    tokenizer = CharTokenizer(VOCABULARY)
    config = GPTConfig(vocab_size=tokenizer.vocab_size, context_length=16, d_model=16, n_layers=2, **FAMILIES[name])
    torch.manual_seed(0)
    return ModelInUse(GPT(config).eval(), tokenizer, f"{name} test model", trained=True)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_panel_draws_a_family_model(window, wait_drawn, show_prompt, name):
    show_prompt("the cat")
    session = family_session(name)
    wait_drawn(lambda: window.set_session(session))
    snapshot = show_prompt("the cat sat")
    assert snapshot.config == session.config
    pattern = snapshot.trace.numpy("blocks.1.attn.pattern")
    assert pattern.shape[0] == session.config.n_heads
    if name == "neo-shaped":  # layer 1 sees only the last 3 tokens
        assert pattern[0, 10, 7] == 0.0 and pattern[0, 10, 8] > 0.0


def test_the_status_line_and_the_model_card_describe_the_architecture(qtbot, window, wait_drawn, show_prompt):
    show_prompt("the cat")
    session = family_session("llama-shaped")
    wait_drawn(lambda: window.set_session(session))
    assert "RMSNorm · SwiGLU · RoPE · grouped-query 4/2" in window.model_label.text()
    actions = {action.text(): action for action in window.menus["Model"].actions()}
    actions["&About this model…"].trigger()
    dialog = window.findChild(ModelCardDialog, "modelCardDialog")
    assert dialog is not None and dialog.isVisible()
    text = dialog.card_label.text()
    assert "llama-shaped test model" in text and "grouped-query: 4 heads of 4 dims share 2 key/value head(s)" in text
    assert "saved by shared key/value heads" in text
    dialog.close()


def test_the_parameter_table_shows_what_shared_key_value_heads_save(qtbot):
    config = family_session("llama-shaped").config
    view = ParameterView()
    qtbot.addWidget(view)
    view.show_config(config)
    count = count_parameters(config)
    assert view.cell_text("norms", 0).startswith(human_count(count.layer_norm))
    assert f"share 2 key/value heads, which saves <b>{human_count(count.saved_by_shared_kv)}</b>" in view.heading.text()
    assert "4 heads, 2 key/value" in view.table.horizontalHeaderItem(0).text()
