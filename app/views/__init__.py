"""The explorer's panels, one view per file.

    panel.py              what every panel is: one small protocol, and what a panel is handed
    view_base.py          what the model panels share: the last snapshot, the shared selection
    plot_style.py         one look for every plot: projector-sized fonts, colour maps, light and dark
    export.py             right-click a plot to save it as PNG, SVG or CSV
    heatmap.py            a labelled heatmap: token ticks, colour bar, hover
    matrix_image.py       a heatmap's image, drawn as pyqtgraph would
    colour_bar.py         the colour scale beside a heatmap
    token_axis.py         an axis that names rows or columns with tokens
    token_strip.py        the prompt's tokens as coloured chips
    text_line.py          a line of text that changes every keystroke without a re-layout
    bar_plot.py           horizontal probability bars, one row per token
    probability_bars.py   the next-token bars as one plot item
    prompt_view.py        the prompt and the token chips the model reads
    embedding_view.py     token embeddings
    positional_view.py    positional encodings
    qkv_view.py           query, key, value for the chosen head, and the chain to attention
    attention_view.py     the attention panel for the chosen layer and head
    attention_arcs.py     attention as lines from token to token
    attention_grid.py     every head of every layer as a thumbnail
    output_view.py        the next-token probabilities and the knobs that reshape them
    whatif_view.py        switch heads or positions off and watch the prediction change
    modified_badge.py     the "model modified" badge naming the what-if in force
    selection_toolbar.py  the "Looking at layer L head H" toolbar
    compare_bar.py        a second (corrupted) prompt and the Clean / Corrupted / Difference switch
    compare_scale.py      how a panel draws the switch's modes: a difference centred on 0, titles that say so
Why this next token (core/explain read on screen):
    explain_view.py       what the five "why" panels share: the model in use, token pickers, background jobs
    explain_plots.py      horizontal bars with a label on each row
    explain_panels.py     adds the five panels beside "Query, key, value", each built when first shown
    logit_lens_view.py    the residual stream after each layer read as a next-token guess
    attribution_view.py   each head's and MLP's direct share of a token's logit
    patching_view.py      copy heads or the stream from a clean prompt into a corrupted one
    neurons_view.py       the MLP neurons that fire most, and the tokens each one pushes
    kv_cache_view.py      generating with the KV cache, one token at a time
"""

import os

# Qt's raster painter hands bigger fills and strokes to a pool of threads and waits for them. The
# panels paint many small pictures per keystroke: on a busy 2-core machine the hand-offs cost more
# than they save (the attention lines waited on the pool for most of their paint), so paint on the GUI
# thread alone. Read by Qt when it first paints; a user's own setting wins.
os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")
