"""Models from the Hugging Face Hub, kept in the standard Hugging Face cache.

The cache is the one transformers and TransformerLens use (HF_HUB_CACHE, else HF_HOME/hub, else
~/.cache/huggingface/hub), laid out the way huggingface_hub lays it out: a model fetched by them opens
here without a download, and one fetched here opens there.

    folder = cached_folder("gpt2")                   # None unless every file we need is there; no network
    size = download_size("gpt2")                     # bytes, asked of the Hub before anything is fetched
    folder = download("gpt2", on_progress=print)     # only the files a model needs; resumes a stopped one
    model, tokenizer = open_model(resolve("gpt2"))   # a Hub id or a local folder

Nothing here touches the network unless `download_size` or `download` is called. A download writes each
file to `blobs/<etag>.incomplete`, continues it with an HTTP Range request after an interruption, checks
its size and checksum, and only then renames it into the cache; `refs/main` is written last, so a stopped
download never looks like a model.
"""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.files.hub_checksum import check_complete

# Only what opening a model needs: its sizes, its weights, its tokenizer.
CONFIG_FILE = "config.json"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json")
SHARDED = {  # weights split over several files: the index, and the pattern of the pieces
    "model.safetensors.index.json": re.compile(r"model-\d+-of-\d+\.safetensors"),
    "pytorch_model.bin.index.json": re.compile(r"pytorch_model-\d+-of-\d+\.bin"),
}
WEIGHT_CHOICES = ("model.safetensors", "model.safetensors.index.json",  # in order of preference: a .bin
                  "pytorch_model.bin", "pytorch_model.bin.index.json")  # only where there is no safetensors
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")  # "gpt2", "EleutherAI/pythia-70m"
DISK_MARGIN_BYTES = 50 * 2**20  # leave the disk this much room after a download
MB = 2**20

ProgressCallback = Callable[[int, int], None]  # (bytes done, bytes in all)


def size_text(count: int) -> str:
    """A byte count the way a download is described: '548.1 MB', '13.2 kB', '1.9 GB'."""
    for unit, size in (("GB", 2**30), ("MB", MB), ("kB", 2**10)):
        if count >= size:
            return f"{count / size:,.1f} {unit}"
    return f"{count} bytes"


class NotCachedError(ValueError):
    """The model is not in the cache, and the user has not asked for a download (or cannot make one)."""


class DownloadCancelled(ValueError):
    """The user stopped the download; what was fetched is kept for the next try."""


# -- where things are (read at each call: tests and users may set these after import) ----------------
def cache_folder() -> Path:
    """The Hugging Face cache: HF_HUB_CACHE, else HF_HOME/hub, else huggingface_hub's default."""
    from huggingface_hub import constants

    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    return Path(constants.HF_HUB_CACHE).expanduser()


def hub_address() -> str:
    """Where the Hub is: HF_ENDPOINT (a mirror, or a test's server), else huggingface.co."""
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def is_offline() -> bool:
    """True when the user said so (HF_HUB_OFFLINE=1, as for transformers)."""
    from huggingface_hub import constants

    flags = (os.environ.get("HF_HUB_OFFLINE"), os.environ.get("TRANSFORMERS_OFFLINE"))
    return constants.HF_HUB_OFFLINE or any(str(flag).upper() in ("1", "ON", "YES", "TRUE") for flag in flags)


def looks_like_hub_id(name: str) -> bool:
    return bool(HUB_ID.fullmatch(name)) and ".." not in name


def _storage(model_id: str) -> Path:
    """This model's folder in the cache (models--owner--name)."""
    from huggingface_hub.file_download import repo_folder_name

    return cache_folder() / repo_folder_name(repo_id=model_id, repo_type="model")


