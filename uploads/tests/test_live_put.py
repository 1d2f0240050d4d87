"""`curl -T` of 300 MB with the real curl: the server's memory stays flat, and
the code it answers downloads the same bytes (docs/uploads.md, "curl -T").

On daphne as `make run` serves Pan, and on uvicorn (`make serve`'s server).
"""

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from project.testing import LiveServer

pytestmark = [pytest.mark.live, pytest.mark.skipif(shutil.which("curl") is None, reason="no curl binary")]

MiB = 1024 * 1024
SIZE = 300 * MiB
PASSWORD = "correct horse battery staple 7"


def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def _reset_peak(pid: int) -> None:
    # Writing 5 to clear_refs resets VmHWM (the peak RSS) to the current RSS (Linux >= 4.0).
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(4 * MiB):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
def test_300_mb_through_curl_t_with_flat_server_memory_and_back_by_its_code(server, tmp_path):
    source = tmp_path / "big.iso"
    digest = hashlib.sha256()
    with source.open("wb") as out:
        block = os.urandom(MiB)
        for counter in range(SIZE // MiB):
            chunk = counter.to_bytes(8, "big") + block[8:]
            digest.update(chunk)
            out.write(chunk)
    sent = digest.hexdigest()

    with LiveServer(server=server, extra_env={"RATE_LIMIT_ENABLED": "false"}) as live:
        token = live.uploader("sender", PASSWORD)[1]
        pid = live.procs[0].pid
        # Warm up (first request imports, first upload opens its folders), then measure.
        warm = tmp_path / "warm.txt"
        warm.write_bytes(b"warm")
        subprocess.run(
            ["curl", "-sSf", "-T", str(warm), "-H", f"Authorization: Bearer {token}", f"{live.url}/api/put/"],
            capture_output=True,
            timeout=60,
            check=True,
        )
        rss_before = _memory_kib(pid, "VmRSS")
        _reset_peak(pid)
        put = subprocess.run(
            ["curl", "-sSf", "-T", str(source), "-H", f"Authorization: Bearer {token}", f"{live.url}/api/put/"],
            capture_output=True,
            timeout=600,
            check=False,
        )
        peak = _memory_kib(pid, "VmHWM")
        assert put.returncode == 0, put.stderr
        link, code = put.stdout.decode().splitlines()[:2]
        share_id = link.rstrip("/").rsplit("/", 1)[1]
        # The server grew by less than 50 MB while it took 300 MB.
        assert peak - rss_before < 50 * 1024, f"{server} grew by {(peak - rss_before) // 1024} MiB"

        # The one-line download the README gives, with the code it answered.
        into = tmp_path / "down"
        into.mkdir()
        got = subprocess.run(
            ["curl", "-sSfOJ", f"{live.url}/api/files/{share_id}/content?code={code}"],
            capture_output=True,
            timeout=600,
            cwd=into,
            check=False,
        )
        assert got.returncode == 0, got.stderr
        downloaded = into / "big.iso"
        assert downloaded.stat().st_size == SIZE
        assert _file_sha256(downloaded) == sent
        share = httpx.get(f"{live.url}/api/shares/{share_id}", headers={"Authorization": f"Bearer {token}"}).json()
        assert share["items"][0]["sha256"] == sent
