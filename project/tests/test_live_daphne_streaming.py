"""daphne hands request bodies to the application as they arrive (project.lib.daphne_fixes.streams_request_bodies).

Through real daphne processes, each with a `TMPDIR` of its own: a tiny ASGI
application (project/tests/daphne_streaming_app.py) that records what it
received, for what the application sees, and Pan itself for what a user
sees. Twisted used to write every body to a temporary file (unnamed on
Linux, O_TMPFILE) before the application ran; what a server holds under its
`TMPDIR` is read from /proc/<pid>/fd, plus anything named there.
"""

import hashlib
import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from project.testing import BASE_DIR, LiveServer, listening_socket, wait_until

pytestmark = pytest.mark.live

MiB = 1024 * 1024
BOUNDARY = "----pan-streaming-boundary-71c2"
PASSWORD = "Lantern-Quay-58"


# --- helpers ------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


def held_under(pid: int, folder: Path) -> int:
    """Bytes in files process `pid` holds open under `folder`, plus files named there."""
    files = {}
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd).startswith(str(folder)):
                info = os.stat(fd)
                files[info.st_dev, info.st_ino] = info.st_size + 1  # an empty file counts too
        except OSError:  # closed meanwhile
            continue
    for path in folder.rglob("*"):
        try:
            info = path.stat()
        except OSError:
            continue
        files[info.st_dev, info.st_ino] = info.st_size + 1
    return sum(files.values())


def head(method: str, path: str, headers: dict) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_response(sock, *, within: float) -> tuple[bytes, bytes, bytes]:
    """(status line and headers, body, bytes after it) of one response with a Content-Length."""
    sock.settimeout(within)
    deadline = time.monotonic() + within
    data = b""
    while time.monotonic() < deadline:
        top, sep, rest = data.partition(b"\r\n\r\n")
        if sep and not top.startswith(b"HTTP/1.1 100"):
            length = int(header_value(top, b"content-length") or 0)
            if len(rest) >= length:
                return top, rest[:length], rest[length:]
        elif sep:  # an interim 100 Continue: the answer follows
            data = rest
            continue
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    raise AssertionError(f"no whole response within {within}s: {data[:300]!r}")


def header_value(top: bytes, name: bytes) -> bytes | None:
    for line in top.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return None


def closed_by_server(sock, *, within: float) -> bool:
    """Whether the server ends the connection (EOF or reset) within `within` seconds, dropping what it sends."""
    sock.settimeout(within)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if not sock.recv(65536):
                return True
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False
    return False


def send_body(sock, total: int, block: bytes, digest=None) -> int:
    """Send `total` bytes of `block`s; stops quietly when the server stops taking them. Returns bytes sent."""
    sent = 0
    while sent < total:
        piece = block[: total - sent]
        try:
            sock.sendall(piece)
        except OSError:
            break
        if digest is not None:
            digest.update(piece)
        sent += len(piece)
    return sent


# --- the recording application --------------------------------------------------


