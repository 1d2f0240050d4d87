"""`pan get`: a share's items (or its zip) into a folder, resumable.

A code or a link is resolved through the pickup API (`POST /api/pickup`),
which answers the share's items with their SHA-256. Each item is written to
`NAME.part` beside where it belongs and renamed when complete and checked. A
`NAME.part` left by an earlier run is continued with `Range: bytes=N-` and
`If-Range` (the item's ETag, its SHA-256): if the item changed, the server
sends it whole. After the last byte the whole file's SHA-256 is compared with
the API's; when a continued download does not match (the `.part` was
damaged), it is fetched once more from zero; when a download from zero does
not match, the file is removed and the command ends with exit code 2.
"""

import contextlib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from .api import Api, network_problem, refusal
from .errors import NetworkProblem, Refused, UsageProblem
from .texts import t

# A share code as people write it: 8 letters and digits, a dash in the middle or not.
CODE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z0-9]{4})-?([A-Za-z0-9]{4})(?![A-Za-z0-9])")
SHARE_PATH = re.compile(r"/f/([^/?#]+)")
BLOCK = 256 * 1024


@dataclass(frozen=True)
class Target:
    server: str | None  # from a link; None: the configured server
    text: str  # what the user gave
    code: str | None
    share_id: str | None


def target_of(text: str) -> Target:
    """What `pan get` was given: a share link (its server, `?code=` and id) or a code."""
    text = text.strip()
    if "://" in text:
        parts = urlsplit(text)
        codes = parse_qs(parts.query).get("code") or [None]
        found = SHARE_PATH.search(parts.path)
        return Target(f"{parts.scheme}://{parts.netloc}", text, codes[0], found.group(1) if found else None)
    match = CODE.search(text)
    if match is None:
        raise UsageProblem(t("No share code or share link in {text}.", text=text), code="no_code")
    return Target(None, text, (match.group(1) + match.group(2)).upper(), None)


def open_share(api: Api, target: Target, ask_password) -> tuple[dict, str | None]:
    """(the share with its items, its password or None). `ask_password()` is called when one is needed."""
    password = None
    # A link goes to the pickup whole (it names its share); a code alone as read here.
    pasted = target.text if target.server else target.code
    if target.code:
        share = api.call("POST", "/api/pickup", json={"code": pasted})
    elif target.share_id and api.key:  # a link without its code: the owner's, or a listed share
        share = api.call("GET", f"/api/shares/{quote(target.share_id)}")
    else:  # the server says why this opens nothing
        share = api.call("POST", "/api/pickup", json={"code": target.text})
    if share.get("kind") == "request":
        raise Refused(
            t("This code belongs to a drop-off request, not a share: open {url} to send files.", url=share.get("url")),
            code="request_code",
        )
    if share.get("locked") and share.get("has_password"):
        password = ask_password()
        if target.code:
            share = api.call("POST", "/api/pickup", json={"code": pasted, "password": password})
        else:
            share = api.call(
                "GET", f"/api/shares/{quote(target.share_id)}", headers={"X-Share-Password": password.encode()}
            )
    if share.get("locked"):
        raise Refused(share.get("title") or share.get("id") or "locked", code="locked")
    return share, password


def safe_relative(path: str) -> Path:
    """An item's path as a path under the output folder; anything that could leave it is refused."""
    parts = PurePosixPath(path).parts
    bad = (
        not parts
        or path.startswith("/")
        or "\\" in path
        or "\x00" in path
        or any(part in ("", ".", "..") or ":" in part for part in parts)
    )
    if bad:
        raise Refused(t("The server gave an unsafe item path: {path}", path=path), code="unsafe_path")
    return Path(*parts)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def download_headers(code: str | None, password: str | None) -> dict:
    headers = {}
    if code:
        headers["X-Share-Code"] = code
    if password:
        headers["X-Share-Password"] = password.encode()
    return headers


