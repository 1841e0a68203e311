"""Why this next token? Tools that take one forward pass apart (the app's "explain" panels and lessons).

    logit_lens.logit_lens(model, trace)               # what each layer would predict, if it were the last
    attribution.direct_attribution(model, trace)      # each head's and MLP's share of the final logit
    patching.sweep_heads(model, pair)                 # copy heads from a clean run into a corrupted one
    neurons.top_neurons(trace, layer)                 # the MLP's most active hidden units
    kv_steps.generate_with_cache(model, prompt_ids)   # generation one token at a time, the cache filling

Everything reads the trace (core/model/trace.py) where it can, and the model's weights only where a
number needs them (the output head, a head's slice of the output projection). core/ never imports Qt.

    logit_lens.py    the residual stream after every layer read as if it were the last
    attribution.py   each head's and MLP's own share of one token's logit
    alignment.py     two prompts lined up position by position for patching
    difference.py    two prompts side by side: clean − corrupted for every traced value, lens and attribution
    patching.py      which parts carry the difference between two prompts
    examples.py      the classic patching examples, ready to run
    neurons.py       the MLP's hidden units: what wakes them, what they push towards
    kv_steps.py      the KV cache filling as tokens are generated one at a time
"""
