"""`pan send`: files and folders as one share, through tus, resumable.

The share is created open (`POST /api/shares` with `uploading: true`), each
file is one tus upload naming it in its metadata (`share`, `filename`,
`relativePath` for files inside a folder), and the share is completed at the
end (`PATCH /api/shares/<id>` `{"complete": true}`; docs/uploads.md).

What has been done is written down as it happens in a state file in the
user's cache folder, named by a hash of the server and of every file's
absolute path, size and modification time: the share's id, each file's tus
URL and whether it completed. Running the same command again after Ctrl-C, a
dropped network or a killed process reads it back, asks the server how much
of each unfinished file arrived (`HEAD`) and sends the rest. A file that
changed in between makes a different key: a new share.
"""

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import requests
from tusclient.client import TusClient
from tusclient.exceptions import TusCommunicationError

from .api import Api, base_headers, network_problem, refusal, stalled
from .config import cache_dir, read_json, write_private
from .errors import NetworkProblem, Refused, UsageProblem
from .texts import t
from .tus import TimedUploader, UploadStalled, timed_out

# Bytes per PATCH: one chunk is read into memory by tuspy; the server records
# the offset at the end of each (and every 8 MiB within one).
CHUNK_SIZE = 4 * 1024 * 1024
# tuspy retries a failed PATCH (a dropped connection, 423 while a killed
# client's lease lapses) after asking the offset again.
TUS_RETRIES = 5
TUS_RETRY_DELAY = 2


@dataclass(frozen=True)
class Outgoing:
    path: Path  # absolute
    name: str  # the file's name
    relative: str | None  # its path under a folder that was sent, with that folder's name first
    size: int
    mtime_ns: int

    @property
    def item_path(self) -> str:
        return self.relative or self.name


def _outgoing(path: Path, relative: str | None) -> Outgoing:
    facts = path.stat()
    return Outgoing(path, path.name, relative, facts.st_size, facts.st_mtime_ns)


def collect(paths: list[str]) -> list[Outgoing]:
    """The files to send: each file given, and every file under each folder
    given (recursively, in name order; symbolic links to folders are not
    followed), a folder's files named by their path from the folder's own name
    (`photos/2026/a.jpg`), as a browser's folder upload names them."""
    found: list[Outgoing] = []
    for given in paths:
        path = Path(given).absolute()
        if path.is_dir():
            for folder, folders, files in os.walk(path):
                folders.sort()
                for name in sorted(files):
                    file = Path(folder) / name
                    if file.is_file():
                        relative = file.relative_to(path.parent).as_posix()
                        found.append(_outgoing(file, relative))
        elif path.is_file():
            found.append(_outgoing(path, None))
        else:
            raise UsageProblem(f"{given}: not a file or a folder", code="not_found")
    if not found:
        raise UsageProblem(t("Nothing to send: no files in {paths}.", paths=" ".join(paths)), code="nothing_to_send")
    return found


def state_path(server: str, files: list[Outgoing]) -> Path:
    facts = [[str(file.path), file.relative, file.size, file.mtime_ns] for file in files]
    key = hashlib.sha256(json.dumps({"server": server, "files": facts}).encode()).hexdigest()
    return cache_dir() / "send" / f"{key[:32]}.json"


class State:
    """The state file of one `pan send` (see the module's docstring)."""

    def __init__(self, path: Path, count: int):
        self.path = path
        self.data = read_json(path)
        files = self.data.get("files")
        if not isinstance(files, list) or len(files) != count:
            self.data = {"share": None, "files": [{"url": None, "done": False} for _ in range(count)]}

    def save(self) -> None:
        write_private(self.path, self.data)

    def forget(self) -> None:
        self.path.unlink(missing_ok=True)

    def reset(self) -> None:
        self.data = {"share": None, "files": [{"url": None, "done": False} for _ in self.data["files"]]}
        self.save()


def tus_failure(error: TusCommunicationError, url: str) -> Exception:
    """A tuspy error as this client's: no answer is a network problem, 5xx too, 4xx a refusal."""
    if timed_out(error) is not None:
        return stalled(url)
    status = error.status_code
    if status is None:
        return network_problem(url, error)
    message, code = str(error), f"http_{status}"
    try:
        body = json.loads(error.response_content or b"{}")
        message = body["error"]["message"]
        code = body["error"]["code"]
    except (ValueError, KeyError, TypeError):
        pass
    if status >= 500:
        return NetworkProblem(message, code=code, status=status)
    return Refused(message, code=code, status=status)


