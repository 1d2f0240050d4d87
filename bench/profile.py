"""Where one kind of request spends the server's time: a py-spy profile under load.

    python -m bench.profile page        # the share page, on daphne
    python -m bench.profile redirect --server uvicorn
    python -m bench.profile download --seconds 10
    python -m bench.profile short       # short-link creation (POST /api/short, a new URL each)
    python -m bench.profile short --server fastapi   # the tutorial app's POST /links/ (rate only)
    python -m bench.profile upload --gil   # 64 MiB multipart uploads (POST /api/files), one at a time

Starts Pan as the bench does (its own database and media, rate limits off),
creates what the case needs, loads it from the other core for `--seconds`
while py-spy samples every thread of the server, and prints the functions
that hold the most samples (inclusive and own), a count of thread
hand-offs per request, and the server's rate during the profile. The raw
collapsed stacks go to `--out` (a flame graph tool reads them).
"""

import argparse
import asyncio
import collections
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from .__main__ import BENCH_ENV, api_json, client
from .load import http_load

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from project.testing import LiveServer, free_port  # noqa: E402

CASES = ("page", "redirect", "download", "short", "upload")
UPLOAD_BYTES = 64 * 2**20


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("case", choices=CASES)
    parser.add_argument(
        "--server",
        choices=["daphne", "uvicorn", "fastapi"],
        default="daphne",
        help="fastapi: the bench's tutorial app under uvicorn, its `short` counterpart (POST /links/), rate only",
    )
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--rate-only", action="store_true", help="no profiler: the case's rate alone")
    parser.add_argument("--gil", action="store_true", help="sample only the thread holding the GIL: where the CPU goes")
    parser.add_argument("--out", type=Path, help="collapsed stacks (default: a temporary file)")
    return parser.parse_args(argv)


async def prepare(base: str, case: str) -> tuple[str, dict]:
    """(url, headers) of one request of the case."""
    credentials = {"username": "profile-admin", "password": "Profile-Password-1"}
    async with client() as session:
        await api_json(session, "POST", f"{base}/api/register", json=credentials)
        tokens = await api_json(session, "POST", f"{base}/api/login", json=credentials)
        auth = {"Authorization": f"Bearer {tokens['access']}"}
        if case == "short":
            return f"{base}/api/short", {}
        if case == "upload":
            return f"{base}/api/files", auth
        if case == "redirect":
            link = await api_json(session, "POST", f"{base}/api/short", json={"url": "https://example.com/p"})
            return f"{base}/s/{link['key']}", {}
        form = aiohttp.FormData()
        body = os.urandom(64 * 2**20) if case == "download" else b"hello profile\n"
        form.add_field("file", body, filename="hello.txt", content_type="text/plain")
        created = await api_json(session, "POST", f"{base}/api/files", data=form, headers=auth)
        if case == "download":
            return f"{base}/api/files/{created['unique_name']}/content", {"X-Share-Code": created["share_code"]}
        return f"{base}/f/{created['unique_name']}/", {}


class Uploads:
    """The upload case's figures, in the shape `http_load`'s result prints."""

    def __init__(self, seconds: float, sizes: list[int]):
        self.requests, self.seconds, self.sizes = len(sizes), seconds, sizes

    def summary(self) -> dict:
        mib = sum(self.sizes) / 2**20
        return {"name": "upload", "requests": self.requests, "seconds": round(self.seconds, 2),
                "mib_per_s": round(mib / self.seconds, 1) if self.seconds else 0.0}  # fmt: skip


async def upload_load(url: str, headers: dict, seconds: float) -> Uploads:
    """One 64 MiB multipart upload after another (the bench's upload case, smaller), for `seconds`."""
    payload = os.urandom(UPLOAD_BYTES)
    sizes, started = [], time.monotonic()
    async with client() as session:
        while time.monotonic() - started < seconds:
            form = aiohttp.FormData()
            form.add_field("file", payload, filename="profile.bin", content_type="application/octet-stream")
            async with session.post(url, data=form, headers=headers) as answer:
                if answer.status != 201:
                    raise SystemExit(f"upload answered {answer.status}: {(await answer.text())[:300]}")
            sizes.append(UPLOAD_BYTES)
    return Uploads(time.monotonic() - started, sizes)


