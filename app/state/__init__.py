"""The explorer's state without Qt: the model in use, snapshots and their making, the palette, sampling settings."""
