"""The trace runs under torch.inference_mode: what that means for the tensors a user gets back."""

import pytest
import torch

from core import GPT, GPTConfig

PROMPT = [4, 1, 7]


@pytest.fixture(scope="module")
def model() -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=11, context_length=8, d_model=8, n_layers=2, n_heads=2)).eval()


def test_traced_tensors_refuse_edits_and_gradients_until_cloned(model):
    with pytest.raises(RuntimeError, match="[Ii]nference tensor"):
        model.trace(PROMPT)["blocks.1.resid_post"].add_(1.0)  # an edit is an error, not a silent change
    resid = model.trace(PROMPT)["blocks.1.resid_post"]  # (1, 3, 8)
    probe = torch.zeros(8, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="[Ii]nference tensor"):
        (resid @ probe).sum().backward()
    (resid.clone() @ probe).sum().backward()  # a clone is an ordinary tensor
    torch.testing.assert_close(probe.grad, resid[0].sum(0)[:, None].expand(8, 2))  # d/dW of sum(x W) = sum of x


def test_an_index_error_from_a_listener_is_not_blamed_on_the_token_ids(model):
    def broken(value, name):
        raise IndexError("the listener's own mistake")

    hook = model.hook_points()["blocks.0.ln1"]
    hook.listeners.append(broken)
    try:
        with pytest.raises(IndexError, match="the listener's own mistake"):
            model.trace(PROMPT)
    finally:
        hook.listeners.remove(broken)
    assert all(not h.listeners for h in model.hook_points().values())


@pytest.mark.parametrize("bad", [[4, 11, 7], [-1, 2]])
def test_a_bad_token_id_is_named_even_though_the_ids_are_only_checked_on_failure(model, bad):
    with pytest.raises(ValueError, match="between 0 and 10") as caught:
        model.trace(bad)
    assert f"{min(bad)} to {max(bad)}" in str(caught.value)
    assert all(not h.listeners for h in model.hook_points().values())


def test_dropout_is_off_in_a_trace_while_hook_points_keep_their_flag():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, context_length=8, d_model=8, n_layers=1, n_heads=2, dropout=0.5)).train()
    first, second = model.trace(PROMPT)["logits"], model.trace(PROMPT)["logits"]
    assert torch.equal(first, second)  # no random dropout inside a trace
    assert all(module.training for module in model.modules())  # everything still training afterwards
