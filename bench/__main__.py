"""Benchmark Pan the way the README starts it.

    python -m bench                 # start daphne (embedded default) and measure
    python -m bench --quick         # small sizes, for a smoke run
    python -m bench --url URL --username U --password P [--server-pid PID]

Measures short-link redirects, the file page, login, a large upload and
download (with the server's peak resident memory), the same number of bytes
as the zip of a several-file share, WebSocket echo, and the machine's own
ceilings (disk read, nginx sendfile). Every loop is bounded in
count and time. Prints a table and writes JSON (bench/results/ by default).
"""

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from .ceilings import Nginx, cat_throughput
from .load import http_load, websocket_echo
from .memory import PeakSampler

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
    parser.add_argument("--server", choices=["daphne", "uvicorn"], default="daphne")
    parser.add_argument("--file-mib", type=int, default=200, help="size of the upload/download file")
    parser.add_argument("--quick", action="store_true", help="small counts and a 5 MiB file")
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


async def upload(session, base, headers, path: Path, pid) -> tuple[dict, dict]:
    size_mib = path.stat().st_size / 2**20  # noqa: ASYNC240 - one stat, outside the timed part
    async with PeakSampler(pid) as memory:
        started = time.perf_counter()
        with open(path, "rb") as handle:  # noqa: ASYNC230 - aiohttp streams it in chunks
            form = aiohttp.FormData()
            form.add_field("file", handle, filename=path.name, content_type="application/octet-stream")
            created = await api_json(session, "POST", f"{base}/api/files", data=form, headers=headers)
        seconds = time.perf_counter() - started
    row = {
        "name": f"upload {size_mib:.0f} MiB",
        "mib_per_s": round(size_mib / seconds, 1),
        "seconds": round(seconds, 2),
    }
    row.update(rss_before_mib=round(memory.before, 1), rss_peak_mib=round(memory.peak, 1))
    return row, created


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


