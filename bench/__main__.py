"""Benchmark Pan the way the README and the production command start it.

    python -m bench                 # Pan on daphne and on uvicorn, the FastAPI tutorial app; ratios
    python -m bench --quick         # small counts and a 5 MiB file, for a smoke run (CI)
    python -m bench --servers daphne
    python -m bench --url URL --username U --password P [--server-pid PID]

For each server: login, short-link redirects, the share page (a visitor
without a session: the page from the cache), short-link creation (a new
URL each request, anonymous), WebSocket
echo, a large upload and its download (with the server's peak resident
memory), the same file as one resumable (tus) upload, and the zip of a
several-file share as large as that file. Then
the same work on the FastAPI tutorial app (bench/fastapi_app.py) and the
machine's ceilings (disk read, nginx sendfile). Prints every figure, then
SPEC §9's ratios against the tutorial app with their aims, and writes JSON
(bench/results/ by default). Every loop is bounded in count and time.
"""

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import hashlib
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from yarl import URL

from .ceilings import Nginx, cat_throughput
from .load import http_load, websocket_echo
from .memory import PeakSampler
from .receipts import mail_env, receipt_rows, smtp_sink

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from project.testing import LiveServer, free_port  # noqa: E402

CHUNK = 1024 * 1024
ZIP_PARTS = 4  # files in the zip-download share; together as large as the single file


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="measure a running server instead of starting one")
    parser.add_argument("--server-pid", type=int, help="with --url: the server's pid, for memory figures")
    parser.add_argument("--username", default="bench-admin")
    parser.add_argument("--password", default="Bench-Password-" + secrets.token_hex(4))
    parser.add_argument(
        "--servers",
        default="daphne,uvicorn",
        help="Pan's servers to measure, comma-separated: daphne (make run), uvicorn (make serve)",
    )
    parser.add_argument("--file-mib", type=int, default=200, help="size of the upload/download file")
    parser.add_argument("--quick", action="store_true", help="small counts and a 5 MiB file")
    parser.add_argument(
        "--tus-chunk-mib", type=int, help="bytes per tus PATCH (default 64 MiB; 1 MiB with --quick, several PATCHes)"
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and client to separate cores")
    parser.add_argument("--no-fastapi", action="store_true", help="skip the FastAPI tutorial app comparison")
    parser.add_argument("--out", type=Path, help="JSON output path (default bench/results/<time>.json)")
    return parser.parse_args(argv)


def make_file(directory: Path, mib: int) -> tuple[Path, str]:
    path = directory / "bench-payload.bin"
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        for _ in range(mib):
            block = os.urandom(CHUNK)
            digest.update(block)
            handle.write(block)
    return path, digest.hexdigest()


def make_parts(directory: Path, mib: int, count: int) -> list[Path]:
    """`count` files of random bytes that together hold exactly `mib` MiB."""
    total = mib * CHUNK
    paths = []
    for number in range(count):
        size = total // count + (total % count if number == count - 1 else 0)
        path = directory / f"bench-part-{number + 1}.bin"
        with open(path, "wb") as handle:
            for start in range(0, size, CHUNK):
                handle.write(os.urandom(min(CHUNK, size - start)))
        paths.append(path)
    return paths


async def api_json(session, method, url, **kwargs):
    async with session.request(method, url, **kwargs) as response:
        body = await response.json(content_type=None)
        if response.status >= 400:
            raise RuntimeError(f"{method} {url} -> {response.status}: {body}")
        return body


async def settled() -> None:
    """Wait until what earlier cases wrote is on disk (outside the timed part),
    so an upload does not pay for the writeback of the one before it (or of
    the payload files) and each upload starts from the same state."""
    await asyncio.to_thread(os.sync)


async def upload(session, url, headers, path: Path, pid) -> tuple[dict, dict]:
    size_mib = path.stat().st_size / 2**20  # noqa: ASYNC240 - one stat, outside the timed part
    await settled()
    async with PeakSampler(pid) as memory:
        started = time.perf_counter()
        with open(path, "rb") as handle:  # noqa: ASYNC230 - aiohttp streams it in chunks
            form = aiohttp.FormData()
            form.add_field("file", handle, filename=path.name, content_type="application/octet-stream")
            created = await api_json(session, "POST", url, data=form, headers=headers)
        seconds = time.perf_counter() - started
    row = {
        "name": f"upload {size_mib:.0f} MiB",
        "mib_per_s": round(size_mib / seconds, 1),
        "seconds": round(seconds, 2),
    }
    row.update(rss_before_mib=round(memory.before, 1), rss_peak_mib=round(memory.peak, 1))
    return row, created


TUS = {"Tus-Resumable": "1.0.0"}


async def file_slice(path: Path, start: int, length: int):
    """`length` bytes of the file from `start`, in 1 MiB reads (a PATCH's streamed body)."""
    with open(path, "rb") as handle:  # noqa: ASYNC230 - page-cached reads of our own file, 1 MiB at a time
        handle.seek(start)
        while length > 0:
            block = handle.read(min(CHUNK, length))
            if not block:
                raise RuntimeError(f"{path} ended {length} bytes early")
            length -= len(block)
            yield block


async def tus_upload(session, base, headers, path: Path, expected_sha: str, pid, chunk: int) -> dict:
    """The file as one tus 1.0.0 upload (docs/uploads.md): a creation, then
    PATCHes of `chunk` bytes streamed from the file, timed together with the
    server's peak resident memory. Checked: every PATCH moves the offset to
    where it should be, the last one names the new share (`Pan-Share`), and
    that share's item has the file's SHA-256 and size."""
    size = path.stat().st_size  # noqa: ASYNC240 - one stat, outside the timed part
    size_mib = size / 2**20
    metadata = "filename " + base64.b64encode(path.name.encode()).decode()
    patches = 0
    share = None
    await settled()
    async with PeakSampler(pid) as memory:
        started = time.perf_counter()
        creation = {**headers, **TUS, "Upload-Length": str(size), "Upload-Metadata": metadata}
        async with session.post(f"{base}/api/uploads/", headers=creation) as response:
            if response.status != 201:
                raise RuntimeError(f"tus creation -> {response.status}: {await response.text()}")
            location = response.url.join(URL(response.headers["Location"]))
        offset = 0
        while offset < size:
            length = min(chunk, size - offset)
            patch = {
                **TUS,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(length),
            }
            async with session.patch(location, headers=patch, data=file_slice(path, offset, length)) as response:
                if response.status != 204:
                    raise RuntimeError(f"tus PATCH at {offset} -> {response.status}: {await response.text()}")
                answered = int(response.headers.get("Upload-Offset", -1))
                if answered != offset + length:
                    raise RuntimeError(f"tus PATCH at {offset}: Upload-Offset {answered}, not {offset + length}")
                share = response.headers.get("Pan-Share")
            offset += length
            patches += 1
        seconds = time.perf_counter() - started
    if share is None:
        raise RuntimeError("tus: the completing PATCH named no share (Pan-Share)")
    stored = await api_json(session, "GET", f"{base}/api/shares/{share}", headers=headers)
    items = stored.get("items", [])
    row = {
        "name": f"tus upload {size_mib:.0f} MiB, {chunk / 2**20:g} MiB PATCHes",
        "mib_per_s": round(size_mib / seconds, 1),
        "seconds": round(seconds, 2),
        "patches": patches,
    }
    row.update(rss_before_mib=round(memory.before, 1), rss_peak_mib=round(memory.peak, 1))
    row["bytes_ok"] = len(items) == 1 and items[0]["size"] == size
    row["sha256_ok"] = len(items) == 1 and items[0]["sha256"] == expected_sha
    return row


async def create_share(session, base, headers, paths: list[Path]) -> dict:
    """A share of several files (`POST /api/shares`, one `file` part each)."""
    with contextlib.ExitStack() as stack:
        form = aiohttp.FormData()
        for path in paths:
            handle = stack.enter_context(open(path, "rb"))  # noqa: ASYNC230 - aiohttp streams it in chunks
            form.add_field("file", handle, filename=path.name, content_type="application/octet-stream")
        return await api_json(session, "POST", f"{base}/api/shares", data=form, headers=headers)


async def download(session, name, url, size_mib, pid, expected_sha=None, headers=None) -> dict:
    """Time one download. With `expected_sha` the bytes are hashed as they
    arrive and checked; without, only counted, so the client's hashing
    (slower than loopback here) does not cap the figure. With `size_mib`
    None (a zip, whose size the server computes) the expected size is the
    response's `Content-Length` and the rate is of the bytes received."""
    digest = hashlib.sha256() if expected_sha else None
    received = 0
    async with PeakSampler(pid) as memory:
        started = time.perf_counter()
        async with session.get(url, headers=headers or {}) as response:
            if response.status != 200:
                raise RuntimeError(f"GET {url} -> {response.status}")
            if size_mib is None:
                expected_bytes = int(response.headers.get("Content-Length", -1))
            else:
                expected_bytes = round(size_mib * 2**20)
            async for chunk in response.content.iter_chunked(CHUNK):
                received += len(chunk)
                if digest:
                    digest.update(chunk)
        seconds = time.perf_counter() - started
    mib = size_mib if size_mib is not None else received / 2**20
    row = {"name": name, "mib_per_s": round(mib / seconds, 1), "seconds": round(seconds, 2)}
    row.update(rss_before_mib=round(memory.before, 1), rss_peak_mib=round(memory.peak, 1))
    row["bytes_ok"] = received == expected_bytes
    if digest:
        row["sha256_ok"] = digest.hexdigest() == expected_sha
    return row


SERVERS = ("daphne", "uvicorn")
TUTORIAL = "tutorial app"

BENCH_ENV = {
    "RATE_LIMIT_ENABLED": "false",
    "LOGIN_FAILURE_LIMIT": "0",
    "LOGIN_CLIENT_FAILURE_LIMIT": "0",
    "PAN_MAX_UPLOAD_SIZE": str(4 * 2**30),
}


@dataclasses.dataclass
class Plan:
    """What every target is asked to do: the same counts, the same files."""

    quick: bool
    pin: bool
    tus_chunk: int
    workdir: Path
    payload: Path
    payload_sha: str
    parts: list[Path]
    username: str
    password: str
    smtp_port: int = 0
    mailbox: object = None  # the SMTP sink's (bench/receipts.py)

    def n(self, full: int, small: int) -> int:
        return small if self.quick else full

    @property
    def file_mib(self) -> int:
        return round(self.payload.stat().st_size / 2**20)

    def http_steps(self) -> dict[str, list[tuple[int, int]]]:
        """(concurrency, requests) for each HTTP case, in the order they run."""
        return {
            "login": [(1, self.n(100, 10)), (8, self.n(200, 20))],
            "short-link redirect": [(1, self.n(2000, 100)), (32, self.n(10000, 300))],
            "share page": [(1, self.n(1000, 50)), (32, self.n(4000, 200))],
            "short-link creation": [(1, self.n(500, 30)), (32, self.n(2000, 100))],
        }

    def pin_server(self, pid: int | None) -> None:
        if self.pin and pid:
            os.sched_setaffinity(pid, {0})


def tagged(rows: list[dict], target: str) -> list[dict]:
    for row in rows:
        row["target"] = target
    return rows


def new_urls():
    """Each request its own URL to shorten (`http_load`'s `json_of`): every one creates a link."""
    tag = secrets.token_hex(4)
    return lambda n: {"url": f"https://example.com/bench/{tag}/{n}"}


async def common_rows(session, plan: Plan, base: str, pid, *, login, redirect, page, create, ws, upload_url, auth):
    """The cases Pan and the tutorial app share, measured the same way on both."""
    rows = []
    paths = {"login": login, "short-link redirect": redirect, "share page": page, "short-link creation": create}
    for name, steps in plan.http_steps().items():
        method, path, expect, kwargs = paths[name]
        for concurrency, total in steps:
            each = {"json_of": new_urls()} if name == "short-link creation" else {}
            result = await http_load(
                session, name, method, base + path, expect=expect,
                concurrency=concurrency, total=total, seconds=20, **kwargs, **each,
            )  # fmt: skip
            rows.append(result.summary())
    for connections, total in ((1, plan.n(5000, 200)), (50, plan.n(25000, 1000))):
        result = await websocket_echo(session, ws, connections=connections, total=total, seconds=20, origin=base)
        rows.append(result.summary())
    row, created = await upload(session, upload_url, auth, plan.payload, pid)
    rows.append(row)
    return rows, created


async def downloads(session, plan: Plan, url: str, pid, headers=None) -> list[dict]:
    """Once with the SHA-256 checked, twice only counted (the figures compared)."""
    mib = plan.file_mib
    rows = [await download(session, f"download {mib} MiB, SHA-256 checked", url, mib, pid, plan.payload_sha, headers)]
    for attempt in (1, 2):
        rows.append(await download(session, f"download {mib} MiB #{attempt}", url, mib, pid, headers=headers))
    return rows


async def measure_pan(plan: Plan, kind: str, args) -> list[dict]:
    """Pan started as `make run` (daphne) or `make serve` (uvicorn) starts it, or a running one (--url)."""
    server = None
    if args.url:
        base, pid = args.url.rstrip("/"), args.server_pid
    else:
        # As `make run` starts it: with a task worker, which sends the receipts to plan.mailbox.
        env = {**BENCH_ENV, **mail_env(plan.smtp_port)}
        server = LiveServer(extra_env=env, server=kind, task_workers=1).start()
        base, pid = server.url, server.procs[0].pid
    plan.pin_server(pid)
    try:
        async with client() as session:
            credentials = {"username": plan.username, "password": plan.password}
            if server:
                await api_json(session, "POST", f"{base}/api/register", json=credentials)
            tokens = await api_json(session, "POST", f"{base}/api/login", json=credentials)
            auth = {"Authorization": f"Bearer {tokens['access']}"}
            link = await api_json(session, "POST", f"{base}/api/short", json={"url": "https://example.com/bench"})
            small = aiohttp.FormData()
            small.add_field("file", b"hello bench\n", filename="hello.txt", content_type="text/plain")
            page_file = await api_json(session, "POST", f"{base}/api/files", data=small, headers=auth)
            rows, created = await common_rows(
                session, plan, base, pid,
                login=("POST", "/api/login", 200, {"json": credentials}),
                redirect=("GET", f"/s/{link['key']}", 302, {}),
                page=("GET", f"/f/{page_file['unique_name']}/", 200, {}),
                # Anonymous, as the tutorial app's: the same-URL lookup, audit and checks still run.
                create=("POST", "/api/short", 201, {}),
                ws=base.replace("http", "ws", 1) + "/ws/echo/",
                upload_url=f"{base}/api/files",
                auth=auth,
            )  # fmt: skip
            # Issue 21: the same file as one resumable (tus) upload, beside the multipart one.
            rows.append(await tus_upload(session, base, auth, plan.payload, plan.payload_sha, pid, plan.tus_chunk))
            content_url = f"{base}/api/files/{created['unique_name']}/content"
            single = await downloads(session, plan, content_url, pid, {"X-Share-Code": created["share_code"]})
            rows += single
            # SPEC §9: a zip of several files (stored, streamed) against the single-file rate.
            share = await create_share(session, base, auth, plan.parts)
            zip_url = f"{base}/api/shares/{share['id']}/zip"
            single_rate = sum(row["mib_per_s"] for row in single[1:]) / 2
            for attempt in (1, 2):
                name = f"zip download {plan.file_mib} MiB, {ZIP_PARTS} files #{attempt}"
                row = await download(session, name, zip_url, None, pid, headers={"X-Share-Code": share["code"]})
                row["vs_single_download"] = round(row["mib_per_s"] / single_rate, 2)
                rows.append(row)
            if server:
                # Issue 23: a drop that queues an e-mail receipt, as its sender waits for it.
                steps = [(1, plan.n(200, 20)), (8, plan.n(400, 40))]
                rows += await receipt_rows(session, base, auth, plan.mailbox, steps=steps)
            if server and kind == SERVERS[0]:
                rows += await redirect_without_statistics(session, plan, kind, rows)
    finally:
        if server:
            server.stop()
    return tagged(rows, kind if not args.url else args.url)


async def redirect_without_statistics(session, plan: Plan, kind: str, rows: list[dict]) -> list[dict]:
    """SPEC §5 / issue 14: the redirect with link statistics on (the rows above)
    against a server of its own with `SHORT_LINK_STATS=false`, in the same run."""
    other = LiveServer(extra_env={**BENCH_ENV, "SHORT_LINK_STATS": "false"}, server=kind).start()
    try:
        plan.pin_server(other.procs[0].pid)
        link = await api_json(session, "POST", f"{other.url}/api/short", json={"url": "https://example.com/bench"})
        name = "short-link redirect, statistics off"
        url = f"{other.url}/s/{link['key']}"
        for concurrency, total in plan.http_steps()["short-link redirect"]:
            # The c=1 run warms up as the server above was warmed: connections, caches, code paths.
            result = await http_load(
                session, name, "GET", url, expect=302, concurrency=concurrency, total=total, seconds=20
            )
        off = result.summary()
    finally:
        other.stop()
    on = next(row for row in rows if row["name"] == "short-link redirect" and row.get("concurrency") == 32)
    off["statistics_on_vs_off"] = round(on["rps"] / off["rps"], 2) if off.get("rps") else None
    return [off]


async def tutorial_started(directory: Path, username: str, password: str) -> tuple[subprocess.Popen, str, dict]:
    """The FastAPI tutorial app (bench/fastapi_app.py) under uvicorn on a free port, seeded with
    `username`'s account, a short link and a file; its process, base URL and that user's token."""
    env = {**os.environ, "BENCH_FASTAPI_DIR": str(directory), "BENCH_FASTAPI_SECRET": secrets.token_urlsafe(32)}
    seed = "from bench import fastapi_app as a; a.create(short_key='bench001', file_unique='unique-bench', "
    seed += f"username={username!r}, password={password!r})"
    subprocess.run([sys.executable, "-c", seed], cwd=BASE_DIR, env=env, check=True)  # noqa: ASYNC221 - before timing
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.fastapi_app:app", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--loop", "uvloop", "--http", "httptools", "--ws", "websockets", "--no-access-log"]
    command += ["--log-level", "warning"]
    process = subprocess.Popen(command, cwd=BASE_DIR, env=env)  # noqa: ASYNC220 - our own app, started once
    base = f"http://127.0.0.1:{port}"
    async with client() as session:
        for _ in range(100):
            try:
                async with session.get(base + "/f/unique-bench/") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
        token = await api_json(session, "POST", f"{base}/token", data={"username": username, "password": password})
    return process, base, token


