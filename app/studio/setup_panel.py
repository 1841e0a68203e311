"""Set up a run: what to train on, how to cut it into tokens, how big a model, which hyperparameters.

Nothing here trains. "Set up run" hands a RunSetup to the studio, which checks and builds it; a
mistake (a file that is not UTF-8, a corpus too short for the context) is reported and nothing
that was running is lost.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QBoxLayout,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.dialogs.model_sizes import ModelSizeFields
from core.training.finetune import FINETUNE_LEARNING_RATE
from core.model.param_count import count_parameters, human_count
from core.training.recipe import corpus_choices
from core.training.run_setup import TASK_RECIPES, RunSetup, with_task_recipe
from core.training.synthetic import SYNTHETIC_TASKS

from .narrow import SIDE_BY_SIDE, keep_narrow_minimum, stack_when_narrow
from .run_store import read_run_info

OPEN_FILE = "open-file"
SIDE_BY_SIDE_WIDTH = 720  # pixels: a narrower set-up puts the hyperparameters below the text and model
SHORTEST_CHOICE = 16  # characters a drop-down keeps in sight when the studio is narrow
BPE_RANGE = (260, 2048)  # the vocabulary-size slider: a few merges .. a few thousand


class SetupPanel(QWidget):
    setup_requested = Signal(object)  # RunSetup: build this run
    resume_requested = Signal(str)  # a checkpoint folder to resume from
    estimate_requested = Signal(object)  # RunSetup: measure steps per second for it

    def __init__(self, setup: RunSetup | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runSetupPanel")
        self._opened_files: list[str] = []
        self._last_real_corpus = ("synthetic", "previous-token")  # what "Open text file…" falls back to
        self._building()
        self.set_setup(setup or RunSetup())

    # -- building --------------------------------------------------------------------------------
    def _building(self) -> None:
        self.start_combo = QComboBox(objectName="startFromChoice")
        self.start_combo.addItem("a new model: random weights, the sizes below", "new")
        self.start_combo.addItem("the model on screen: fine-tune a copy of it", "screen")
        self.start_combo.setToolTip(
            "Fine-tuning trains a copy of the explorer's model on this text, with the "
            "model's own tokenizer and sizes; the explorer's model itself is not changed."
        )
        self.start_combo.activated.connect(self._on_start_activated)
        self.start_combo.currentIndexChanged.connect(self._on_start_changed)
        self.corpus_selector = QComboBox(objectName="corpusSelector")
        self.corpus_selector.setToolTip(
            "What the model learns from: a built-in text, a task whose right attention "
            "is known, or any UTF-8 text file (or drop a file on the window)."
        )
        self.corpus_about = QLabel(objectName="corpusAbout")
        self.corpus_about.setWordWrap(True)
        self._fill_corpus_selector()
        self.corpus_selector.activated.connect(self._on_corpus_activated)
        self.corpus_selector.currentIndexChanged.connect(self._on_corpus_changed)

        self.task_length_spin = QSpinBox(objectName="taskLength", minimum=0, maximum=100)
        self.task_length_spin.setSpecialValueText("task default")
        self.task_length_spin.setToolTip("Random letters per example of a synthetic task (longer: more to copy).")

        self.tokenizer_combo = QComboBox(objectName="tokenizerChoice")
        self.tokenizer_combo.addItem("characters: one token per character", "char")
        self.tokenizer_combo.addItem("BPE: byte-pair merges learned from this text", "bpe")
        self.bpe_slider = QSlider(Qt.Orientation.Horizontal, objectName="bpeVocabSlider")
        self.bpe_slider.setRange(*BPE_RANGE)
        self.bpe_slider.setSingleStep(16)
        self.bpe_slider.setPageStep(64)
        self.bpe_label = QLabel(objectName="bpeVocabLabel")
        self.tokenizer_combo.currentIndexChanged.connect(self._on_tokenizer_changed)
        self.bpe_slider.valueChanged.connect(self._on_tokenizer_changed)

        self.model_sizes = ModelSizeFields(self)
        self.size_label = QLabel(objectName="parameterCountLabel")
        self.size_label.setWordWrap(True)
        self.speed_label = QLabel("steps/s: press Measure", objectName="stepsPerSecondLabel")
        self.speed_button = QPushButton("Measure speed", objectName="measureSpeedButton")
        self.speed_button.setToolTip("Time a couple of training steps of this model on this machine.")
        self.speed_button.clicked.connect(lambda: self.estimate_requested.emit(self.setup()))

        self.lr_spin = _float_spin("learningRate", 1e-5, 1.0, 5, 0.0005)
        self.batch_spin = QSpinBox(objectName="batchSize", minimum=1, maximum=1024)
        self.context_spin = QSpinBox(objectName="contextLength", minimum=4, maximum=1024)
        self.steps_spin = QSpinBox(objectName="maxSteps", minimum=1, maximum=1_000_000, singleStep=100)
        self.warmup_spin = QSpinBox(objectName="warmupSteps", minimum=0, maximum=100_000)
        self.decay_spin = _float_spin("weightDecay", 0.0, 1.0, 3, 0.01)
        self.dropout_spin = _float_spin("dropout", 0.0, 0.9, 2, 0.05)
        self.clip_spin = _float_spin("gradClip", 0.0, 100.0, 2, 0.5)
        self.clip_spin.setSpecialValueText("off")
        self.seed_spin = QSpinBox(objectName="runSeed", minimum=0, maximum=2**31 - 1)
        self.model_sizes.changed.connect(self._update_size)
        self.context_spin.valueChanged.connect(self._update_size)

        self.apply_button = QPushButton("Set up run", objectName="applySetupButton")
        self.apply_button.setToolTip(
            "Build a fresh model and trainer from these settings (the current run is "
            "replaced; save it first if you want to keep it)."
        )
        self.apply_button.clicked.connect(lambda: self.setup_requested.emit(self.setup()))
        self.resume_button = QPushButton("Resume a saved run…", objectName="resumeRunButton")
        self.resume_button.clicked.connect(self._ask_resume)
        self.autosave_button = QPushButton(objectName="resumeAutosaveButton")
        self.autosave_button.hide()
        self._autosave_folder = ""
        self.autosave_button.clicked.connect(lambda: self.resume_requested.emit(self._autosave_folder))
        self._arrange()

    def _arrange(self) -> None:
        text_box = QGroupBox("Text")
        text_form = QFormLayout(text_box)
        text_form.addRow("Corpus", self.corpus_selector)
        text_form.addRow(self.corpus_about)
        text_form.addRow("Task length", self.task_length_spin)
        text_form.addRow("Tokenizer", self.tokenizer_combo)
        bpe_row = QHBoxLayout()
        bpe_row.addWidget(self.bpe_slider, 1)
        bpe_row.addWidget(self.bpe_label)
        text_form.addRow("BPE vocabulary", bpe_row)

        model_box = QGroupBox("Model")
        model_form = QFormLayout(model_box)
        model_form.addRow("Start from", self.start_combo)
        self.model_sizes.add_rows(model_form, sizes_in_one_row=True)
        model_form.addRow(self.size_label)
        speed = QHBoxLayout()
        speed.addWidget(self.speed_label, 1)
        speed.addWidget(self.speed_button)
        model_form.addRow(speed)

        hyper_box = QGroupBox("Hyperparameters")
        hyper_form = QFormLayout(hyper_box)
        for label, widget, tip in (
            ("Learning rate", self.lr_spin, "Peak step size of AdamW, reached after warmup, then decayed by a cosine."),
            ("Batch size", self.batch_spin, "Windows of text per optimizer step."),
            ("Context length", self.context_spin, "Tokens per window; also the longest prompt the model reads."),
            ("Steps", self.steps_spin, "How many optimizer steps Play runs (and the length of the schedule)."),
            ("Warmup steps", self.warmup_spin, "Steps over which the learning rate grows from ~0 to its peak."),
            ("Weight decay", self.decay_spin, "AdamW's pull of weight matrices towards zero each step."),
            ("Dropout", self.dropout_spin, "Share of activations zeroed at random while training (0 = off)."),
            ("Gradient clip", self.clip_spin, "A gradient longer than this is shortened to it before the step."),
            ("Seed", self.seed_spin, "Same seed, same starting weights and batches: the same run again."),
        ):
            widget.setToolTip(tip)
            hyper_form.addRow(label, widget)

        self.columns = columns = QBoxLayout(SIDE_BY_SIDE)  # stacked on a narrow studio: resizeEvent
        left = QVBoxLayout()
        left.addWidget(text_box)
        left.addWidget(model_box)
        left.addStretch(1)
        columns.addLayout(left, 3)
        columns.addWidget(hyper_box, 2)
        buttons = QHBoxLayout()
        buttons.addWidget(self.apply_button)
        buttons.addWidget(self.resume_button)
        buttons.addWidget(self.autosave_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(columns, 1)
        layout.addLayout(buttons)
        for form in (text_form, model_form, hyper_form):  # too narrow for label and field: field goes below
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        for combo in self.findChildren(QComboBox):  # long choices are cut short, not the studio widened
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(SHORTEST_CHOICE)
        keep_narrow_minimum(self, columns)  # a narrow studio stacks the columns: resizeEvent

    def resizeEvent(self, event) -> None:
        """The text and model settings beside the hyperparameters, or above them on a narrow studio."""
        stack_when_narrow(self, self.columns, event.size().width(), SIDE_BY_SIDE_WIDTH)
        super().resizeEvent(event)

    def _fill_corpus_selector(self) -> None:
        self.corpus_selector.blockSignals(True)
        self.corpus_selector.clear()
        for kind, name, about in corpus_choices():
            prefix = "Task" if kind == "synthetic" else "Built-in"
            self.corpus_selector.addItem(f"{prefix}: {name}", (kind, name))
            self.corpus_selector.setItemData(self.corpus_selector.count() - 1, about, Qt.ItemDataRole.ToolTipRole)
        for path in self._opened_files:
            self.corpus_selector.addItem(f"File: {Path(path).name}", ("file", path))
            self.corpus_selector.setItemData(self.corpus_selector.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
        self.corpus_selector.addItem("Open text file…", (OPEN_FILE, ""))
        self.corpus_selector.blockSignals(False)

    # -- reading and writing the form --------------------------------------------------------------
    def setup(self) -> RunSetup:
        kind, name = self.corpus_selector.currentData() or ("synthetic", "previous-token")
        if kind == OPEN_FILE:
            kind, name = self._last_real_corpus
        return RunSetup(
            corpus_kind=kind,
            corpus_name=name,
            task_length=self.task_length_spin.value() if kind == "synthetic" else 0,
            tokenizer=self.tokenizer_combo.currentData(),
            bpe_vocab_size=self.bpe_slider.value(),
            start_from=self.start_combo.currentData(),
            model_preset=self.model_sizes.preset(),
            **self.model_sizes.sizes(),
            pos_encoding=self.model_sizes.pos_encoding(),
            dropout=round(self.dropout_spin.value(), 4),
            learning_rate=self.lr_spin.value(),
            batch_size=self.batch_spin.value(),
            context_length=self.context_spin.value(),
            max_steps=self.steps_spin.value(),
            warmup_steps=self.warmup_spin.value(),
            weight_decay=self.decay_spin.value(),
            grad_clip=round(self.clip_spin.value(), 4),
            seed=self.seed_spin.value(),
        )

    def set_setup(self, setup: RunSetup) -> None:
        if setup.corpus_kind == "file" and setup.corpus_name not in self._opened_files:
            self._opened_files.append(setup.corpus_name)
            self._fill_corpus_selector()
        self._select_corpus(setup.corpus_kind, setup.corpus_name)
        self.tokenizer_combo.setCurrentIndex(self.tokenizer_combo.findData(setup.tokenizer))
        self.start_combo.setCurrentIndex(self.start_combo.findData(setup.start_from))
        self.bpe_slider.setValue(setup.bpe_vocab_size)
        self.model_sizes.set_choice(
            setup.model_preset,
            dict(n_layers=setup.n_layers, n_heads=setup.n_heads, d_model=setup.d_model),
            setup.pos_encoding,
        )
        self.lr_spin.setValue(setup.learning_rate)
        self.batch_spin.setValue(setup.batch_size)
        self.context_spin.setValue(setup.context_length)
        self.steps_spin.setValue(setup.max_steps)
        self.warmup_spin.setValue(setup.warmup_steps)
        self.decay_spin.setValue(setup.weight_decay)
        self.dropout_spin.setValue(setup.dropout)
        self.clip_spin.setValue(setup.grad_clip)
        self.task_length_spin.setValue(setup.task_length)
        self.seed_spin.setValue(setup.seed)
        self._on_tokenizer_changed()

    def add_file(self, path: str) -> None:
        """Choose a text file as the corpus (from the file dialog or a drop on the window)."""
        path = str(path)
        if path not in self._opened_files:
            self._opened_files.append(path)
            self._fill_corpus_selector()
        self._select_corpus("file", path)

    def _select_corpus(self, kind: str, name: str) -> None:
        for index in range(self.corpus_selector.count()):
            if self.corpus_selector.itemData(index) == (kind, name):
                self.corpus_selector.setCurrentIndex(index)
                self._last_real_corpus = (kind, name)
                self._on_corpus_changed()
                return

    def show_autosave(self, folder: str, step: int) -> None:
        """Offer to continue the run that was autosaved when the app last closed."""
        self._autosave_folder = folder
        self.autosave_button.setText(f"Resume the autosaved run (step {step})")
        self.autosave_button.setVisible(bool(folder))

    def offer_autosave(self, folder: str | Path) -> None:
        """show_autosave for the run autosaved in `folder`, if there is one there."""
        try:
            info = read_run_info(folder)
        except ValueError:
            return
        self.show_autosave(str(folder), info.step)

    def show_speed(self, steps_per_second: float) -> None:
        self.speed_label.setText(
            f"≈ {steps_per_second:.1f} steps/s on this machine ({steps_per_second * 60:,.0f} steps a minute)"
        )

    # -- reactions ---------------------------------------------------------------------------------
    def _on_corpus_activated(self, index: int) -> None:
        kind, name = self.corpus_selector.itemData(index)
        if kind == "synthetic" and name in TASK_RECIPES:  # the settings under which its circuit forms quickly
            self.set_setup(with_task_recipe(self.setup()))
            self.corpus_about.setText(self.corpus_about.text() + " <i>Suggested settings for this task applied.</i>")
        if kind == OPEN_FILE:
            path, _ = QFileDialog.getOpenFileName(
                self,
                "Open a UTF-8 text file to train on",
                str(Path.home()),
                "Text files (*.txt *.md *.py *.csv *.json);;All files (*)",
            )
            if path:
                self.add_file(path)
            else:
                self._select_corpus(*self._last_real_corpus)

    def _on_corpus_changed(self, *_) -> None:
        data = self.corpus_selector.currentData()
        if not data or data[0] == OPEN_FILE:
            self.corpus_about.setText("Pick a UTF-8 text file (or drop one on the window).")
            return
        self._last_real_corpus = data
        about = self.corpus_selector.itemData(self.corpus_selector.currentIndex(), Qt.ItemDataRole.ToolTipRole)
        self.corpus_about.setText(about or "")
        self.task_length_spin.setEnabled(data[0] == "synthetic")

    def _on_start_activated(self, index: int) -> None:
        if (
            self.start_combo.itemData(index) == "screen"
        ):  # a trained model needs small steps (core/training/finetune.py)
            self.lr_spin.setValue(FINETUNE_LEARNING_RATE)

    def _on_start_changed(self, *_) -> None:
        """A fine-tune takes its tokenizer and sizes from the model: those fields are greyed out."""
        new_model = self.start_combo.currentData() == "new"
        self.model_sizes.set_enabled(new_model)
        self.tokenizer_combo.setEnabled(new_model)
        self._on_tokenizer_changed()

    def _fine_tuning(self) -> bool:
        return self.start_combo.currentData() == "screen"

    def _on_tokenizer_changed(self, *_) -> None:
        bpe = self.tokenizer_combo.currentData() == "bpe" and not self._fine_tuning()
        self.bpe_slider.setEnabled(bpe)
        merges = self.bpe_slider.value() - 256
        self.bpe_label.setText(f"{self.bpe_slider.value()} tokens ({merges} merges)" if bpe else "—")
        self._update_size()

    def _update_size(self, *_) -> None:
        if self._fine_tuning():
            self.apply_button.setEnabled(True)
            self.size_label.setText(
                "A copy of the model on screen is trained, with its own tokenizer and sizes "
                "(windows of at most its context length); the explorer keeps the original."
            )
            return
        setup_kind, setup_name = self._last_real_corpus
        if self.tokenizer_combo.currentData() == "bpe":
            vocab, vocab_note = self.bpe_slider.value(), ""
        elif setup_kind == "synthetic":
            vocab, vocab_note = len(SYNTHETIC_TASKS[setup_name].symbols), ""
        else:
            vocab, vocab_note = 100, " (with ~100 different characters)"
        try:
            config = self.setup().model_config(vocab)
        except ValueError as problem:
            self.size_label.setText(f"<span style='color:#d93025'>{problem}</span>")
            self.apply_button.setEnabled(False)
            return
        self.apply_button.setEnabled(True)
        self.size_label.setText(f"{human_count(count_parameters(config).total)} parameters{vocab_note}")

    def _ask_resume(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Resume a saved training run (a checkpoint folder)", str(Path.home())
        )
        if folder:
            self.resume_requested.emit(folder)


def _float_spin(name: str, low: float, high: float, decimals: int, step: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox(objectName=name)
    spin.setRange(low, high)
    spin.setDecimals(decimals)
    spin.setSingleStep(step)
    return spin
