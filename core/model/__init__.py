"""The model: its config, positional encodings, hook points, the GPT itself, tracing one forward pass, sampling.

config.py           the model's shape: a frozen config and named presets
positional.py       positional encodings: how a transformer learns where each token sits
attention_mask.py   which keys each query may look at (causal, GPT-Neo's local windows)
hooks.py            named places in the model where a value can be read or changed
model.py            the GPT, in the order a lecture teaches it: attention, MLP, block, model
trace.py            every internal of one forward pass, read out (and optionally changed)
intervention.py     a what-if: heads switched off, positions off, attention replaced, for one pass
kv_cache.py         an incremental trace: only the new tokens computed when a prompt grows
growing_table.py    an incremental trace's values kept in buffers with room to grow by a keystroke
sampling.py         from next-token logits to the next token: temperature, top-k, top-p
eval_mode.py        evaluation mode for a moment, every module put back as it was
param_count.py      how many parameters a GPT has, part by part, from its config alone
footprint.py        how much memory a model will take, from its config
meta_device.py      a model built with shapes only, given real memory for loaded weights
model_card.py       a "this model" card: its architecture's choices and where its parameters sit
"""