@contextlib.contextmanager
def _transfer(api: Api, name: str):
    """A download of `name`: the network's failures as the client's errors (exit 3)."""
    try:
        yield
    except httpx.ConnectError as error:
        raise network_problem(api.url, error) from error
    except httpx.TransportError as error:
        raise NetworkProblem(
            t("The connection dropped while downloading {name}; run the same command again to resume.", name=name),
            code="connection_dropped",
        ) from error


def _write(response: httpx.Response, part: Path, mode: str, advance) -> None:
    """The answer's body into `part` (`mode` "ab" to append, "wb" from the start), counted as it comes."""
    with open(part, mode) as handle:
        for block in response.iter_bytes(BLOCK):
            handle.write(block)
            advance(len(block))


def _fetch(api: Api, path: str, headers: dict, part: Path, offset: int, etag: str | None, advance, name: str) -> None:
    """Write the bytes of `path` from `offset` into `part` (appending to its first `offset` bytes)."""
    headers = dict(headers)
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if etag:
            headers["If-Range"] = etag
    with _transfer(api, name):
        with api.http.stream("GET", path, headers=headers) as response:
            if response.status_code == 416:  # the .part is longer than the item: start again
                part.unlink(missing_ok=True)
                advance(-offset)
                response.close()
                _fetch(
                    api,
                    path,
                    headers={k: v for k, v in headers.items() if k not in ("Range", "If-Range")},
                    part=part,
                    offset=0,
                    etag=etag,
                    advance=advance,
                    name=name,
                )
                return
            if response.status_code >= 400:
                response.read()
                raise refusal(response)
            if response.status_code == 206:
                mode = "ab"
            else:  # the whole item: the range was not honoured (or If-Range did not match)
                mode = "wb"
                advance(-offset)
            _write(response, part, mode, advance)


def download_item(api: Api, share: dict, item: dict, out_dir: Path, headers: dict, advance, note) -> Path:
    """One item into `out_dir`, checked; its path there."""
    name = item.get("path") or item.get("name") or str(item["id"])
    destination = out_dir / safe_relative(name)
    size, expected = item["size"], item.get("sha256")
    if destination.exists():
        if destination.is_file() and destination.stat().st_size == size and file_sha256(destination) == expected:
            note(t("{path}: already downloaded.", path=destination))
            advance(size)
            return destination
        raise UsageProblem(
            t("{path} exists with other content; move it away or choose another folder with -o.", path=destination),
            code="exists",
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    part = destination.with_name(destination.name + ".part")
    url = f"/api/shares/{quote(share['id'])}/items/{item['id']}/content"
    etag = f'"{expected}"' if expected else None
    for attempt in range(2):
        offset = part.stat().st_size if part.exists() else 0
        if offset > size:
            part.unlink()
            offset = 0
        advance(offset)
        if offset < size or not part.exists():
            _fetch(api, url, headers, part, offset, etag, advance, name)
        if expected is None or file_sha256(part) == expected:
            part.replace(destination)
            return destination
        part.unlink()
        advance(-size)
        if offset and attempt == 0:
            note(t("{name}: the partial download did not match; downloading it again from the start.", name=name))
            continue
        break
    raise Refused(
        t("The download of {name} did not match its SHA-256: {path} was removed.", name=name, path=part),
        code="checksum_mismatch",
    )


def download_zip(api: Api, share: dict, out_dir: Path, headers: dict, progress) -> Path:
    """All items as one zip, `<share id>.zip` (not resumable: a zip is made as it is sent)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    destination = out_dir / f"{share['id']}.zip"
    part = destination.with_name(destination.name + ".part")
    with _transfer(api, destination.name):
        with api.http.stream("GET", f"/api/shares/{quote(share['id'])}/zip", headers=headers) as response:
            if response.status_code >= 400:
                response.read()
                raise refusal(response)
            _write(response, part, "wb", progress(int(response.headers.get("Content-Length") or 0), 0))
    part.replace(destination)
    return destination
