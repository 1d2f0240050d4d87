"""Downloads and uploads only, several rounds, builds side by side (issue 26).

    python -m bench.io                                  # Pan on daphne and uvicorn, the tutorial app; 5 rounds
    python -m bench.io --servers daphne --rounds 7 --file-mib 50
    python -m bench.io --variant before:PAN_DOWNLOAD_SENDFILE=false --variant after:

Each target (a server kind and a variant: environment settings for it) is
started once, as the bench starts it (its own database and media, rate
limits off), pinned to core 0 with the client on core 1. Then, round after
round, every target in turn (the order rotates each round, so no target
always follows the same one): one multipart upload of the file (`POST
/api/files`; the tutorial app's `/files/`) and three downloads of it, every
download's size checked and the first one's SHA-256 (the client's hashing
caps that one: the other two are the figures). Prints each figure and
per target the median of the rounds (MiB/s) and of the server's CPU
seconds per transfer (user and system, every thread: on a busy machine
that figure moves less than the rate). On a shared machine only medians of
alternating runs mean anything. Every loop is bounded.
"""

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
from pathlib import Path

from .__main__ import BASE_DIR, BENCH_ENV, api_json, client, download, make_file, tutorial_started, upload

sys.path.insert(0, str(BASE_DIR))

from project.testing import LiveServer  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.io", description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default="daphne,uvicorn", help="Pan's servers, comma-separated")
    parser.add_argument(
        "--variant",
        action="append",
        help="NAME:KEY=VALUE,KEY=VALUE — a build of Pan by its environment (repeatable; default: one, as is)",
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--file-mib", type=int, default=50)
    parser.add_argument("--no-fastapi", action="store_true", help="skip the FastAPI tutorial app")
    parser.add_argument("--no-upload", action="store_true")
    return parser.parse_args(argv)


def variants(raw: list[str] | None) -> list[tuple[str, dict]]:
    if not raw:
        return [("", {})]
    found = []
    for text in raw:
        name, _, settings = text.partition(":")
        env = dict(pair.split("=", 1) for pair in settings.split(",") if pair)
        found.append((name, env))
    return found


class Target:
    """One server under test: a label, its base URL, its pid, how to upload and download."""

    def __init__(self, label, base, pid, upload_url, auth, stop):
        self.label, self.base, self.pid = label, base, pid
        self.upload_url, self.auth, self.stop = upload_url, auth, stop
        self.download_url = None
        self.download_headers = {}
        self.figures = {"upload": [], "download": [], "upload_cpu": [], "download_cpu": []}


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process `pid` (every thread) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def start_pan(kind: str, name: str, env: dict, credentials: dict) -> Target:
    server = LiveServer(extra_env={**BENCH_ENV, **env}, server=kind).start()
    pid = server.procs[0].pid
    async with client() as session:
        await api_json(session, "POST", f"{server.url}/api/register", json=credentials)
        tokens = await api_json(session, "POST", f"{server.url}/api/login", json=credentials)
    auth = {"Authorization": f"Bearer {tokens['access']}"}
    label = f"{kind} {name}".strip()
    return Target(label, server.url, pid, f"{server.url}/api/files", auth, server.stop)


async def start_tutorial(workdir: Path, credentials: dict) -> Target:
    process, base, token = await tutorial_started(
        workdir / "tutorial", credentials["username"], credentials["password"]
    )

    def stop():
        process.terminate()
        process.wait(timeout=10)

    auth = {"Authorization": f"Bearer {token['access_token']}"}
    target = Target("tutorial app", base, process.pid, f"{base}/files/", auth, stop)
    target.tutorial = True
    return target


async def one_round(target: Target, payload: Path, sha: str, mib: int, with_upload: bool) -> list[dict]:
    rows = []
    async with client() as session:
        if with_upload or target.download_url is None:
            cpu = cpu_seconds(target.pid)
            row, created = await upload(session, target.upload_url, target.auth, payload, target.pid)
            row["cpu_s"] = round(cpu_seconds(target.pid) - cpu, 2)
            rows.append(row)
            target.figures["upload"].append(row["mib_per_s"])
            target.figures["upload_cpu"].append(row["cpu_s"])
            if getattr(target, "tutorial", False):
                target.download_url = f"{target.base}/files/{created['filename']}"
            else:
                target.download_url = f"{target.base}/api/files/{created['unique_name']}/content"
                target.download_headers = {"X-Share-Code": created["share_code"]}
        for attempt in (0, 1, 2):
            # #0 checks the SHA-256 (the client's hashing caps its rate); #1 and #2 are the figures.
            cpu = cpu_seconds(target.pid)
            row = await download(
                session, f"download #{attempt}", target.download_url, mib, target.pid,
                expected_sha=sha if attempt == 0 else None, headers=target.download_headers,
            )  # fmt: skip
            row["cpu_s"] = round(cpu_seconds(target.pid) - cpu, 2)
            if not row["bytes_ok"] or row.get("sha256_ok") is False:
                raise RuntimeError(f"{target.label}: wrong bytes downloaded: {row}")
            rows.append(row)
            if attempt:
                target.figures["download"].append(row["mib_per_s"])
                target.figures["download_cpu"].append(row["cpu_s"])
    return rows


async def run(args) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="pan-bench-io-"))
    payload, sha = make_file(workdir, args.file_mib)
    credentials = {"username": "bench-io", "password": "Bench-Password-" + secrets.token_hex(4)}
    pin = (os.cpu_count() or 1) >= 2
    targets: list[Target] = []
    try:
        for kind in [kind for kind in args.servers.split(",") if kind]:
            for name, env in variants(args.variant):
                targets.append(await start_pan(kind, name, env, credentials))
        if not args.no_fastapi:
            targets.append(await start_tutorial(workdir, credentials))
        if pin:
            os.sched_setaffinity(0, set(range(1, os.cpu_count())))
            for target in targets:
                os.sched_setaffinity(target.pid, {0})
        for number in range(args.rounds):
            shift = number % len(targets)
            for target in targets[shift:] + targets[:shift]:
                rows = await one_round(target, payload, sha, args.file_mib, not args.no_upload or number == 0)
                figures = ", ".join(f"{row['name']} {row['mib_per_s']} ({row['cpu_s']} s)" for row in rows)
                print(f"round {number + 1} {target.label}: {figures}", flush=True)
        print(
            f"\nmedians over {args.rounds} rounds, {args.file_mib} MiB, MiB/s (load average {os.getloadavg()[0]:.1f})"
        )
        for target in targets:
            up = target.figures["upload"]
            down = target.figures["download"]
            down_cpu = statistics.median(target.figures["download_cpu"])
            line = f"  {target.label:24} download {statistics.median(down):7.1f} (of {len(down)}, {down_cpu:.2f} s CPU)"
            if up:
                up_cpu = statistics.median(target.figures["upload_cpu"])
                line += f"   upload {statistics.median(up):7.1f} (of {len(up)}, {up_cpu:.2f} s CPU)"
            print(line)
    finally:
        for target in targets:
            target.stop()
    return 0


def main(argv=None) -> int:
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