class StreamingServer:
    """daphne serving project/tests/daphne_streaming_app.py, with its own TMPDIR and records folder."""

    def __init__(self, tmp: Path):
        self.tmpdir = tmp / "tmpdir"
        self.records = tmp / "records"
        self.tmpdir.mkdir()
        self.records.mkdir()
        self.listener = listening_socket()
        self.port = self.listener.getsockname()[1]
        env = {**os.environ, "TMPDIR": str(self.tmpdir), "PAN_STREAMING_RECORDS": str(self.records)}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        self.log = open(tmp / "daphne.log", "ab")  # noqa: SIM115 - closed in stop()
        fd = self.listener.fileno()
        self.proc = subprocess.Popen(  # noqa: S603 - our own server
            [sys.executable, "-m", "daphne", "--fd", str(fd), "project.tests.daphne_streaming_app:application"],
            cwd=BASE_DIR,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            pass_fds=[fd],
        )
        # Up once daphne has taken the socket over (it says so when listening).
        log_path = tmp / "daphne.log"

        def listening() -> bool:
            assert self.proc.poll() is None, log_path.read_text()
            return "Listening on TCP address" in log_path.read_text(errors="replace")

        wait_until(listening, timeout=30, message="the streaming test server")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def connect(self, timeout: float = 10) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def record(self, name: str, *, within: float = 30) -> dict:
        """What the application recorded for request `name`, once it has."""
        path = self.records / f"{name}.json"
        deadline = time.monotonic() + within
        while not path.exists():
            assert time.monotonic() < deadline, f"the application recorded nothing for {name}"
            assert self.proc.poll() is None, "daphne died"
            time.sleep(0.02)
        return json.loads(path.read_text())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        self.listener.close()


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    server = StreamingServer(tmp_path_factory.mktemp("daphne-streaming"))
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("delay", ["0", "0.005"])
def test_a_client_that_vanishes_mid_body_leaves_the_application_every_byte_it_sent(app_server, delay):
    name = f"vanish-{secrets.token_hex(3)}"
    digest = hashlib.sha256()
    with app_server.connect() as sock:
        sock.sendall(head("POST", f"/count?id={name}&delay={delay}", {"Content-Length": str(20 * MiB)}))
        sent = send_body(sock, 10 * MiB, secrets.token_bytes(MiB), digest)
    assert sent == 10 * MiB
    record = app_server.record(name)
    assert record["disconnected"] is True
    assert record["received"] == sent
    assert record["sha256"] == digest.hexdigest()


def test_the_application_reads_the_body_before_all_of_it_is_in(app_server):
    name = f"early-{secrets.token_hex(3)}"
    with app_server.connect() as sock:
        sock.sendall(head("POST", f"/count?id={name}", {"Content-Length": str(2 * MiB)}))
        send_body(sock, MiB, b"a" * MiB)
        # Only half is sent, and the application already has its first bytes.
        started = app_server.record(f"{name}.started")
        assert 0 < started["received"] <= MiB
        send_body(sock, MiB, b"b" * MiB)
        top, body, _ = read_response(sock, within=10)
    assert top.startswith(b"HTTP/1.1 200")
    assert json.loads(body)["sha256"] == hashlib.sha256(b"a" * MiB + b"b" * MiB).hexdigest()


def test_a_500_mib_body_to_a_slow_application_keeps_memory_flat_and_writes_nothing(app_server):
    block = secrets.token_bytes(MiB)
    # Warm up: the first large body sets up the allocator's pools.
    with app_server.connect() as sock:
        sock.sendall(head("POST", "/count?id=warm-up", {"Content-Length": str(20 * MiB)}))
        send_body(sock, 20 * MiB, block)
        read_response(sock, within=30)
    baseline = rss_kib(app_server.pid)

    name = f"big-{secrets.token_hex(3)}"
    size = 500 * MiB
    digest = hashlib.sha256()
    outcome = {}
    with app_server.connect(timeout=60) as sock:

        def upload():
            sock.sendall(head("POST", f"/count?id={name}&delay=0.002", {"Content-Length": str(size)}))
            outcome["sent"] = send_body(sock, size, block, digest)

        sender = threading.Thread(target=upload, daemon=True)
        sender.start()
        peak_rss, peak_held = baseline, 0
        deadline = time.monotonic() + 180
        while sender.is_alive() and time.monotonic() < deadline:
            peak_rss = max(peak_rss, rss_kib(app_server.pid))
            peak_held = max(peak_held, held_under(app_server.pid, app_server.tmpdir))
            time.sleep(0.05)
        sender.join(timeout=1)
        assert not sender.is_alive(), "500 MiB were not taken within 180 s"
        top, body, _ = read_response(sock, within=60)
    assert outcome["sent"] == size
    assert top.startswith(b"HTTP/1.1 200")
    result = json.loads(body)
    assert result["received"] == size and result["sha256"] == digest.hexdigest()
    # The application took 2 ms per message: without backpressure the body
    # would have piled up in daphne while it read.
    assert (peak_rss - baseline) < 30 * 1024, f"daphne grew by {(peak_rss - baseline) // 1024} MiB"
    assert peak_held == 0
    assert list(app_server.tmpdir.iterdir()) == []


