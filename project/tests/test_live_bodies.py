"""Request bodies over their limit are refused before the server stores them (SPEC §2).

Through real servers, daphne and uvicorn, each with a `TMPDIR` of its own:
Django spools bodies with `tempfile` (and Twisted did, under daphne, before
`daphne_fixes.streams_request_bodies`), whose files have no
name on Linux (O_TMPFILE), so what a server has spooled is read from the
files it holds open under that folder (/proc/<pid>/fd), plus anything named
there. An anonymous client may not make a server store more than
`MAX_SMALL_BODY` (1 MiB); an authenticated upload still goes through.
"""

import hashlib
import os
import secrets
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from project.testing import LiveServer

pytestmark = pytest.mark.live

MiB = 1024 * 1024
PASSWORD = "Spool-Field-71"
BOUNDARY = "----pan-bodies-boundary-5e0c2a"


@pytest.fixture(scope="module", params=["daphne", "uvicorn"])
def server(request, tmp_path_factory):
    spool = tmp_path_factory.mktemp(f"tmpdir-{request.param}")
    with LiveServer(server=request.param, extra_env={"TMPDIR": str(spool)}) as live:
        live.spool = spool
        live.spool_baseline = set(spool.rglob("*"))
        yield live


@pytest.fixture(scope="module")
def uploader(server) -> str:
    """The name of a user who may upload (password PASSWORD)."""
    name = f"bodies-{secrets.token_hex(3)}"
    server.register(name, PASSWORD)
    server.manage("grant_role", name, "admin")
    return name