def _share_or_none(api: Api, share_id: str) -> dict | None:
    response = api.send("GET", f"/api/shares/{share_id}")
    if response.status_code == 404:
        return None
    if response.status_code >= 400:
        raise refusal(response)
    return response.json()


def send(
    *,
    api: Api,
    key: str | None,
    paths: list[str],
    title: str | None,
    expires_in: int | None,
    max_downloads: int | None,
    password: str | None,
    progress,
    note,
) -> dict:
    """Send `paths` as one share (resuming an earlier run of the same files);
    the share as its owner sees it. `progress(total, done)` gives a callable
    advanced by byte counts; `note(text)` tells the user something."""
    files = collect(paths)
    state = State(state_path(api.url, files), len(files))
    share = None
    if state.data["share"]:
        share = _share_or_none(api, state.data["share"])
        if share is None:  # deleted or purged meanwhile: start over
            state.reset()
        elif share["state"] != "uploading":  # completed by the run that was interrupted
            state.forget()
            return share
        else:
            note(t("Resuming the upload of share {share}.", share=share["id"]))
    if share is None:
        options = {"uploading": True}
        for name, value in (
            ("title", title),
            ("expires_in", expires_in),
            ("max_downloads", max_downloads),
            ("password", password),
        ):
            if value is not None:
                options[name] = value
        share = api.call("POST", "/api/shares", json=options)
        state.data["share"] = share["id"]
        state.save()
    share_id = share["id"]
    tus = TusClient(f"{api.url}/api/uploads/", headers=base_headers(key))
    pending = [(file, entry) for file, entry in zip(files, state.data["files"], strict=True) if not entry["done"]]
    done_bytes = sum(file.size for file, entry in zip(files, state.data["files"], strict=True) if entry["done"])
    advance = progress(sum(file.size for file in files), done_bytes)
    try:
        with requests.Session() as session:
            for file, entry in pending:
                _send_file(api, tus, session, state, share_id, file, entry, advance)
    except UploadStalled as error:
        raise stalled(api.url) from error
    except TusCommunicationError as error:
        raise tus_failure(error, api.url) from error
    finished = api.call("PATCH", f"/api/shares/{share_id}", json={"complete": True})
    state.forget()
    return finished


def _send_file(
    api: Api,
    tus: TusClient,
    session: requests.Session,
    state: State,
    share_id: str,
    file: Outgoing,
    entry: dict,
    advance,
) -> None:
    metadata = {"filename": file.name, "share": share_id}
    if file.relative:
        metadata["relativePath"] = file.relative
    options = {
        "file_path": str(file.path),
        "chunk_size": CHUNK_SIZE,
        "metadata": metadata,
        "retries": TUS_RETRIES,
        "retry_delay": TUS_RETRY_DELAY,
        "client": tus,
        "session": session,
    }
    uploader = None
    if entry["url"]:
        try:
            uploader = TimedUploader(url=entry["url"], **options)  # asks the server for the offset (HEAD)
        except TusCommunicationError as error:
            if error.status_code not in (404, 410):
                raise
            # The upload is gone: expired, or completed and forgotten. If its
            # item is in the share, the file arrived; else it starts again.
            share = api.call("GET", f"/api/shares/{share_id}")
            if any(item.get("path") == file.item_path and item.get("size") == file.size for item in share["items"]):
                _finish(state, entry, advance, file.size)
                return
            entry["url"] = None
            state.save()
    if uploader is None:
        uploader = TimedUploader(**options)
        uploader.set_url(uploader.create_url())
        uploader.offset = 0
        entry["url"] = uploader.url
        state.save()
    advance(uploader.offset)
    while uploader.offset < file.size:
        before = uploader.offset
        uploader.upload_chunk()
        advance(uploader.offset - before)
    _finish(state, entry, advance, 0)


def _finish(state: State, entry: dict, advance, size: int) -> None:
    entry["done"] = True
    state.save()
    if size:
        advance(size)