async def measure_tutorial(plan: Plan) -> list[dict]:
    """The same cases on the FastAPI tutorial app (bench/fastapi_app.py) under uvicorn."""
    try:
        import fastapi  # noqa: F401
    except ImportError:
        return [{"name": "FastAPI tutorial app", "target": TUTORIAL, "skipped": "fastapi is not installed"}]
    process, base, token = await tutorial_started(plan.workdir / "tutorial", plan.username, plan.password)
    try:
        async with client() as session:
            plan.pin_server(process.pid)
            credentials = {"username": plan.username, "password": plan.password}
            rows, created = await common_rows(
                session, plan, base, process.pid,
                login=("POST", "/token", 200, {"data": credentials}),
                redirect=("GET", "/s/bench001", 302, {}),
                page=("GET", "/f/unique-bench/", 200, {}),
                create=("POST", "/links/", 201, {}),
                ws=base.replace("http", "ws", 1) + "/ws/echo/",
                upload_url=f"{base}/files/",
                auth={"Authorization": f"Bearer {token['access_token']}"},
            )  # fmt: skip
            rows += await downloads(session, plan, f"{base}/files/{created['filename']}", process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)  # noqa: ASYNC222 - a moment at the end
    return tagged(rows, TUTORIAL)


async def ceilings(plan: Plan) -> list[dict]:
    mib = plan.file_mib
    rows = [{"name": f"cat {mib} MiB > /dev/null", "mib_per_s": round(cat_throughput(plan.payload), 1)}]
    nginx = Nginx(plan.workdir)
    if not nginx.available:
        return tagged([*rows, {"name": "nginx sendfile", "skipped": "nginx is not installed"}], "ceiling")
    nginx.start()
    try:
        async with client() as session:
            rows.append(await download(session, "nginx sendfile", nginx.url(plan.payload.name), mib, None))
    finally:
        nginx.stop()
    return tagged(rows, "ceiling")


