"""A Hugging Face Hub on 127.0.0.1, started by a test, serving model folders the way the Hub does.

    with LoopbackHub() as hub:
        hub.add_model("tiny/gpt2", folder)          # every file of the folder becomes a file of the repo
        monkeypatch.setenv("HF_ENDPOINT", hub.address)

What huggingface_hub 2.x asks for, and what is answered:
- GET /api/models/{id}/revision/{rev}?blobs=true: the commit and every file with its size, its git blob
  id, and for weights (stored with LFS on the Hub) their sha256.
- HEAD /{id}/resolve/{rev}/{file}: X-Repo-Commit, ETag (X-Linked-Etag and X-Linked-Size for LFS files),
  Content-Length. No X-Xet-* headers, so hf_xet (installed or not) is never used.
- GET /api/models/{id}/tree/{rev}: the file list (what snapshot_download, as transformers uses it, asks).
- GET of the same with `Range: bytes=N-`: 206 and the rest of the file.
- An unknown model: 404 with X-Error-Code: RepoNotFound, as the Hub answers.

A file's next GET can hang up midway (`cut(name, after_bytes)`), or be held midway
(`hold(name, after_bytes)`): its GET sends that many bytes, then waits until
the test calls `release()`, so a test can act "during" a download without any timing.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin")


def use_hub(monkeypatch, server: LoopbackHub, hf_home: Path) -> None:
    """Point huggingface_hub and core.files.hub at `server` and at an empty cache under `hf_home`, online."""
    for variable in ("HF_HUB_CACHE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.setenv("HF_ENDPOINT", server.address)


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class LoopbackHub:
    def __init__(self) -> None:
        self.models: dict[str, tuple[str, dict[str, bytes]]] = {}  # id -> (commit, {file name: bytes})
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range header)
        self._held: dict[str, int] = {}  # file name -> bytes sent before waiting
        self._cut: dict[str, int] = {}  # file name -> bytes sent before hanging up
        self.reached_hold = threading.Event()  # a held file has sent its first part
        self._release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = True
        self.address = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackHub:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._release.set()  # nothing stays waiting
        self.server.shutdown()
        self.server.server_close()

    def add_model(self, model_id: str, folder: Path, commit: str | None = None) -> str:
        files = {path.name: path.read_bytes() for path in sorted(Path(folder).iterdir()) if path.is_file()}
        commit = commit or hashlib.sha1(model_id.encode() + b"".join(files.values())).hexdigest()
        self.models[model_id] = (commit, files)
        return commit

    def hold(self, name: str, after_bytes: int) -> None:
        self._held[name] = after_bytes
        self._release.clear()
        self.reached_hold.clear()

    def cut(self, name: str, after_bytes: int) -> None:
        """The next GET of `name` hangs up after `after_bytes` bytes (a connection lost midway)."""
        self._cut[name] = after_bytes

    def release(self) -> None:
        self._held.clear()
        self._release.set()

    def gets_of(self, name: str) -> list[str | None]:
        """The Range header of every GET of `name` (None: the whole file was asked for)."""
        return [ranged for method, path, ranged in self.requests if method == "GET" and path.endswith("/" + name)]

    # -- answers ----------------------------------------------------------------------------------
    def model_info(self, model_id: str) -> dict:
        commit, files = self.models[model_id]
        siblings = []
        for name, data in files.items():
            sibling = {"rfilename": name, "size": len(data), "blobId": git_blob_id(data)}
            if name.endswith(LFS_SUFFIXES):
                sibling["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
            siblings.append(sibling)
        return {"id": model_id, "modelId": model_id, "sha": commit, "private": False, "siblings": siblings}

    def file_headers(self, model_id: str, name: str) -> dict[str, str]:
        commit, files = self.models[model_id]
        data = files[name]
        headers = {"X-Repo-Commit": commit, "Accept-Ranges": "bytes", "ETag": f'"{git_blob_id(data)}"'}
        if name.endswith(LFS_SUFFIXES):
            sha256 = hashlib.sha256(data).hexdigest()
            headers.update({"X-Linked-Etag": f'"{sha256}"', "X-Linked-Size": str(len(data)), "ETag": f'"{sha256}"'})
        return headers


def _handler_for(hub: LoopbackHub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet: pytest shows failures, not traffic
            pass

        def do_HEAD(self) -> None:
            self._answer(send_body=False)

        def do_GET(self) -> None:
            self._answer(send_body=True)

        def _answer(self, send_body: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            hub.requests.append((self.command, path, self.headers.get("Range")))
            tree = re.fullmatch(r"/api/models/(.+)/tree/[^/]+", path)
            if tree and self.command == "GET":
                return self._tree(tree.group(1))
            info = re.fullmatch(r"/api/models/(.+?)(?:/revision/[^/]+)?", path)
            if info and self.command == "GET":
                return self._model_info(info.group(1))
            resolve = re.fullmatch(r"/(.+)/resolve/([^/]+)/(.+)", path)
            if resolve:
                return self._file(resolve.group(1), resolve.group(3), send_body)
            self._not_found("EntryNotFound")

        def _model_info(self, model_id: str) -> None:
            if model_id not in hub.models:
                return self._not_found("RepoNotFound")
            body = json.dumps(hub.model_info(model_id)).encode()
            self._send(200, {"Content-Type": "application/json"}, body, True)

        def _tree(self, model_id: str) -> None:
            """The repository's file list (snapshot_download asks for it)."""
            if model_id not in hub.models:
                return self._not_found("RepoNotFound")
            entries = [
                {
                    "type": "file",
                    "path": sibling["rfilename"],
                    "size": sibling["size"],
                    "oid": sibling["blobId"],
                    **(
                        {"lfs": {"oid": sibling["lfs"]["sha256"], "size": sibling["size"], "pointerSize": 134}}
                        if "lfs" in sibling
                        else {}
                    ),
                }
                for sibling in hub.model_info(model_id)["siblings"]
            ]
            self._send(200, {"Content-Type": "application/json"}, json.dumps(entries).encode(), True)

        def _file(self, model_id: str, name: str, send_body: bool) -> None:
            if model_id not in hub.models:
                return self._not_found("RepoNotFound")
            files = hub.models[model_id][1]
            if name not in files:
                return self._not_found("EntryNotFound", {"X-Repo-Commit": hub.models[model_id][0]})
            data, status, headers = files[name], 200, hub.file_headers(model_id, name)
            ranged = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
            start = int(ranged.group(1)) if ranged and send_body else 0
            if start:
                status = 206
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            if send_body and name in hub._cut:
                return self._hang_up(status, headers, data[start:], hub._cut.pop(name))
            self._send(status, headers, data[start:], send_body, held=hub._held.get(name) if send_body else None)

        def _hang_up(self, status: int, headers: dict, body: bytes, after_bytes: int) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:after_bytes])
            self.wfile.flush()
            self.close_connection = True

        def _not_found(self, code: str, extra: dict | None = None) -> None:
            self._send(404, {"X-Error-Code": code, **(extra or {})}, b'{"error": "not found"}', True)

        def _send(self, status: int, headers: dict, body: bytes, send_body: bool, held: int | None = None) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not send_body:
                return
            try:
                if held is not None and held < len(body):
                    self.wfile.write(body[:held])
                    self.wfile.flush()
                    hub.reached_hold.set()
                    hub._release.wait()
                    self.wfile.write(body[held:])
                else:
                    self.wfile.write(body)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):  # the client hung up (a cancelled download)
                self.close_connection = True

    return Handler