async def run(args) -> dict:
    quick = args.quick
    file_mib = 5 if quick else args.file_mib
    n = lambda full, small: small if quick else full  # noqa: E731
    server = None
    workdir = Path(tempfile.mkdtemp(prefix="pan-bench-"))
    os.chmod(workdir, 0o755)  # noqa: S103 - nginx workers (user nobody) read the payload here
    if args.url:
        base, pid = args.url.rstrip("/"), args.server_pid
    else:
        server = LiveServer(extra_env=BENCH_ENV, server=args.server).start()
        base, pid = server.url, server.procs[0].pid
    if pid and not args.no_pin and os.cpu_count() and os.cpu_count() >= 2:
        os.sched_setaffinity(pid, {0})
        os.sched_setaffinity(0, set(range(1, os.cpu_count())))

    rows: list[dict] = []
    try:
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=600)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            if server:
                await api_json(
                    session, "POST", f"{base}/api/register", json={"username": args.username, "password": args.password}
                )
            tokens = await api_json(
                session, "POST", f"{base}/api/login", json={"username": args.username, "password": args.password}
            )
            auth = {"Authorization": f"Bearer {tokens['access']}"}

            link = await api_json(session, "POST", f"{base}/api/short", json={"url": "https://example.com/bench"})
            small = aiohttp.FormData()
            small.add_field("file", b"hello bench\n", filename="hello.txt", content_type="text/plain")
            page_file = await api_json(session, "POST", f"{base}/api/files", data=small, headers=auth)

            login_body = {"username": args.username, "password": args.password}
            http_scenarios = [
                ("login", "POST", "/api/login", 200, {"json": login_body}, [(1, n(100, 10)), (8, n(200, 20))]),
                ("short-link redirect", "GET", f"/s/{link['key']}", 302, {}, [(1, n(2000, 100)), (32, n(10000, 300))]),
                (
                    "file page",
                    "GET",
                    f"/f/{page_file['unique_name']}/",
                    200,
                    {},
                    [(1, n(1000, 50)), (32, n(4000, 200))],
                ),
            ]
            for name, method, path, expect, kwargs, steps in http_scenarios:
                for concurrency, total in steps:
                    result = await http_load(
                        session, name, method, base + path, expect=expect,
                        concurrency=concurrency, total=total, seconds=20, **kwargs,
                    )  # fmt: skip
                    rows.append(result.summary())

            if server:
                rows += await redirect_without_statistics(session, args, n, rows)

            if not args.no_fastapi:
                rows += await fastapi_rows(session, workdir, n, pin=bool(pid and not args.no_pin))

            ws_url = base.replace("http", "ws", 1) + "/ws/echo/"
            for connections, total in ((1, n(5000, 200)), (50, n(25000, 1000))):
                result = await websocket_echo(
                    session, ws_url, connections=connections, total=total, seconds=20, origin=base
                )
                rows.append(result.summary())

            path, sha = make_file(workdir, file_mib)
            row, created = await upload(session, base, auth, path, pid)
            rows.append(row)
            content_url = f"{base}/api/files/{created['unique_name']}/content"
            code = {"X-Share-Code": created["share_code"]}
            checked = f"download {file_mib} MiB, SHA-256 checked"
            rows.append(await download(session, checked, content_url, file_mib, pid, sha, headers=code))
            single = []
            for attempt in (1, 2):
                name = f"download {file_mib} MiB #{attempt}"
                single.append(await download(session, name, content_url, file_mib, pid, headers=code))
            rows += single
            # SPEC §9: a zip of several files (stored, streamed) against the single-file rate.
            share = await create_share(session, base, auth, make_parts(workdir, file_mib, ZIP_PARTS))
            zip_url = f"{base}/api/shares/{share['id']}/zip"
            single_rate = sum(row["mib_per_s"] for row in single) / len(single)
            for attempt in (1, 2):
                name = f"zip download {file_mib} MiB, {ZIP_PARTS} files #{attempt}"
                row = await download(session, name, zip_url, None, pid, headers={"X-Share-Code": share["code"]})
                row["vs_single_download"] = round(row["mib_per_s"] / single_rate, 2)
                rows.append(row)

            rows.append(
                {"name": f"ceiling: cat {file_mib} MiB > /dev/null", "mib_per_s": round(cat_throughput(path), 1)}
            )
            nginx = Nginx(workdir)
            if nginx.available:
                nginx.start()
                try:
                    rows.append(
                        await download(session, "ceiling: nginx sendfile", nginx.url(path.name), file_mib, None)
                    )
                finally:
                    nginx.stop()
            else:
                rows.append({"name": "ceiling: nginx sendfile", "skipped": "nginx is not installed"})
    finally:
        if server:
            server.stop()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "server": args.server if not args.url else args.url,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "pinned": bool(pid and not args.no_pin),
        "rows": rows,
    }


BENCH_ENV = {
    "RATE_LIMIT_ENABLED": "false",
    "LOGIN_FAILURE_LIMIT": "0",
    "LOGIN_CLIENT_FAILURE_LIMIT": "0",
    "PAN_MAX_UPLOAD_SIZE": str(4 * 2**30),
}


async def redirect_without_statistics(session, args, n, rows: list[dict]) -> list[dict]:
    """SPEC §5 / issue 14: the redirect with link statistics on (the rows above)
    against a server of its own with `SHORT_LINK_STATS=false`, in the same run."""
    other = LiveServer(extra_env={**BENCH_ENV, "SHORT_LINK_STATS": "false"}, server=args.server).start()
    try:
        if not args.no_pin and os.cpu_count() and os.cpu_count() >= 2:
            os.sched_setaffinity(other.procs[0].pid, {0})
        link = await api_json(session, "POST", f"{other.url}/api/short", json={"url": "https://example.com/bench"})
        name = "short-link redirect, statistics off"
        # Warmed up as the server above was (its c=1 run): connections, caches, code paths.
        await http_load(
            session, name, "GET", f"{other.url}/s/{link['key']}", expect=302,
            concurrency=1, total=n(2000, 100), seconds=20,
        )  # fmt: skip
        result = await http_load(
            session, name, "GET", f"{other.url}/s/{link['key']}", expect=302,
            concurrency=32, total=n(10000, 300), seconds=20,
        )  # fmt: skip
        off = result.summary()
    finally:
        other.stop()
    on = next(row for row in rows if row["name"] == "short-link redirect" and row.get("concurrency") == 32)
    off["statistics_on_vs_off"] = round(on["rps"] / off["rps"], 2) if off.get("rps") else None
    return [off]