def test_an_application_that_answers_before_reading_the_body_gets_none_of_it_stored(app_server):
    with app_server.connect() as sock:
        sock.sendall(head("POST", "/refuse", {"Content-Length": str(50 * MiB)}))
        sender = threading.Thread(target=send_body, args=(sock, 50 * MiB, b"z" * MiB), daemon=True)
        sender.start()
        top, _, _ = read_response(sock, within=10)
        assert top.startswith(b"HTTP/1.1 413")
        assert header_value(top, b"connection") == b"close"
        assert closed_by_server(sock, within=10)
        sender.join(timeout=10)
    assert held_under(app_server.pid, app_server.tmpdir) == 0


def test_requests_pipelined_after_a_streamed_body_are_answered_in_order(app_server):
    body = secrets.token_bytes(300_000)
    requests = (
        head("POST", "/count?id=pipe-1", {"Content-Length": str(len(body))})
        + body
        + head("GET", "/", {})
        + head("POST", "/count?id=pipe-2", {"Transfer-Encoding": "chunked"})
        + b"5\r\nhello\r\n0\r\n\r\n"
        + head("GET", "/again", {})
    )
    with app_server.connect() as sock:
        sock.sendall(requests)
        answers = []
        rest = b""
        for _ in range(4):
            top, answer, rest = read_response_from(sock, rest)
            assert top.startswith(b"HTTP/1.1 200"), top
            answers.append(answer)
    assert json.loads(answers[0])["sha256"] == hashlib.sha256(body).hexdigest()
    assert answers[1] == answers[3] == b'"ok"'
    assert json.loads(answers[2])["sha256"] == hashlib.sha256(b"hello").hexdigest()