def client() -> aiohttp.ClientSession:
    """A fresh client (and cookie jar) per target: one server's cookies never reach another."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=600))


async def run(args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="pan-bench-"))
    os.chmod(workdir, 0o755)  # noqa: S103 - nginx workers (user nobody) read the payload here
    file_mib = 5 if args.quick else args.file_mib
    payload, sha = make_file(workdir, file_mib)
    plan = Plan(
        quick=args.quick,
        pin=not args.no_pin and (os.cpu_count() or 1) >= 2,
        tus_chunk=(args.tus_chunk_mib or (1 if args.quick else 64)) * CHUNK,
        workdir=workdir,
        payload=payload,
        payload_sha=sha,
        parts=make_parts(workdir, file_mib, ZIP_PARTS),
        username=args.username,
        password=args.password,
    )
    if plan.pin:
        os.sched_setaffinity(0, set(range(1, os.cpu_count())))
    servers = ["url"] if args.url else [name.strip() for name in args.servers.split(",") if name.strip()]
    unknown = set(servers) - {*SERVERS, "url"}
    if unknown:
        raise SystemExit(f"unknown server(s): {', '.join(sorted(unknown))} (choose from {', '.join(SERVERS)})")
    rows: list[dict] = []
    plan.smtp_port = free_port()
    try:
        with smtp_sink(plan.smtp_port) as plan.mailbox:
            for kind in servers:
                rows += await measure_pan(plan, kind, args)
        if not args.no_fastapi:
            rows += await measure_tutorial(plan)
        rows += await ceilings(plan)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "servers": servers,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "pinned": plan.pin,
        "rows": rows,
    }
    report["ratios"] = ratios(report)
    return report


def find(rows, target, name, concurrency=None) -> dict | None:
    for row in rows:
        if row.get("target") == target and row["name"] == name and "skipped" not in row:
            if concurrency is None or row.get("concurrency") == concurrency:
                return row
    return None


def counted_download(rows, target) -> float | None:
    """The mean of the two counted downloads (#1, #2) of a target."""
    matching = [
        row["mib_per_s"]
        for row in rows
        if row.get("target") == target and row["name"].startswith("download ") and " MiB #" in row["name"]
    ]
    return sum(matching) / len(matching) if matching else None


# SPEC §9's aims (issue 15 adds 0.6× for the share page on daphne): (case, row, concurrency, field, better, aim).
# `better` says which way is good: "higher" (ratio ≥ aim) or "lower" (ratio ≤ aim).
CASES = [
    ("short-link redirect rps (c=32)", "short-link redirect", 32, "rps", "higher", 1.5),
    ("short-link redirect p99 ms (c=32)", "short-link redirect", 32, "p99_ms", "lower", 1.0),
    ("share page rps (c=32)", "share page", 32, "rps", "higher", {"daphne": 0.6, "uvicorn": 1.0}),
    ("share page p99 ms (c=32)", "share page", 32, "p99_ms", "lower", 1.0),
    ("short-link creation rps (c=32)", "short-link creation", 32, "rps", "higher", 1.0),
    ("short-link creation p99 ms (c=32)", "short-link creation", 32, "p99_ms", "lower", None),
    ("upload MiB/s", "upload", None, "mib_per_s", "higher", 1.0),
    ("download MiB/s", "download", None, "mib_per_s", "higher", 2.0),
    ("WebSocket echo, 1 connection (round trips/s)", "websocket echo x1", 1, "rps", "higher", 0.5),
    ("WebSocket echo, 50 connections (round trips/s)", "websocket echo x50", 50, "rps", "higher", 0.5),
    ("login rps (c=8)", "login", 8, "rps", "higher", 5.0),
]


def figure(rows, target, name, concurrency, field) -> float | None:
    if name == "download":
        return counted_download(rows, target)
    if name == "upload":
        row = next((r for r in rows if r.get("target") == target and r["name"].startswith("upload ")), None)
    else:
        row = find(rows, target, name, concurrency)
    return row.get(field) if row else None


def ratios(report: dict) -> list[dict]:
    """Each case: the tutorial app's figure, each server's, the ratio and whether the aim is met."""
    rows = report["rows"]
    out = []
    for case, name, concurrency, field, better, aim in CASES:
        line = {"case": case, TUTORIAL: figure(rows, TUTORIAL, name, concurrency, field)}
        for server in report["servers"]:
            value = figure(rows, server, name, concurrency, field)
            line[server] = value
            base = line[TUTORIAL]
            ratio = round(value / base, 2) if value is not None and base else None
            line[f"{server} ratio"] = ratio
            wanted = aim.get(server) if isinstance(aim, dict) else aim
            if ratio is not None and wanted is not None:
                line[f"{server} aim"] = wanted
                line[f"{server} met"] = ratio >= wanted if better == "higher" else ratio <= wanted
        out.append(line)
    nginx = find(rows, "ceiling", "nginx sendfile")
    for server in report["servers"]:
        rate = counted_download(rows, server)
        if nginx and rate:
            ratio = round(rate / nginx["mib_per_s"], 2)
            out.append(alone(f"download vs nginx sendfile ({server})", ratio, 0.5, ratio >= 0.5))
        zips = [r["vs_single_download"] for r in rows if r.get("target") == server and "vs_single_download" in r]
        if zips:
            ratio = min(zips)
            out.append(alone(f"zip vs single download ({server})", ratio, 0.5, ratio >= 0.5))
        up = next((r for r in rows if r.get("target") == server and r["name"].startswith("upload ")), None)
        if up:
            growth = round(up["rss_peak_mib"] - up["rss_before_mib"], 1)
            out.append(alone(f"upload: server memory growth, MiB ({server})", growth, "< 32", growth < 32))
        tus = next((r for r in rows if r.get("target") == server and r["name"].startswith("tus upload ")), None)
        if tus and up:
            ratio = round(tus["mib_per_s"] / up["mib_per_s"], 2)
            out.append(alone(f"tus upload / multipart upload ({server})", ratio, 1.0, ratio >= 1.0))
        if tus:
            growth = round(tus["rss_peak_mib"] - tus["rss_before_mib"], 1)
            out.append(alone(f"tus upload: server memory growth, MiB ({server})", growth, "< 32", growth < 32))
    return out


def alone(case: str, ratio, aim, met: bool) -> dict:
    """A case of one server alone (no tutorial-app counterpart)."""
    return {"case": case, "ratio": ratio, "aim": aim, "met": met}


def table(report: dict) -> str:
    columns = ("conc", 5), ("reqs", 7), ("rps", 9), ("p50 ms", 8), ("p99 ms", 8), ("MiB/s", 8), ("RSS MiB", 15)
    header = f"{'target':<13} {'measurement':<36} " + " ".join(f"{title:>{width}}" for title, width in columns)
    lines = [header, "-" * len(header)]
    for row in report["rows"]:
        lead = f"{row.get('target', ''):<13} {row['name']:<36}"
        if "skipped" in row:
            lines.append(f"{lead} skipped: {row['skipped']}")
            continue
        rss = ""
        if "rss_peak_mib" in row and row["rss_peak_mib"] == row["rss_peak_mib"]:  # not NaN
            rss = f"{row['rss_before_mib']:.0f}->{row['rss_peak_mib']:.0f}"
        lines.append(
            f"{lead} {row.get('concurrency', ''):>5} {row.get('requests', ''):>7} "
            f"{row.get('rps', ''):>9} {row.get('p50_ms', ''):>8} {row.get('p99_ms', ''):>8} "
            f"{row.get('mib_per_s', ''):>8} {rss:>15}"
            + ("" if row.get("errors", 0) == 0 else f"  errors={row['errors']}")
            + ("" if row.get("sha256_ok", True) else "  SHA-256 MISMATCH")
            + ("" if row.get("bytes_ok", True) else "  SIZE MISMATCH")
            + (f"  {row['vs_single_download']}x single-file" if "vs_single_download" in row else "")
            + (f"  on/off {row['statistics_on_vs_off']}" if "statistics_on_vs_off" in row else "")
            + (f"  receipts sent {row['receipts_received']}" if "receipts_received" in row else "")
        )
    return "\n".join(lines)


def ratio_table(report: dict) -> str:
    """SPEC §9's comparison, as the issue tracker prints it: figure, ratio, aim."""
    servers = report["servers"]
    header = f"{'case':<48} {TUTORIAL:>12}" + "".join(f" {s:>10} {'ratio':>6} {'aim':>7}" for s in servers)
    lines = [header, "-" * len(header)]
    for line in report["ratios"]:
        if "ratio" in line:  # a case of one server alone
            mark = "ok" if line["met"] else "MISSED"
            lines.append(f"{line['case']:<48} {'':>12} {line['ratio']:>10} {mark:>6} {line['aim']:>7}")
            continue
        text = f"{line['case']:<48} {fmt(line[TUTORIAL]):>12}"
        for server in servers:
            ratio = line.get(f"{server} ratio")
            aim = line.get(f"{server} aim")
            met = line.get(f"{server} met")
            aim_text = "" if aim is None else (("≥" if "p99" not in line["case"] else "≤") + f"{aim}")
            if met is False:
                aim_text += " ✗"
            text += f" {fmt(line.get(server)):>10} {fmt(ratio):>6} {aim_text:>7}"
        lines.append(text)
    return "\n".join(lines)


def fmt(value) -> str:
    if value is None:
        return "—"
    return f"{value:,.1f}" if isinstance(value, float) and value >= 10 else str(value)


def main(argv=None) -> int:
    args = parse_args(argv)
    report = asyncio.run(run(args))
    out = args.out or BASE_DIR / "bench" / "results" / f"{report['date'].replace(':', '')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    sys.stdout.write(table(report) + "\n\n" + ratio_table(report) + f"\n\nJSON: {out}\n")
    failed = any(
        row.get("errors") or row.get("sha256_ok") is False or row.get("bytes_ok") is False for row in report["rows"]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
