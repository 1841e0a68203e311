"""The Model zoo: real language models from the Hugging Face Hub, which are on this computer, download, open.

One row per recommended model (core.files.zoo): its size, the memory it needs, what it shows best, and whether
it is in the Hugging Face cache. Download first asks the Hub how big it is (nothing is fetched before the
user has seen the size), then fetches with a progress bar and a Cancel button; a cancelled or broken
download is continued next time. Everything that waits on the network or the disk runs in a
BackgroundJob, so the dialog and the window stay responsive.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.files import hub
from core.model.param_count import human_count
from core.files.zoo import ZOO, ZooEntry

from ..model_loader import BackgroundJob
from ..settings import AppSettings

COLUMNS = ("Model", "Family", "Parameters", "Memory (float32)", "On this computer", "What it shows best")
LAST_CHOICE_KEY = "zoo/last_model"
PROGRESS_STEPS = 1000  # the progress bar counts in thousandths: byte counts overflow a QProgressBar's int
MB = 2**20
ROW_PADDING = 8  # pixels added to each row's height


def memory_text(count: int) -> str:
    return f"{count / 2**30:.1f} GB" if count >= 2**30 else f"{count / MB:,.0f} MB"


class ModelZooDialog(QDialog):
    open_requested = Signal(str)  # a model id the window should open (it is in the cache)
    size_known = Signal(object)  # bytes a download of the chosen model fetches
    download_finished = Signal(str)  # the model id now in the cache
    download_failed = Signal(str)  # the sentence shown (cancelled, offline, disk full, ...)

    def __init__(
        self, settings: AppSettings, parent: QWidget | None = None, entries: tuple[ZooEntry, ...] = ZOO
    ) -> None:
        super().__init__(parent)
        self.setObjectName("modelZooDialog")
        self.setWindowTitle("Model zoo")
        self.settings = settings
        self.entries = entries
        self._job: BackgroundJob | None = None  # the size question or the download under way
        self._sized: str | None = None  # the model whose size was just shown: Start downloads it

        intro = QLabel(objectName="zooIntro", wordWrap=True)
        intro.setText(
            "Real language models, run by this app's own GPT. They are kept in the Hugging Face cache "
            f"({hub.cache_folder()}), shared with transformers. Nothing is downloaded until you choose "
            "Download; models already there open without a network."
        )
        self.table = self._build_table()
        self.status = QLabel(objectName="zooStatus", wordWrap=True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar(objectName="downloadProgress", maximum=PROGRESS_STEPS)
        self.progress.hide()

        self.download_button = QPushButton("Download…", objectName="downloadButton")
        self.download_button.setToolTip("Ask the Hub how big the model is; then Start download fetches it.")
        self.start_button = QPushButton("Start download", objectName="startButton")
        self.cancel_button = QPushButton("Cancel download", objectName="cancelButton")
        self.open_button = QPushButton("Open", objectName="openButton", default=True)
        close_button = QPushButton("Close", objectName="closeButton")
        buttons = QHBoxLayout()
        for button in (self.download_button, self.start_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(close_button)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)

        self.download_button.clicked.connect(self.ask_size)
        self.start_button.clicked.connect(self.start_download)
        self.cancel_button.clicked.connect(self.cancel_download)
        self.open_button.clicked.connect(self.open_selected)
        close_button.clicked.connect(self.hide)
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.table.doubleClicked.connect(lambda *_: self.open_selected())
        self.resize(1040, 480)
        self.refresh()
        self.select(self.settings.value(LAST_CHOICE_KEY, entries[0].model_id))

    def _build_table(self) -> QTableWidget:
        table = QTableWidget(len(self.entries), len(COLUMNS), objectName="zooTable")
        table.setHorizontalHeaderLabels(COLUMNS)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setWordWrap(True)
        table.verticalHeader().hide()
        header = table.horizontalHeader()
        for column in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        header.sectionResized.connect(lambda *_: self._fit_rows())  # rewrap the sentences when the width changes
        for row, entry in enumerate(self.entries):
            texts = (
                entry.model_id,
                entry.family,
                human_count(entry.parameters),
                memory_text(entry.float32_bytes),
                "",
                entry.shows,
            )
            for column, text in enumerate(texts):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{entry.name}: {entry.shows}")
                if column in (2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, column, item)
        return table

    # -- what the table shows ---------------------------------------------------------------------
    def refresh(self) -> None:
        """Look in the cache again (another program may have downloaded a model meanwhile)."""
        for row, entry in enumerate(self.entries):
            cached = hub.cached_folder(entry.model_id) is not None
            self.table.item(row, 4).setText("cached" if cached else "not downloaded")
        self._fit_rows()
        self._update_buttons()

    def _fit_rows(self) -> None:
        """Each row as tall as its wrapped sentence, with a little air above and below."""
        if not hasattr(self, "table"):  # the header reports sizes while the table is being built
            return
        self.table.resizeRowsToContents()
        for row in range(self.table.rowCount()):
            self.table.setRowHeight(row, self.table.rowHeight(row) + ROW_PADDING)

    def cached_state(self) -> dict[str, bool]:
        """model id -> whether the table says it is on this computer."""
        return {entry.model_id: self.table.item(row, 4).text() == "cached" for row, entry in enumerate(self.entries)}

    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.entries[rows[0].row()].model_id if rows else None

    def select(self, model_id: str) -> None:
        row = next((row for row, entry in enumerate(self.entries) if entry.model_id == model_id), 0)
        self.table.selectRow(row)

    def _on_selection_changed(self) -> None:
        model_id = self.selected_id()
        if model_id is not None and self._job is None:
            self.settings.set_value(LAST_CHOICE_KEY, model_id)
            self._sized = None
            self.status.setText("")
        self._update_buttons()

    def _update_buttons(self) -> None:
        model_id = self.selected_id()
        busy = self._job is not None
        cached = model_id is not None and self.cached_state().get(model_id, False)
        self.download_button.setEnabled(not busy and model_id is not None and not cached)
        self.start_button.setVisible(self._sized is not None and self._sized == model_id and not busy)
        self.cancel_button.setVisible(busy)
        self.open_button.setEnabled(cached and not busy)
        self.table.setEnabled(not busy)

    # -- downloading ------------------------------------------------------------------------------
    def ask_size(self) -> None:
        """Ask the Hub how much the chosen model fetches; Start download appears once it has answered."""
        model_id = self.selected_id()
        if model_id is None:
            return
        self.status.setText(f"Asking the Hugging Face Hub how big {model_id} is…")
        self._run(lambda report, cancelled: hub.plan_download(model_id), self._on_size_known, self._on_size_failed)

    def _on_size_known(self, plan: hub.DownloadPlan) -> None:
        self._sized = plan.model_id
        kept = (
            f" ({hub.size_text(plan.present_bytes)} of it is already here from an earlier try)"
            if plan.present_bytes
            else ""
        )
        self.status.setText(
            f"{plan.model_id}: {hub.size_text(plan.total_bytes)} to download from "
            f"{hub.hub_address()}{kept}, into {hub.cache_folder()}. Choose Start download."
        )
        self.start_button.setText(f"Start download ({hub.size_text(plan.total_bytes - plan.present_bytes)})")
        self.size_known.emit(plan.total_bytes)

    def _on_size_failed(self, text: str) -> None:
        self.status.setText(f"Size unknown offline. {text}" if "offline" in text else text)
        self.download_failed.emit(text)

    def start_download(self) -> None:
        model_id = self._sized or self.selected_id()
        if model_id is None:
            return
        self.progress.setValue(0)
        self.progress.setFormat(f"{model_id}: %p%")
        self.progress.show()
        self.status.setText(f"Downloading {model_id}…")
        self._run(
            lambda report, cancelled: hub.download(model_id, report, cancelled),
            self._on_downloaded,
            self._on_download_failed,
            self._on_progress,
        )

    def cancel_download(self) -> None:
        if self._job is not None:
            self.status.setText("Cancelling…")
            self._job.cancel()

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setValue(round(PROGRESS_STEPS * done / total) if total else PROGRESS_STEPS)
        self.progress.setFormat(f"{hub.size_text(done)} of {hub.size_text(total)} (%p%)")

    def _on_downloaded(self, folder: Path) -> None:
        model_id = self._sized or self.selected_id()
        self._sized = None
        self.status.setText(f"{model_id} is in the Hugging Face cache ({folder}); opening it.")
        self.refresh()
        self.download_finished.emit(model_id)
        self.open_requested.emit(model_id)

    def _on_download_failed(self, text: str) -> None:
        self.progress.hide()
        self.status.setText(text)
        self.refresh()
        self.download_failed.emit(text)

    def _run(self, work, on_success, on_failure, on_progress=None) -> None:
        if self._job is not None:  # one thing at a time
            return
        job = self._job = BackgroundJob(work)
        job.on_success, job.on_failure = on_success, on_failure
        if on_progress is not None:
            job.progress.connect(on_progress)
        job.finished.connect(self._on_job_finished)
        self._update_buttons()
        job.start()

    def _on_job_finished(self) -> None:
        job, self._job = self._job, None
        job.wait()  # 'finished' comes just before the thread ends: let it end before the job is dropped
        if job.error is None:
            job.on_success(job.result)
        else:
            job.on_failure(job.error)
        self._update_buttons()

    # -- opening, closing -----------------------------------------------------------------------------
    def open_selected(self) -> None:
        model_id = self.selected_id()
        if model_id is not None and self.cached_state().get(model_id) and self._job is None:
            self.open_requested.emit(model_id)

    def stop(self) -> None:
        """Cancel what is under way and wait for its thread (the window is closing)."""
        if self._job is not None:
            self._job.cancel()
            self._job.wait()