async def fastapi_rows(session, workdir: Path, n, pin: bool) -> list[dict]:
    """Redirect and page of the FastAPI tutorial app (bench/fastapi_app.py) under uvicorn."""
    try:
        import fastapi  # noqa: F401
    except ImportError:
        return [{"name": "FastAPI tutorial app", "skipped": "fastapi is not installed (make setup-dev)"}]
    from . import fastapi_app

    database = workdir / "fastapi.sqlite3"
    fastapi_app.create(str(database), "bench001", "unique-bench")
    port = free_port()
    env = {**os.environ, "BENCH_FASTAPI_DB": str(database)}
    command = [sys.executable, "-m", "uvicorn", "bench.fastapi_app:app", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=BASE_DIR, env=env)  # noqa: S603, ASYNC220 - our own app, started once
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        for _ in range(100):
            try:
                async with session.get(base + "/f/unique-bench/") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
        if pin:
            os.sched_setaffinity(process.pid, {0})
        scenarios = [
            ("FastAPI: short-link redirect", "/s/bench001", 302, [(1, n(2000, 100)), (32, n(10000, 300))]),
            ("FastAPI: file page", "/f/unique-bench/", 200, [(1, n(1000, 50)), (32, n(4000, 200))]),
        ]
        for name, path, expect, steps in scenarios:
            for concurrency, total in steps:
                result = await http_load(
                    session, name, "GET", base + path, expect=expect, concurrency=concurrency, total=total, seconds=20
                )
                rows.append(result.summary())
    finally:
        process.terminate()
        process.wait(timeout=10)
    return rows


def table(report: dict) -> str:
    columns = ("conc", 5), ("reqs", 7), ("rps", 9), ("p50 ms", 8), ("p99 ms", 8), ("MiB/s", 8), ("RSS MiB", 15)
    header = f"{'measurement':<36} " + " ".join(f"{title:>{width}}" for title, width in columns)
    lines = [header, "-" * len(header)]
    for row in report["rows"]:
        if "skipped" in row:
            lines.append(f"{row['name']:<36} skipped: {row['skipped']}")
            continue
        rss = ""
        if "rss_peak_mib" in row and row["rss_peak_mib"] == row["rss_peak_mib"]:  # not NaN
            rss = f"{row['rss_before_mib']:.0f}->{row['rss_peak_mib']:.0f}"
        lines.append(
            f"{row['name']:<36} {row.get('concurrency', ''):>5} {row.get('requests', ''):>7} "
            f"{row.get('rps', ''):>9} {row.get('p50_ms', ''):>8} {row.get('p99_ms', ''):>8} "
            f"{row.get('mib_per_s', ''):>8} {rss:>15}"
            + ("" if row.get("errors", 0) == 0 else f"  errors={row['errors']}")
            + ("" if row.get("sha256_ok", True) else "  SHA-256 MISMATCH")
            + ("" if row.get("bytes_ok", True) else "  SIZE MISMATCH")
            + (f"  {row['vs_single_download']}x single-file" if "vs_single_download" in row else "")
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    report = asyncio.run(run(args))
    out = args.out or BASE_DIR / "bench" / "results" / f"{report['date'].replace(':', '')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    sys.stdout.write(table(report) + f"\n\nJSON: {out}\n")
    failed = any(
        row.get("errors") or row.get("sha256_ok") is False or row.get("bytes_ok") is False for row in report["rows"]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