def read_response_from(sock, buffered: bytes) -> tuple[bytes, bytes, bytes]:
    """One response, starting with bytes already read."""
    data = buffered
    sock.settimeout(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        top, sep, rest = data.partition(b"\r\n\r\n")
        if sep:
            length = int(header_value(top, b"content-length") or 0)
            if len(rest) >= length:
                return top, rest[:length], rest[length:]
        chunk = sock.recv(65536)
        assert chunk, f"closed before a whole response: {data[:200]!r}"
        data += chunk
    raise AssertionError("no whole response within 10 s")


def test_expect_100_continue_is_answered_when_the_application_reads(app_server):
    payload = secrets.token_bytes(3 * MiB)
    with app_server.connect() as sock:
        sock.sendall(
            head("POST", "/count?id=continue", {"Content-Length": str(len(payload)), "Expect": "100-continue"})
        )
        sock.settimeout(5)
        assert sock.recv(64) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(payload)
        top, body, _ = read_response(sock, within=10)
    assert top.startswith(b"HTTP/1.1 200")
    assert json.loads(body)["sha256"] == hashlib.sha256(payload).hexdigest()

    # An application that answers without reading never invites the body.
    with app_server.connect() as sock:
        sock.sendall(head("POST", "/refuse", {"Content-Length": str(50 * MiB), "Expect": "100-continue"}))
        top, _, _ = read_response(sock, within=5)
    assert top.startswith(b"HTTP/1.1 413")


# --- Pan itself ---------------------------------------------------------------


@pytest.fixture(scope="module")
def pan(tmp_path_factory):
    spool = tmp_path_factory.mktemp("pan-tmpdir")
    # Fifty requests on one connection from one address: no rate limit in the way.
    with LiveServer(extra_env={"TMPDIR": str(spool), "RATE_LIMIT_ENABLED": "false"}) as live:
        live.spool = spool
        live.spool_baseline = set(spool.rglob("*"))
        yield live


@pytest.fixture(scope="module")
def token(pan) -> str:
    name = f"streaming-{secrets.token_hex(3)}"
    pan.register(name, PASSWORD)
    pan.manage("grant_role", name, "admin")
    response = httpx.post(f"{pan.url}/api/login", json={"username": name, "password": PASSWORD}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["access"]


def pan_spooled(pan) -> int:
    named = sum(path.stat().st_size + 1 for path in set(pan.spool.rglob("*")) - pan.spool_baseline if path.is_file())
    fds = 0
    for fd in Path(f"/proc/{pan.procs[0].pid}/fd").iterdir():
        try:
            if os.readlink(fd).startswith(str(pan.spool)):
                fds += os.stat(fd).st_size + 1
        except OSError:
            continue
    return named + fds


def test_an_anonymous_50_mib_upload_to_pan_gets_413_nothing_stored_and_the_connection_closed(pan):
    with socket.create_connection(("127.0.0.1", pan.ports[0]), timeout=10) as sock:
        sock.sendall(
            head(
                "POST",
                "/api/shares",
                {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "Content-Length": str(50 * MiB)},
            )
        )
        sender = threading.Thread(target=send_body, args=(sock, 50 * MiB, os.urandom(MiB)), daemon=True)
        sender.start()
        peak = 0
        top, body, _ = read_response(sock, within=10)
        while sender.is_alive():
            peak = max(peak, pan_spooled(pan))
            sender.join(timeout=0.02)
        assert top.startswith(b"HTTP/1.1 413"), top
        assert json.loads(body)["error"]["code"] == "file_too_large"
        assert header_value(top, b"connection") == b"close"
        assert closed_by_server(sock, within=10)
    assert max(peak, pan_spooled(pan)) == 0


def test_fifty_mixed_requests_on_one_keep_alive_connection_while_a_websocket_talks(pan):
    conn = http.client.HTTPConnection("127.0.0.1", pan.ports[0], timeout=10)
    conn.connect()
    first_socket = conn.sock
    try:
        with ws_connect(f"ws://127.0.0.1:{pan.ports[0]}/ws/echo/", open_timeout=10) as ws:
            for number in range(50):
                kind = number % 5
                if kind == 0:
                    conn.request("GET", "/")
                    expected = {200}
                elif kind == 1:
                    conn.request("GET", "/login/")
                    expected = {200}
                elif kind == 2:
                    body = json.dumps({"url": f"https://example.com/keep-alive/{number}"})
                    conn.request("POST", "/api/short", body, {"Content-Type": "application/json"})
                    expected = {201}
                elif kind == 3:
                    body = json.dumps({"url": "not a link " + "x" * 2000})
                    conn.request("POST", "/api/short", body, {"Content-Type": "application/json"})
                    expected = {400}
                else:
                    ws.send(f"ping {number}")
                    assert ws.recv(timeout=10) == f"ping {number}"
                    conn.request("GET", "/api/schema/", headers={"Accept": "application/json"})
                    expected = {200, 401, 403, 404}
                response = conn.getresponse()
                response.read()
                assert response.status in expected, (number, response.status)
                assert conn.sock is first_socket, f"request {number} needed a new connection"
    finally:
        conn.close()


def test_an_upload_with_expect_100_continue_goes_through_pan(pan, token):
    payload = secrets.token_bytes(5 * MiB)
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="continue.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + payload
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(len(body)),
        "Expect": "100-continue",
    }
    with socket.create_connection(("127.0.0.1", pan.ports[0]), timeout=10) as sock:
        sock.sendall(head("POST", "/api/files", headers))
        sock.settimeout(10)
        assert sock.recv(64) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        top, answer, _ = read_response(sock, within=60)
    assert top.startswith(b"HTTP/1.1 201"), top + answer[:300]
    assert json.loads(answer)["sha256"] == hashlib.sha256(payload).hexdigest()

    # Without credentials the same upload is refused from its headers: no 100 Continue first.
    anonymous = {name: value for name, value in headers.items() if name != "Authorization"}
    anonymous["Content-Length"] = str(50 * MiB)
    with socket.create_connection(("127.0.0.1", pan.ports[0]), timeout=10) as sock:
        sock.sendall(head("POST", "/api/files", anonymous))
        top, _, _ = read_response(sock, within=10)
    assert top.startswith(b"HTTP/1.1 413"), top