# -- what is cached ---------------------------------------------------------------------------------
def missing_parts(folder: Path) -> list[str]:
    """What `folder` lacks to be opened as a model: [] when it has its config, all its weights and a tokenizer."""
    folder = Path(folder)
    missing = [] if (folder / CONFIG_FILE).is_file() else [CONFIG_FILE]
    if not (folder / "tokenizer.json").is_file() and not (
            (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file()):
        missing.append("tokenizer.json (or vocab.json and merges.txt)")
    weights = next((name for name in WEIGHT_CHOICES if (folder / name).is_file()), None)
    if weights is None:
        missing.append("model.safetensors (or pytorch_model.bin)")
    elif weights in SHARDED:
        missing += [shard for shard in _shards_named_in(folder / weights) if not (folder / shard).is_file()]
    return missing


def _shards_named_in(index: Path) -> list[str]:
    """The weight files a sharded model's index lists (an unreadable index lists itself: it is unusable)."""
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        return sorted({str(shard) for shard in weight_map.values()})
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return [f"{index.name} (readable)"]


def cached_folder(model_id: str) -> Path | None:
    """The cached snapshot of `model_id` if every file needed to open it is there, else None. Never
    uses the network; a download that stopped midway is not a model yet and gives None."""
    from huggingface_hub import try_to_load_from_cache

    if not looks_like_hub_id(model_id):
        return None
    config = try_to_load_from_cache(model_id, CONFIG_FILE, cache_dir=cache_folder())
    if not isinstance(config, str):  # None or "known not to exist"
        return None
    folder = Path(config).parent
    return folder if not missing_parts(folder) else None


# -- what a download needs ------------------------------------------------------------------------
@dataclass(frozen=True)
class HubFile:
    name: str          # path in the model's repository, e.g. "model.safetensors"
    size: int          # bytes, as the Hub reports them
    etag: str | None   # the Hub's checksum name for it (sha256 for big files); names its blob in the cache


@dataclass(frozen=True)
class DownloadPlan:
    model_id: str
    commit: str                  # the revision fetched: every file comes from this one commit
    files: tuple[HubFile, ...]   # small files first, weights last
    present_bytes: int           # already in the cache (whole files, or the start of a stopped one)

    @property
    def total_bytes(self) -> int:
        return sum(file.size for file in self.files)


def files_to_fetch(model_id: str, names: Iterable[str]) -> list[str]:
    """Of a repository's files, the ones opening the model needs: config, tokenizer, then the weights
    (safetensors where there are some; sharded weights as their index and every piece)."""
    top_level = {name for name in names if "/" not in name}
    if CONFIG_FILE not in top_level:
        raise ValueError(f"{model_id} on the Hugging Face Hub has no config.json, so it is not a model this app "
                         "can open.")
    weights = next((name for name in WEIGHT_CHOICES if name in top_level), None)
    if weights is None:
        raise ValueError(f"{model_id} on the Hugging Face Hub has no model.safetensors or pytorch_model.bin, so it "
                         "is not a model this app can open.")
    pieces = sorted(name for name in top_level if weights in SHARDED and SHARDED[weights].fullmatch(name))
    return [CONFIG_FILE, *(name for name in TOKENIZER_FILES if name in top_level), weights, *pieces]


def plan_download(model_id: str) -> DownloadPlan:
    """Ask the Hub which files `model_id` needs and how big they are (one request; nothing is fetched)."""
    from huggingface_hub import HfApi

    _refuse_when_offline(model_id)
    with _hub_errors_as_sentences(model_id):
        info = HfApi(endpoint=hub_address()).model_info(model_id, files_metadata=True)
    siblings = {sibling.rfilename: sibling for sibling in info.siblings or []}
    files = []
    for name in files_to_fetch(model_id, siblings):
        sibling = siblings[name]
        etag = sibling.lfs.sha256 if sibling.lfs is not None else sibling.blob_id
        files.append(HubFile(name, int(sibling.size or 0), etag))
    plan = DownloadPlan(model_id, str(info.sha), tuple(files), 0)
    return DownloadPlan(model_id, plan.commit, plan.files, _bytes_present(plan))


def download_size(model_id: str) -> int:
    """Bytes a download of `model_id` fetches in all (the Hub's figures, asked now)."""
    return plan_download(model_id).total_bytes


def _bytes_present(plan: DownloadPlan) -> int:
    blobs = _storage(plan.model_id) / "blobs"
    present = 0
    for file in plan.files:
        if file.etag and (blobs / file.etag).is_file():
            present += file.size
        elif file.etag and (blobs / f"{file.etag}.incomplete").is_file():
            present += min(file.size, (blobs / f"{file.etag}.incomplete").stat().st_size)
    return present


# -- downloading ----------------------------------------------------------------------------------
def download(model_id: str, on_progress: ProgressCallback | None = None,
             should_cancel: Callable[[], bool] | None = None) -> Path:
    """Fetch what `model_id` needs into the cache and return its folder; a cached model returns at once.
    Raises DownloadCancelled when should_cancel() turns true (checked after every piece received)."""
    folder = cached_folder(model_id)
    if folder is not None:
        return folder
    plan = plan_download(model_id)
    _check_disk_space(plan)
    progress = _Progress(plan.total_bytes, on_progress, should_cancel, model_id)
    for file in plan.files:
        _fetch_into_cache(plan, file, progress)
    storage = _storage(model_id)
    folder = storage / "snapshots" / plan.commit
    missing = missing_parts(folder)
    if missing:
        raise ValueError(f"The download of {model_id} finished without {', '.join(missing)}; it cannot be opened.")
    _write_ref(storage, plan.commit)  # last: from now on the model counts as cached
    return folder


class _Progress:
    """Bytes done so far across all files; reports each step and stops when the user cancels."""

    def __init__(self, total: int, on_progress: ProgressCallback | None,
                 should_cancel: Callable[[], bool] | None, model_id: str) -> None:
        self.total, self.done, self.model_id = total, 0, model_id
        self.on_progress = on_progress or (lambda done, total: None)
        self.should_cancel = should_cancel or (lambda: False)

    def advance(self, count: int) -> None:
        self.done += count
        self.on_progress(self.done, self.total)
        if self.should_cancel():
            raise DownloadCancelled(
                f"The download of {self.model_id} was cancelled after {size_text(self.done)} of "
                f"{size_text(self.total)}; what was fetched is kept, and Download continues from there.")


def _fetch_into_cache(plan: DownloadPlan, file: HubFile, progress: _Progress) -> None:
    """One file: fetched (or continued) into its blob, then linked into the commit's snapshot folder."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

    if (_storage(plan.model_id) / "snapshots" / plan.commit / file.name).is_file():
        progress.advance(file.size)
        return
    url = hf_hub_url(plan.model_id, file.name, revision=plan.commit, endpoint=hub_address())
    with _hub_errors_as_sentences(plan.model_id):
        metadata = get_hf_file_metadata(url, endpoint=hub_address())
    blob = _storage(plan.model_id) / "blobs" / metadata.etag
    if blob.is_file():
        progress.advance(file.size)
    else:
        # Where the Hub redirects the bytes (a CDN); a Xet-stored file is fetched from the Hub's own address,
        # as huggingface_hub does without hf_xet (a plain HTTP transfer we can continue and cancel).
        source = metadata.location if metadata.xet_file_data is None else url
        size = metadata.size if metadata.size is not None else file.size
        _fetch_blob(source, blob, size, file.name, progress)
    with _hub_errors_as_sentences(plan.model_id):  # the blob is there: this only links it into snapshots/
        hf_hub_download(plan.model_id, file.name, revision=plan.commit, cache_dir=cache_folder(),
                        endpoint=hub_address())


def _fetch_blob(url: str, blob: Path, size: int, name: str, progress: _Progress) -> None:
    """Stream `url` into blob.incomplete, continuing what an earlier try left there; rename it to `blob`
    once its size and checksum are right."""
    from huggingface_hub.errors import HfHubHTTPError
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    partial = blob.with_name(f"{blob.name}.incomplete")
    blob.parent.mkdir(parents=True, exist_ok=True)
    have = partial.stat().st_size if partial.is_file() else 0
    if have > size:  # not the start of this file: begin again
        partial.unlink()
        have = 0
    progress.advance(have)
    headers = build_hf_headers(headers={"Accept-Encoding": "identity"})  # the bytes as stored, so they can be continued
    if have:
        headers["Range"] = f"bytes={have}-"
    with _hub_errors_as_sentences(progress.model_id), \
            get_session().stream("GET", url, headers=headers, follow_redirects=True, timeout=30) as response:
        hf_raise_for_status(response)
        if have and response.status_code != 206:  # the server sent the whole file after all
            progress.advance(-have)
            have = 0
        try:
            with open(partial, "ab" if have else "wb") as out:
                for piece in response.iter_bytes():
                    out.write(piece)
                    progress.advance(len(piece))
        except OSError as error:
            if isinstance(error, HfHubHTTPError):
                raise
            raise ValueError(_disk_sentence(error, progress.model_id)) from None
    check_complete(partial, size, blob.name, name, progress.model_id)
    os.replace(partial, blob)


def _check_disk_space(plan: DownloadPlan) -> None:
    folder = cache_folder()
    folder.mkdir(parents=True, exist_ok=True)
    needed = plan.total_bytes - plan.present_bytes
    free = shutil.disk_usage(folder).free
    if needed + DISK_MARGIN_BYTES > free:
        raise ValueError(f"{plan.model_id} needs {size_text(needed)} more in the Hugging Face cache ({folder}), "
                         f"but that disk has {size_text(free)} free; free some space and choose Download again.")


def _disk_sentence(error: OSError, model_id: str) -> str:
    if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return (f"The disk holding the Hugging Face cache ({cache_folder()}) is full, so {model_id} could not be "
                "downloaded; free some space and choose Download again (what was fetched is kept).")
    return f"{model_id} could not be written to the Hugging Face cache ({cache_folder()}): {error.strerror or error}."


def _write_ref(storage: Path, commit: str) -> None:
    """refs/main names the commit whose snapshot is the model (huggingface_hub's own cache layout)."""
    ref = storage / "refs" / "main"
    ref.parent.mkdir(parents=True, exist_ok=True)
    temporary = ref.with_name(".main.tmp")
    temporary.write_text(commit, encoding="utf-8")
    os.replace(temporary, ref)


# -- errors from the network, as sentences ---------------------------------------------------------
def not_cached_sentence(model_id: str, offline: bool) -> str:
    where = "and this computer is offline" if offline else f"({cache_folder()})"
    return (f"{model_id} is not in the Hugging Face cache {where}; "
            f"{'connect and ' if offline else ''}choose Download in the Model zoo (or run attention-lab --model "
            f"{model_id} --download), or open a model folder that is on this computer.")


def _refuse_when_offline(model_id: str) -> None:
    if is_offline():
        raise NotCachedError(not_cached_sentence(model_id, offline=True))


@contextmanager
def _hub_errors_as_sentences(model_id: str) -> Iterator[None]:
    """Turn huggingface_hub's and the network's errors into one sentence for the user."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled, RepositoryNotFoundError

    try:
        yield
    except (OfflineModeIsEnabled, httpx2.ConnectError, httpx2.ConnectTimeout):
        raise NotCachedError(not_cached_sentence(model_id, offline=True)) from None
    except RepositoryNotFoundError:
        raise ValueError(f"There is no model called {model_id} on the Hugging Face Hub (or it is private); "
                         "check the name, e.g. gpt2 or EleutherAI/pythia-70m.") from None
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else "with an error"
        raise ValueError(
            f"The Hugging Face Hub answered {status} when asked for {model_id}; try again later."
        ) from None
    except httpx2.TransportError as error:  # the connection broke midway, or the Hub stopped answering
        raise ValueError(f"The download of {model_id} stopped ({type(error).__name__}: {error}); what was fetched "
                         "is kept: choose Download again to continue.") from None


# -- opening ---------------------------------------------------------------------------------------
def resolve(name: str) -> Path:
    """The folder to open for `name`: a folder on this computer, or a cached Hub model (never downloads)."""
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ValueError(f"{path} is a file, not a folder; a model folder holds config.json, the weights and "
                             "the tokenizer files.")
        return path
    if not looks_like_hub_id(name):
        raise ValueError(f"{name} is neither a folder on this computer nor a Hugging Face model id (like gpt2 or "
                         "EleutherAI/pythia-70m).")
    folder = cached_folder(name)
    if folder is None:
        raise NotCachedError(not_cached_sentence(name, offline=is_offline()))
    return folder


def open_model_folder(folder: str | Path):
    """(GPT, tokenizer) from a Hugging Face model folder of any family our GPT runs. The one place models
    from the Hub are built."""
    from core.files.pretrained import load_pretrained

    return load_pretrained(folder)


def open_model(name: str):
    """(GPT, tokenizer, folder) for a local folder or a cached Hub id."""
    folder = resolve(name)
    model, tokenizer = open_model_folder(folder)
    return model, tokenizer, folder
