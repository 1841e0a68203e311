"""The fast step (TrainConfig.fast_step, what the command line trains with) makes the same run as the plain one."""

import pytest
import torch

from training_helpers import one_thread, tiny_trainer  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("grad_clip", [0.0, 0.05])  # 0.05: every step of this run is clipped
def test_fast_and_plain_steps_give_the_same_losses_and_weights(grad_clip):
    # No query/key/value bias: the key bias's true gradient is 0 (softmax ignores a constant added to every
    # score), so it gets pure rounding noise, which Adam turns into full-sized steps in either path.
    plain = tiny_trainer(model_changes={"qkv_bias": False}, grad_clip=grad_clip)
    fast = tiny_trainer(model_changes={"qkv_bias": False}, grad_clip=grad_clip, fast_step=True)
    assert not plain.optimizer.fused and fast.optimizer.fused  # the formula beside torch's fused kernel

    for _ in range(15):
        plain_record, fast_record = plain.step(), fast.step()
        assert fast_record.loss == pytest.approx(plain_record.loss, rel=1e-4)
        assert fast_record.step == plain_record.step and fast_record.lr == plain_record.lr

    for name, weight in plain.model.state_dict().items():
        torch.testing.assert_close(fast.model.state_dict()[name], weight, rtol=1e-4, atol=1e-5, msg=name)


def test_a_fast_step_records_only_its_loss_unless_a_parameter_is_inspected():
    fast = tiny_trainer(fast_step=True)
    record = fast.step()
    assert record.grad_norms == {} and record.update_ratios == {} and record.loss > 0

    name = fast.parameter_names[0]
    inspected = fast.step(inspect=[name])
    assert set(inspected.grad_norms) == set(fast.parts)
    assert inspected.details.updates[name].shape == fast.model.state_dict()[name].shape


def test_a_fast_step_still_refuses_a_gradient_that_is_not_finite():
    fast = tiny_trainer(fast_step=True)
    before = {name: weight.clone() for name, weight in fast.model.state_dict().items()}
    fast.model.lm_head.weight.register_hook(lambda grad: grad * float("nan"))

    record = fast.step()

    assert record.diverged and "gradient" in record.message
    for name, weight in fast.model.state_dict().items():
        assert torch.equal(weight, before[name]), name
