"""Why this next token? Tools that take one forward pass apart (the app's "explain" panels and lessons).

    logit_lens.logit_lens(model, trace)               # what each layer would predict, if it were the last
    attribution.direct_attribution(model, trace)      # each head's and MLP's share of the final logit
    patching.sweep_heads(model, pair)                 # copy heads from a clean run into a corrupted one
    neurons.top_neurons(trace, layer)                 # the MLP's most active hidden units
    kv_steps.generate_with_cache(model, prompt_ids)   # generation one token at a time, the cache filling

Everything reads the trace (core/model/trace.py) where it can, and the model's weights only where a
number needs them (the output head, a head's slice of the output projection). core/ never imports Qt.
"""
