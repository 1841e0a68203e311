"""Opening, making and saving the model the explorer shows, without freezing the window.

    models = ModelOpener(controller, settings, errors, show_model=window.set_session, window=window)
    models.open_checkpoint("runs/shakespeare", wait=False)   # read on a background thread
    models.model_loaded.connect(...)                         # the new model is shown everywhere

Each opener reads the files on a background thread. wait=False (menus, the zoo) returns at once and the
window stays responsive; wait=True (scripts, tests) returns once the model is shown or the error is.
A file that cannot be opened is one sentence in the error box; the model shown before stays.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QProgressBar

from .controller import Controller
from .dialogs.new_model import NewModelDialog
from .error_display import ERROR_SHOWN_MS, ErrorDisplay
from .model_loader import BackgroundJob
from .settings import AppSettings, RecentItem
from .state.model_in_use import (
    CHARACTER_MODEL_FOLDER,
    LEARNED_POSITIONS_MODEL_FOLDER,
    ModelInUse,
    load_character_model,
    load_learned_positions_model,
    default_model,
    lessons_tokenizer,
    load_checkpoint_model,
    load_gpt2_model,
    load_hub_model,
    new_untrained_model,
)

SAVE_ERRORS = (ValueError, OSError, RuntimeError, KeyError)  # what a full disk or a bad folder can raise


class ModelOpener(QObject):
    model_loaded = Signal(object)  # ModelInUse: a model opened in the background is now shown
    load_failed = Signal(str)  # the sentence shown when opening a model failed (the previous one stays)

    def __init__(
        self,
        controller: Controller,
        settings: AppSettings,
        errors: ErrorDisplay,
        show_model: Callable[[ModelInUse], None],
        window: QMainWindow,
    ) -> None:
        """`show_model` puts a model in every panel; `window` is where dialogs and the status bar are."""
        super().__init__(window)
        self._controller = controller
        self._settings = settings
        self._errors = errors
        self._show_model = show_model
        self._window = window
        self._job: BackgroundJob | None = None  # the model being opened, if any
        self._model_zoo = None  # the Model zoo dialog, made when first asked for
        self.progress = QProgressBar(objectName="loadProgress", maximumWidth=140, textVisible=False)
        self.progress.setRange(0, 0)  # busy: opening a model does not say how far it got
        self.progress.hide()

    def _status(self, text: str, ms: int = 0) -> None:
        self._window.statusBar().showMessage(text, ms)

    # -- opening ------------------------------------------------------------------------------
    def open_checkpoint(self, folder: str | Path, wait: bool = True) -> bool:
        return self.load(
            lambda: load_checkpoint_model(folder),
            "Could not open the checkpoint",
            RecentItem("checkpoint", str(folder)),
            Path(folder).name,
            wait,
        )

    def open_gpt2_folder(self, folder: str | Path, wait: bool = True) -> bool:
        return self.load(
            lambda: load_gpt2_model(folder),
            "Could not open the GPT-2 folder",
            RecentItem("gpt2", str(folder)),
            Path(folder).name,
            wait,
        )

    def open_hub_model(self, name: str, wait: bool = True) -> bool:
        """A Hugging Face model: a Hub id already in the cache, or a local folder."""
        return self.load(lambda: load_hub_model(name), "Could not open the model", RecentItem("hub", name), name, wait)

    def open_character_model(self, wait: bool = False) -> bool:
        return self.load(
            load_character_model,
            "Could not open the character model",
            RecentItem("checkpoint", str(CHARACTER_MODEL_FOLDER)),
            "the character model",
            wait,
        )

    def open_learned_positions_model(self, wait: bool = False) -> bool:
        return self.load(
            load_learned_positions_model,
            "Could not open the story model with learned positions",
            RecentItem("checkpoint", str(LEARNED_POSITIONS_MODEL_FOLDER)),
            "the story model with learned positions",
            wait,
        )

    def load_default_model(self) -> None:
        model, notice = default_model()
        self._show_model(model)
        if notice:
            self._status(notice, ERROR_SHOWN_MS)

    def new_model(self, config, tokenizer_choice: str = "current", seed: int = 0) -> None:
        tokenizer = self._controller.session.tokenizer if tokenizer_choice == "current" else lessons_tokenizer()
        self._show_model(new_untrained_model(config, tokenizer, seed))

    @property
    def loading(self) -> bool:
        return self._job is not None

    def load(self, make_model, failure_title: str, recent: RecentItem, what: str, wait: bool) -> bool:
        """Replace the model from a background thread, or say why not and keep the one shown."""
        if self._job is not None:
            self._status(f"Still opening {self._job.what}; try again once it is shown.", 8000)
            return False
        job = self._job = BackgroundJob(lambda report, cancelled: make_model())
        job.what, job.recent, job.failure_title = what, recent, failure_title
        self.progress.show()
        self._status(f"Opening {what}…")
        if wait:  # the caller blocks until it is done (no events are handled meanwhile: nothing can interleave)
            job.start()
            self._on_load_finished()
            return job.error is None
        job.finished.connect(self._on_load_finished)
        job.start()
        return True

    def _on_load_finished(self) -> None:
        self.progress.hide()
        job, self._job = self._job, None
        job.wait()  # 'finished' comes just before the thread ends: let it end before the job is dropped
        if job.error is not None:
            self._errors.show_error(job.failure_title, f"{job.error}\n\nThe previous model is still shown.")
            self.load_failed.emit(job.error)
            return
        self._show_model(job.result)
        self._settings.add_recent(job.recent)
        self._status(f"Opened {job.what}.", 8000)
        self.model_loaded.emit(job.result)

    # -- saving -------------------------------------------------------------------------------
    def save_checkpoint(self, folder: str | Path) -> bool:
        from core.files.checkpoint import save_checkpoint

        model = self._controller.session
        try:
            save_checkpoint(folder, model.model, model.tokenizer, step=model.step or 0)
        except SAVE_ERRORS as error:
            self._errors.show_error("Could not save the checkpoint", str(error))
            return False
        self._settings.add_recent(RecentItem("checkpoint", str(folder)))
        self._status(f"Saved the model to {folder}", 8000)
        return True

    # -- menu actions that ask first -----------------------------------------------------------
    def ask_new_model(self) -> None:
        vocab_sizes = {
            "current": self._controller.session.tokenizer.vocab_size,
            "lessons": lessons_tokenizer().vocab_size,
        }
        dialog = NewModelDialog(vocab_sizes, self._window)
        if dialog.exec() == NewModelDialog.DialogCode.Accepted:
            choice = dialog.choice()
            self.new_model(choice.config, choice.tokenizer, choice.seed)

    def ask_open_checkpoint(self) -> None:
        folder = QFileDialog.getExistingDirectory(self._window, "Open a checkpoint folder", self.last_folder())
        if folder:
            self.open_checkpoint(folder, wait=False)

    def ask_open_hub_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self._window,
            "Open a Hugging Face model folder (config.json, model weights, tokenizer files)",
            self.last_folder(),
        )
        if folder:
            self.open_hub_model(folder, wait=False)

    def ask_save_checkpoint(self) -> None:
        folder, _ = QFileDialog.getSaveFileName(
            self._window, "Save the model as a checkpoint folder", str(Path(self.last_folder()) / "my-model")
        )
        if folder:
            self.save_checkpoint(folder)

    def show_model_zoo(self) -> None:
        """The Model zoo dialog (one, kept): which models are cached, download, open."""
        if self._model_zoo is None:
            from .dialogs.model_zoo import ModelZooDialog

            self._model_zoo = ModelZooDialog(self._settings, self._window)
            self._model_zoo.open_requested.connect(lambda model_id: self.open_hub_model(model_id, wait=False))
        self._model_zoo.refresh()
        self._model_zoo.show()
        self._model_zoo.raise_()

    # -- recent models ------------------------------------------------------------------------
    def last_folder(self) -> str:
        recent = self._settings.recent_items()
        return str(Path(recent[0].path).parent) if recent else str(Path.home())

    def fill_recent_menu(self, menu: QMenu) -> None:
        menu.clear()
        items = self._settings.recent_items()
        openers = {"checkpoint": self.open_checkpoint, "gpt2": self.open_gpt2_folder, "hub": self.open_hub_model}
        for item in items:
            opener = openers.get(item.kind, self.open_gpt2_folder)
            action = menu.addAction(f"{Path(item.path).name}  ({item.kind}: {item.path})")
            action.triggered.connect(lambda *_, opener=opener, path=item.path: opener(path, wait=False))
        if not items:
            menu.addAction("No recent models").setEnabled(False)
        menu.addSeparator()
        menu.addAction("Clear the list", self._settings.clear_recent)

    def close(self) -> None:
        """The window is closing: a model being read is let finish (it cannot be interrupted), a download
        is cancelled (what it fetched is kept for next time)."""
        if self._job is not None:
            self._job.wait()
        if self._model_zoo is not None:
            self._model_zoo.stop()
