"""Numbers in JSON read from a user's file. Python's bool is an int, so `true` would pass an
`isinstance(value, int)` check as 1; in our files it is never a count, an id or a loss."""

from __future__ import annotations


def is_whole_number(value) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    """An int or a float that is not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)