async def load(url: str, headers: dict, case: str, concurrency: int, seconds: float):
    if case == "upload":
        return await upload_load(url, headers, seconds)
    expect = {"redirect": 302, "short": 201}.get(case, 200)
    method, json_of = "GET", None
    if case == "short":
        run = secrets.token_hex(4)
        method, json_of = "POST", lambda n: {"url": f"https://example.com/profile/{run}/{n}"}
    async with client() as session:
        return await http_load(
            session, case, method, url, expect=expect, concurrency=concurrency,
            total=10**7, seconds=seconds, headers=headers, json_of=json_of,
        )  # fmt: skip


def summarize(collapsed: Path, top: int, requests: int) -> str:
    inclusive: collections.Counter = collections.Counter()
    own: collections.Counter = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue  # a line py-spy cut short (seen when it stops while writing)
        count = int(count)
        frames = stack.split(";")
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    lines = [f"{total} samples, {requests} requests", "", "inclusive  own   function (file:line)"]
    for frame, count in inclusive.most_common(top):
        lines.append(f"{100 * count / total:6.1f}% {100 * own[frame] / total:5.1f}%  {frame}")
    hand_offs = sum(count for frame, count in inclusive.items() if frame.startswith("thread_handler"))
    lines.append("")
    lines.append(f"samples in asgiref thread hand-offs (SyncToAsync.thread_handler): {100 * hand_offs / total:.1f}%")
    return "\n".join(lines)


class TutorialServer:
    """The bench's FastAPI tutorial app (bench/fastapi_app.py) under uvicorn, as the bench starts it."""

    def __init__(self):
        self.directory = Path(tempfile.mkdtemp(prefix="pan-profile-tutorial-"))
        self.procs = []
        self.url = ""

    def start(self):
        env = {**os.environ, "BENCH_FASTAPI_DIR": str(self.directory), "BENCH_FASTAPI_SECRET": secrets.token_hex(16)}
        seed = "from bench import fastapi_app as a; a.create(short_key='p0000001', file_unique='unique-profile', "
        seed += "username='profile', password='Profile-Password-1')"
        subprocess.run([sys.executable, "-c", seed], cwd=BASE_DIR, env=env, check=True)
        port = free_port()
        command = [sys.executable, "-m", "uvicorn", "bench.fastapi_app:app", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
        self.procs = [subprocess.Popen(command, cwd=BASE_DIR, env=env)]
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise SystemExit("the tutorial app did not start")

    def stop(self):
        for proc in self.procs:
            proc.terminate()
            proc.wait(timeout=10)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.server == "fastapi":
        if args.case != "short" or not args.rate_only:
            raise SystemExit("--server fastapi measures the short case with --rate-only")
        server = TutorialServer().start()
        try:
            os.sched_setaffinity(server.procs[0].pid, {0})
            os.sched_setaffinity(0, set(range(1, os.cpu_count())))
            url = f"{server.url}/links/"
            asyncio.run(load(url, {}, args.case, args.concurrency, 3))  # warm up
            result = asyncio.run(load(url, {}, args.case, args.concurrency, args.seconds))
            print(f"{args.case} on the tutorial app (POST /links/, uvicorn): {result.summary()}")
        finally:
            server.stop()
        return 0
    server = LiveServer(extra_env=BENCH_ENV, server=args.server).start()
    out = args.out or Path(tempfile.mkstemp(prefix="pan-profile-", suffix=".txt")[1])
    try:
        pid = server.procs[0].pid
        if (os.cpu_count() or 1) >= 2:
            os.sched_setaffinity(pid, {0})
            os.sched_setaffinity(0, set(range(1, os.cpu_count())))
        url, headers = asyncio.run(prepare(server.url, args.case))
        asyncio.run(load(url, headers, args.case, args.concurrency, 3))  # warm up
        if args.rate_only:
            result = asyncio.run(load(url, headers, args.case, args.concurrency, args.seconds))
            print(f"{args.case} on {args.server}: {result.summary()}")
            return 0
        spy = subprocess.Popen(
            [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--format", "raw",
             "--rate", "250", "--threads", "--duration", str(int(args.seconds) + 1),
             "--output", str(out), "--nonblocking", *(["--gil"] if args.gil else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        time.sleep(1)
        result = asyncio.run(load(url, headers, args.case, args.concurrency, args.seconds))
        spy.wait(timeout=60)
        if spy.returncode:
            raise SystemExit(f"py-spy failed: {spy.stderr.read().decode(errors='replace')}")
        print(f"{args.case} on {args.server}: {result.summary()}")
        print(summarize(out, args.top, result.requests))
        print(f"\ncollapsed stacks: {out}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
