"""The "why this next token?" panels, added to the explorer as tabs beside Query, key, value.

Each is built the first time its tab is shown (they cost nothing until then) and is handed the
selection and the controller (for the model whose weights read the trace).
"""

from __future__ import annotations

import importlib

# (module, class, objectName): in the order the lesson teaches them
EXPLAIN_VIEWS = (
    ("app.views.logit_lens_view", "LogitLensView", "logitLensView"),
    ("app.views.attribution_view", "AttributionView", "attributionView"),
    ("app.views.patching_view", "PatchingView", "patchingView"),
    ("app.views.neurons_view", "NeuronsView", "neuronsView"),
    ("app.views.kv_cache_view", "KVCacheView", "kvCacheView"),
)


def add_explain_panels(window, tab_with: str = "qkvView") -> None:
    """Put each panel in the window's View menu, as a tab behind `tab_with`, built when first shown."""
    for module_name, class_name, name in EXPLAIN_VIEWS:
        view_class = getattr(importlib.import_module(module_name), class_name)
        window.add_lazy_panel(
            lambda view_class=view_class: view_class(window.selection, window.controller),
            name,
            view_class.TITLE,
            view_class.TOOLTIP,
            tab_with=tab_with,
        )