@pytest.fixture(scope="module")
def token(server, uploader) -> str:
    response = httpx.post(f"{server.url}/api/login", json={"username": uploader, "password": PASSWORD}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["access"]


def spooled_bytes(server) -> int:
    """Bytes in temporary files the server process holds open, or left named, under its TMPDIR."""
    files = {}
    fd_dir = Path(f"/proc/{server.procs[0].pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            if os.readlink(fd).startswith(str(server.spool)):
                info = os.stat(fd)
                files[info.st_dev, info.st_ino] = info.st_size
        except OSError:  # closed meanwhile
            continue
    for path in set(server.spool.rglob("*")) - server.spool_baseline:
        try:
            info = path.stat()
        except OSError:
            continue
        if path.is_file():
            files[info.st_dev, info.st_ino] = info.st_size
    return sum(files.values())


def peak_spooled_while(server, action, *, settle: float = 0.5) -> int:
    """The most the server had spooled while `action` ran in a thread, and `settle` seconds after."""
    worker = threading.Thread(target=action, daemon=True)
    worker.start()
    peak = 0
    deadline = time.monotonic() + 30
    while worker.is_alive() and time.monotonic() < deadline:
        peak = max(peak, spooled_bytes(server))
        time.sleep(0.01)
    worker.join(timeout=5)
    settled = time.monotonic() + settle
    while time.monotonic() < settled:
        peak = max(peak, spooled_bytes(server))
        time.sleep(0.01)
    return peak


def request_head(path: str, headers: dict) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@contextmanager
def connection(server, timeout: float = 5):
    with socket.create_connection(("127.0.0.1", server.ports[0]), timeout=timeout) as sock:
        yield sock


def read_answer(sock, *, within: float) -> bytes:
    """What the server answered within `within` seconds (b"" if it closed or reset without a word)."""
    sock.settimeout(within)
    deadline = time.monotonic() + within
    answer = b""
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            break
        if not data:
            break
        answer += data
        head, sep, body = answer.partition(b"\r\n\r\n")
        if sep and b"content-length: " in head.lower():
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            if len(body) >= length:
                break
    return answer


def json_body(answer: bytes) -> dict:
    import json

    return json.loads(answer.partition(b"\r\n\r\n")[2])


def send_for_a_while(sock, total: int, chunk: bytes) -> None:
    """Send up to `total` bytes of `chunk`s, stopping quietly when the server stops taking them."""
    sock.settimeout(5)
    sent = 0
    while sent < total:
        try:
            sock.sendall(chunk)
        except OSError:  # reset, broken pipe or a full window that never drains
            return
        sent += len(chunk)


def test_an_anonymous_body_announced_at_50_gib_is_refused_before_any_byte_and_never_spooled(server):
    with connection(server) as sock:
        head = request_head(
            "/api/short",
            {"Content-Type": "application/json", "Content-Length": "53687091200", "Accept-Language": "zh-CN"},
        )
        sock.sendall(head)
        started = time.monotonic()
        answer = read_answer(sock, within=2)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert time.monotonic() - started < 2
        assert json_body(answer)["error"] == {"code": "body_too_large", "message": "请求超过了服务器允许的大小。"}
        # A client that sends its body anyway makes the server store none of it.
        peak = peak_spooled_while(server, lambda: send_for_a_while(sock, 8 * MiB, os.urandom(64 * 1024)))
    assert peak == 0


def test_three_anonymous_50_gib_announcements_are_all_answered_and_fill_nothing(server):
    socks = [socket.create_connection(("127.0.0.1", server.ports[0]), timeout=5) for _ in range(3)]
    try:
        for sock in socks:
            sock.sendall(
                request_head("/api/short", {"Content-Type": "application/json", "Content-Length": "53687091200"})
            )
        answers = [read_answer(sock, within=2) for sock in socks]
        assert all(answer.startswith(b"HTTP/1.1 413") for answer in answers), [a[:40] for a in answers]

        def flood():
            for sock in socks:
                send_for_a_while(sock, 4 * MiB, os.urandom(64 * 1024))

        assert peak_spooled_while(server, flood) == 0
    finally:
        for sock in socks:
            sock.close()


def test_an_anonymous_chunked_body_is_cut_off_at_one_mib_and_not_spooled_past_it(server):
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"  # 64 KiB per chunk

    with connection(server) as sock:
        sock.sendall(request_head("/api/login", {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}))

        def send_five_mib():
            send_for_a_while(sock, 80 * len(chunk), chunk)
            try:
                sock.sendall(b"0\r\n\r\n")
            except OSError:
                pass

        peak = peak_spooled_while(server, send_five_mib)
        answer = read_answer(sock, within=5)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert peak <= MiB


def assert_no_upload_allowance(server, credentials: dict) -> None:
    """A 5 GiB upload (under the share limit, so only the credentials' refusal
    can answer at once) is refused before any byte, and none is stored."""
    with connection(server) as sock:
        headers = {
            **credentials,
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(5 * 1024 * MiB),
        }
        sock.sendall(request_head("/api/shares", headers))
        answer = read_answer(sock, within=2)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        peak = peak_spooled_while(server, lambda: send_for_a_while(sock, 4 * MiB, os.urandom(64 * 1024)))
    assert peak == 0


def test_a_forged_bearer_token_gets_no_upload_allowance(server):
    forged = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwidXNlcl9pZCI6MX0.c2lnbmF0dXJl"
    assert_no_upload_allowance(server, {"Authorization": f"Bearer {forged}"})


def test_a_made_up_browser_session_gets_no_upload_allowance(server):
    # A session cookie of the shape Django issues, a CSRF cookie and a header
    # that match each other: anyone can make these up. Without an upload pass
    # signed for that session (accounts/upload_pass.py) the body is refused
    # before any of it is stored.
    session_key, csrf_secret = secrets.token_hex(16), secrets.token_hex(16)
    cookies = {"Cookie": f"sessionid={session_key}; csrftoken={csrf_secret}", "X-CSRFToken": csrf_secret}
    assert_no_upload_allowance(server, cookies)


def test_an_authenticated_upload_over_the_share_limit_is_refused_before_any_byte(server, token):
    with connection(server) as sock:
        sock.sendall(
            request_head(
                "/api/shares",
                {
                    "Authorization": f"Bearer {token}",
                    "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                    "Content-Length": "53687091200",
                },
            )
        )
        answer = read_answer(sock, within=2)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert json_body(answer)["error"]["code"] == "file_too_large"


def test_an_authenticated_20_mib_upload_still_goes_through(server, token):
    payload = secrets.token_bytes(20 * MiB)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        created = client.post(
            "/api/files", files={"file": ("big.bin", payload)}, headers={"Authorization": f"Bearer {token}"}
        )
        assert created.status_code == 201, created.text
        assert created.json()["sha256"] == hashlib.sha256(payload).hexdigest()
    # What was spooled for it is gone once it is stored.
    deadline = time.monotonic() + 5
    while spooled_bytes(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert spooled_bytes(server) == 0


def test_a_browser_sessions_upload_still_goes_through(server, uploader):
    # What Pan's upload page sends: session cookie, CSRF cookie and X-CSRFToken.
    payload = secrets.token_bytes(3 * MiB)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        client.get("/login/")
        csrf = client.cookies["csrftoken"]
        login = client.post("/login/", data={"username": uploader, "password": PASSWORD, "csrfmiddlewaretoken": csrf})
        assert login.status_code == 302, login.text
        assert client.cookies.get("pan_upload")  # the session's upload pass
        created = client.post(
            "/api/shares",
            files={"file": ("session.bin", payload)},
            headers={"X-CSRFToken": client.cookies["csrftoken"], "Accept": "application/json"},
        )
        assert created.status_code == 201, created.text
        # The same session without its CSRF proof is held to the small limit.
        refused = client.post("/api/shares", files={"file": ("session.bin", payload)})
        assert refused.status_code == 413, refused.text
        # Signing out ends the pass with the session.
        client.post("/logout/", headers={"X-CSRFToken": client.cookies["csrftoken"]})
        assert not client.cookies.get("pan_upload")


def test_small_anonymous_bodies_still_work(server):
    with httpx.Client(base_url=server.url, timeout=10) as client:
        created = client.post("/api/short", json={"url": "https://example.com/bodies"})
        assert created.status_code == 201, created.text
        refused = client.post("/api/login", json={"username": "nobody", "password": "x" * 1000})
        assert refused.status_code in (400, 401), refused.text
