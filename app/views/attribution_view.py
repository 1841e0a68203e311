"""Direct attribution: how much each head, each MLP and the embeddings add to one token's logit.

The last layer's residual stream is a sum of parts: the embeddings, every head's output, every MLP's
output (and their biases). With the final norm's scale frozen at this prompt, the logit is linear in
the stream, so each part's direct share is its dot product with the token's output direction, and the
shares add up to the logit. Two tokens ("Mary" vs "John") explain their logit difference instead.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout

from core.explain.attribution import Attribution, direct_attribution
from core.explain.difference import attribution_difference
from core.teaching.analysis import symmetric_range

from .explain_plots import LabelledBars
from .compare_scale import mode_caption
from .explain_view import ExplainView, picked_token, token_picker
from .heatmap import HeatmapWidget
from .plot_style import SIGNED_MAP
from .text_line import TextLine
from .view_base import caption


class AttributionView(ExplainView):
    TITLE = "Direct attribution"
    TOOLTIP = "Which heads and MLPs push the predicted token's logit up or down, and by how much."
    OBJECT_NAME = "attributionView"

    def __init__(self, selection, controller, parent=None) -> None:
        super().__init__(selection, controller, parent)
        self.attribution: Attribution | None = None
        self.target_field = token_picker("attributionTarget", "the predicted token")
        self.other_field = token_picker("attributionOther", "(none)")
        for field in (self.target_field, self.other_field):
            field.textChanged.connect(self._on_tokens_changed)
        pickers = QHBoxLayout()
        pickers.addWidget(QLabel("Explain the logit of"))
        pickers.addWidget(self.target_field, 1)
        pickers.addWidget(QLabel("minus the logit of"))
        pickers.addWidget(self.other_field, 1)

        self.problem = caption("", "attributionProblem")  # a token that is not in the vocabulary
        # new text on every keystroke
        self.summary = TextLine(object_name="attributionSummary", word_wrap=True, keep_room=True)
        self.heads = HeatmapWidget(
            title="Each head's direct share",
            colormap_name=SIGNED_MAP,
            column_name="head",
            row_name="layer",
            export_name="head attribution",
        )
        self.heads.setObjectName("attributionHeads")
        self.heads.hovered.connect(self._on_head_hovered)
        self.heads.clicked.connect(self._on_head_hovered)
        self.parts = LabelledBars("attributionParts", "share of the logit")
        self.detail = caption("Hover or click a head to read its share.", "attributionDetail")

        plots = QHBoxLayout()
        plots.addWidget(self.heads, 3)
        plots.addWidget(self.parts, 2)
        layout = QVBoxLayout(self.content(QSize(500, 380)))
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(pickers)
        layout.addWidget(self.problem)
        layout.addWidget(self.summary)
        layout.addLayout(plots, 1)
        layout.addWidget(self.detail)
        self.set_theme(False)

    # -- drawing ------------------------------------------------------------------------------------
    def _on_tokens_changed(self, _text: str) -> None:
        if self.snapshot is not None:
            with self.computing():
                self._redraw()

    def _redraw(self) -> None:
        try:
            target = picked_token(self.session.tokenizer, self.target_field.text())
            other = picked_token(self.session.tokenizer, self.other_field.text())
            attribution = self._attribution(target, other)
        except ValueError as error:  # a word of several tokens, or letters the tokenizer lacks
            self.problem.setText(f"<span style='color:#d93025'>{error}</span>")
            self.problem.show()
            return  # the last good picture stays
        self.problem.hide()
        self.attribution = attribution
        config = self.snapshot.config
        self.heads.set_title(mode_caption(self.snapshot, "Each head's direct share"))
        self.heads.set_matrix(
            attribution.heads,
            symmetric_range(attribution.heads),
            [f"layer {layer}" for layer in range(config.n_layers)],
            [str(head) for head in range(config.n_heads)],
        )
        labels, values = self.part_bars()
        self.parts.set_bars(labels, values)
        self.summary.setText(self.summary_text())

    def _attribution(self, target: int | None, other: int | None):
        """This snapshot's attribution; in Difference mode the clean run's minus the corrupted run's, both
        for the clean run's token (each run read through its own frozen final norm)."""
        snapshot = self.snapshot
        if not snapshot.is_difference:
            return direct_attribution(self.model, snapshot.trace, target, other)
        clean_run, corrupted_run = snapshot.compared
        clean = direct_attribution(self.model, clean_run.trace, target, other)
        corrupted = direct_attribution(self.model, corrupted_run.trace, clean.target, other)
        return attribution_difference(clean, corrupted)

    def explained(self) -> str:
        """'‘␣John’' or '‘␣Mary’ − ‘␣John’': what the numbers are shares of."""
        attribution = self.attribution
        text = f"‘{self.vocab_label(attribution.target)}’"
        if attribution.other is not None:
            text += f" − ‘{self.vocab_label(attribution.other)}’"
        return text

    def part_bars(self) -> tuple[list[str], list[float]]:
        """Embeddings, each MLP, and all the biases together: the parts that are not heads."""
        a = self.attribution
        labels = ["embeddings", *(f"MLP {layer}" for layer in range(len(a.mlps))), "all heads", "biases"]
        biases = float(a.attention_biases.sum() + a.mlp_biases.sum() + a.final_norm_bias)
        return labels, [a.embeddings, *a.mlps, float(a.heads.sum()), biases]

    def summary_text(self) -> str:
        a = self.attribution
        kind = "logit difference" if a.other is not None else "logit"
        position = self.snapshot.token_labels[a.position]
        if self.snapshot.is_difference:
            return (
                f"Clean − corrupted: the {kind} of {self.explained()} after ‘{position}’ changes by "
                f"{a.logit:+.3f}; the parts' changes add up to {a.total:+.3f} (off by {a.error:.1e}). "
                f"Red heads raise it more in the clean run."
            )
        return (
            f"The {kind} of {self.explained()} after ‘{position}’ is {a.logit:.3f}. Its parts "
            f"(heads, MLPs, embeddings {a.embeddings:+.3f}, biases) add up to {a.total:.3f}: off by "
            f"{a.error:.1e}, with the final norm's scale frozen at {a.norm_scale:.3f}."
        )

    # -- mouse --------------------------------------------------------------------------------------
    def _on_head_hovered(self, layer: int, head: int) -> None:
        if self.attribution is None or layer < 0:
            return
        share = self.attribution.heads[layer, head]
        verb = "adds" if share >= 0 else "takes"
        self.detail.setText(
            f"<b>Layer {layer} head {head}</b> alone {verb} {abs(share):.3f} "
            f"{'to' if share >= 0 else 'from'} the logit of {self.explained()}."
        )

    # -- looks --------------------------------------------------------------------------------------
    def _apply_theme(self) -> None:
        self.heads.set_theme(self.dark)
        self.parts.set_theme(self.dark)
