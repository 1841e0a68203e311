"""TokenDataset: the split, the batches, and the errors a student can run into."""

import numpy as np
import pytest
import torch

from core.training.dataset import TokenDataset


def test_the_last_tenth_is_held_out_without_overlap_or_copy():
    tokens = np.arange(1000, dtype=np.uint16)
    data = TokenDataset(tokens, val_fraction=0.1)
    assert len(data.train) == 900 and len(data.val) == 100
    assert data.train[-1] == 899 and data.val[0] == 900  # validation is the end of the text
    assert np.shares_memory(data.train, tokens)  # a view, so a big corpus is stored once


def test_a_batch_is_windows_and_their_next_tokens():
    tokens = (np.arange(500) * 7 % 251).astype(np.uint16)
    data = TokenDataset(tokens, val_fraction=0.2)
    x, y = data.get_batch("train", 6, 10, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (6, 10) and x.dtype == y.dtype == torch.int64
    assert torch.equal(x[:, 1:], y[:, :-1])  # the targets are the inputs shifted by one
    train = data.train.astype(np.int64)
    for row_x, row_y in zip(x.numpy(), y.numpy()):
        start = int(np.flatnonzero((np.lib.stride_tricks.sliding_window_view(train, 10) == row_x).all(1))[0])
        assert train[start + 10] == row_y[-1]  # the last target is the token after the window


def test_batches_repeat_under_the_same_generator_state():
    data = TokenDataset(np.arange(300, dtype=np.uint16))
    first = data.get_batch("train", 4, 8, torch.Generator().manual_seed(5))
    again = data.get_batch("train", 4, 8, torch.Generator().manual_seed(5))
    other = data.get_batch("train", 4, 8, torch.Generator().manual_seed(6))
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[0], other[0])


def test_validation_batches_come_only_from_the_validation_text():
    data = TokenDataset(np.arange(1000, dtype=np.uint32), val_fraction=0.1)
    x, y = data.get_batch("val", 32, 20, torch.Generator().manual_seed(1))
    assert int(x.min()) >= 900 and int(y.max()) <= 999


def test_a_split_of_exactly_one_window_gives_that_window():
    data = TokenDataset(np.arange(9, dtype=np.uint16), val_fraction=0.0)
    x, y = data.get_batch("train", 3, 8, torch.Generator().manual_seed(0))
    assert x.tolist() == [list(range(8))] * 3 and y.tolist() == [list(range(1, 9))] * 3


def test_a_split_too_short_for_one_window_is_a_clear_error():
    data = TokenDataset(np.arange(100, dtype=np.uint16), val_fraction=0.1)  # val has 10 tokens
    with pytest.raises(ValueError, match=r"val split has 10 tokens.*needs 17.*shorter context"):
        data.get_batch("val", 2, 16, torch.Generator())


@pytest.mark.parametrize(
    ("tokens", "fraction", "message"),
    [
        (np.array([], dtype=np.uint16), 0.1, "empty"),
        (np.zeros((4, 4), dtype=np.uint16), 0.1, "flat row"),
        (np.linspace(0, 1, 10), 0.1, "whole-number"),
        (np.arange(10), 1.0, "val_fraction"),
    ],
)
def test_bad_input_is_refused(tokens, fraction, message):
    with pytest.raises(ValueError, match=message):
        TokenDataset(tokens, val_fraction=fraction)


def test_unknown_split_name():
    with pytest.raises(ValueError, match="'train' or 'val'"):
        TokenDataset(np.arange(50)).get_batch("test", 1, 4, torch.Generator())
