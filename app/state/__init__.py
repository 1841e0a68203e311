"""The explorer's state without Qt: the model in use, snapshots and their making, the palette, sampling settings.

model_in_use.py     which model the explorer shows, its tokenizer, and where they came from
snapshot.py         one immutable snapshot of the model reading the prompt: what every view draws
snapshot_maker.py   prompt text to a Snapshot: tokenize, fit to the context, trace, label
sampling.py         the Next token panel's sampling knobs as one value
palette.py          the colours of the light and dark themes
comparison.py       a second (corrupted) prompt: snapshots of it, and of clean − corrupted
"""
