"""check_finite's quick sum, and its value-by-value look when the sum is not a number."""

import pytest
import torch

from core.files.weights_check import check_finite


def test_huge_finite_weights_whose_sum_overflows_are_still_numbers():
    huge = torch.full((4,), 3e38)  # each a float32 number; their float32 sum is inf
    assert not torch.isfinite(huge.sum())
    check_finite({"big.weight": huge}, "model.safetensors")


@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), float("nan")])
def test_an_infinity_or_a_nan_among_many_weights_is_found(bad):
    weights = torch.randn(100_000)
    weights[77_777] = bad
    with pytest.raises(ValueError, match="'h.0.weight' holds"):
        check_finite({"h.0.weight": weights}, "model.safetensors")
