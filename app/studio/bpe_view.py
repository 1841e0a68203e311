"""BPE training, shown: the merges as they are learned, and the prompt re-tokenised as merges are added.

While BPE trains (on a background thread) a progress bar counts merges. Then every merge is listed in
the order it was learned, and the replay slider (or ▶) re-encodes the probe prompt with the first k
merges: bytes fuse into pieces of words, and the token count falls.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QProgressBar, QPushButton, QSlider, QVBoxLayout, QWidget
from PySide6.QtCore import Qt

from app.views.token_strip import TokenStrip
from core.teaching.bpe_replay import MergeStep, merge_steps, replay

REPLAY_INTERVAL_MS = 60


class BPEView(QWidget):
    TITLE = "Tokenizer"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("bpeView")
        self.tokenizer = None
        self.prompt = ""
        self.merges: list[MergeStep] = []
        self.status = QLabel(
            "Choose the BPE tokenizer in the set-up and press Set up run: its training is shown here.",
            objectName="bpeStatus",
        )
        self.status.setWordWrap(True)
        self.progress = QProgressBar(objectName="bpeProgress")
        self.progress.hide()
        self.merge_list = QListWidget(objectName="bpeMergeList")
        self.merge_list.setToolTip(
            "Each merge joins the pair of tokens that was most frequent at that moment "
            "into one new token. The earliest merges are the most common pairs."
        )
        self.slider = QSlider(Qt.Orientation.Horizontal, objectName="bpeReplaySlider")
        self.slider.setToolTip("How many of the learned merges to apply to the prompt below.")
        self.slider.valueChanged.connect(self._on_replay_changed)
        self.play_button = QPushButton("▶ Replay merges", objectName="bpeReplayButton")
        self.play_button.clicked.connect(self._on_play_clicked)
        self.replay_label = QLabel(objectName="bpeReplayLabel")
        self.strip = TokenStrip()
        self.strip.setObjectName("bpeTokenStrip")
        self.strip.clear_tokens("The probe prompt, as BPE cuts it, appears here.")
        self._timer = QTimer(self, interval=REPLAY_INTERVAL_MS)
        self._timer.timeout.connect(self._advance_replay)

        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.slider, 1)
        right = QVBoxLayout()
        right.addLayout(controls)
        right.addWidget(self.replay_label)
        right.addWidget(self.strip, 1)
        columns = QHBoxLayout()
        columns.addWidget(self.merge_list, 1)
        columns.addLayout(right, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addLayout(columns, 1)
        self._set_enabled(False)

    # -- while training ---------------------------------------------------------------------------
    def training_started(self, wanted: int) -> None:
        self.merge_list.clear()
        self.progress.setRange(0, max(1, wanted))
        self.progress.setValue(0)
        self.progress.show()
        self.status.setText(f"Learning {wanted} merges from the corpus…")
        self._set_enabled(False)

    def training_progress(self, done: int, wanted: int) -> None:
        self.progress.setRange(0, max(1, wanted))
        self.progress.setValue(done)
        self.status.setText(f"Learning merges: {done} of {wanted}…")

    # -- the trained tokenizer ----------------------------------------------------------------------
    def show_tokenizer(self, tokenizer, prompt: str) -> None:
        """List the merges of a BPE tokenizer and replay them on the prompt (a char tokenizer: a note)."""
        self._timer.stop()
        self.progress.hide()
        self.tokenizer, self.prompt = tokenizer, prompt
        self.merge_list.clear()
        if getattr(tokenizer, "kind", "") != "bpe":
            self.merges = []
            if getattr(tokenizer, "kind", "") == "char":
                self.status.setText(
                    f"This run reads characters: {tokenizer.vocab_size} tokens, one per character "
                    "of the corpus. Choose BPE in the set-up to watch a vocabulary being learned."
                )
            else:  # a pretrained model's own tokenizer, learned before this run
                self.status.setText(
                    f"This run reads the model's own tokens ({tokenizer.vocab_size:,} of them), "
                    "learned before it was trained. Start a new model with BPE to watch one being learned."
                )
            self._set_enabled(False)
            return
        self.merges = merge_steps(tokenizer)
        self.merge_list.addItems([f"{m.rank:>4}.  {m.left}  +  {m.right}   →   {m.new}" for m in self.merges])
        self.status.setText(
            f"BPE learned {len(self.merges)} merges: 256 byte tokens + {len(self.merges)} = "
            f"{tokenizer.vocab_size} tokens. Drag the slider or press ▶ to replay them on the prompt."
        )
        self._set_enabled(True)
        self.slider.setRange(0, len(self.merges))
        self.slider.setValue(len(self.merges))
        self._on_replay_changed(len(self.merges))

    def set_prompt(self, prompt: str) -> None:
        self.prompt = prompt
        if self.merges:
            self._on_replay_changed(self.slider.value())

    def _on_replay_changed(self, merges_applied: int) -> None:
        if self.tokenizer is None or not self.merges or not self.prompt:
            return
        frame = replay(self.tokenizer, self.prompt, merges_applied)
        self.strip.set_tokens(frame.labels, frame.ids)
        latest = (
            f" — latest: {self.merges[merges_applied - 1].left} + {self.merges[merges_applied - 1].right}"
            if merges_applied
            else ""
        )
        self.replay_label.setText(
            f"After {merges_applied} merges the prompt is {len(frame.ids)} tokens "
            f"({frame.bytes_per_token:.2f} bytes per token){latest}"
        )
        if merges_applied:
            self.merge_list.setCurrentRow(merges_applied - 1)

    def _on_play_clicked(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            self.play_button.setText("▶ Replay merges")
            return
        self.slider.setValue(0)
        self.play_button.setText("⏸ Stop")
        self._timer.start()

    def _advance_replay(self) -> None:
        if self.slider.value() >= self.slider.maximum():
            self._timer.stop()
            self.play_button.setText("▶ Replay merges")
            return
        self.slider.setValue(self.slider.value() + 1)

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (self.slider, self.play_button):
            widget.setEnabled(enabled)

    def set_theme(self, dark: bool) -> None:
        self.strip.set_dark(dark)
