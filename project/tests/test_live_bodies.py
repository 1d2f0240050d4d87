"""Request bodies over their allowance are refused before the server stores them (SPEC §2).

Through a real server with a `TMPDIR` and a `FILE_UPLOAD_TEMP_DIR` of its
own: Django spools bodies with `tempfile`, whose files have no name on
Linux (O_TMPFILE), so what a server has spooled is read from the files it
holds open under those folders (/proc/<pid>/fd), plus anything named
there. Only the view a body routes to can allow more than `MAX_SMALL_BODY`
(1 MiB) (project/lib/bodies.py, pan/allowances.py): a 1 GiB body from
anyone else, to any upload path, is refused before a byte is stored; an
uploader's token still uploads.

Servers: daphne (which streams bodies to the application,
`daphne_fixes.streams_request_bodies`) and uvicorn.
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


SERVERS = ["daphne", "uvicorn"]


@pytest.fixture(scope="module", params=SERVERS)
def server(request, tmp_path_factory):
    spool = tmp_path_factory.mktemp(f"tmpdir-{request.param}")
    (spool / "tmp").mkdir()
    (spool / "uploads").mkdir()
    extra_env = {"TMPDIR": str(spool / "tmp"), "FILE_UPLOAD_TEMP_DIR": str(spool / "uploads")}
    with LiveServer(server=request.param, extra_env=extra_env) as live:
        live.spool = spool
        live.spool_baseline = set(spool.rglob("*"))
        yield live


@pytest.fixture(scope="module")
def people(server) -> dict[str, str]:
    """Who uploads here: role -> user name (password PASSWORD). The first
    account is the admin; a self-registered account has only `users`."""
    names = {role: f"{role}-{secrets.token_hex(3)}" for role in ("admin", "users", "uploader", "other_uploader")}
    for name in names.values():
        server.register(name, PASSWORD)
    server.manage("grant_role", names["admin"], "admin")
    server.manage("grant_role", names["uploader"], "uploaders")
    server.manage("grant_role", names["other_uploader"], "uploaders")
    return names


def login(server, name: str) -> str:
    response = httpx.post(f"{server.url}/api/login", json={"username": name, "password": PASSWORD}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["access"]


def session_of(server, name: str) -> str:
    """The `Cookie` header of a signed-in browser session (sessionid and csrftoken)."""
    return server.session_cookie(name, PASSWORD)


@pytest.fixture(scope="module")
def credentials(server, people) -> dict[str, dict]:
    """Request headers per persona and kind of credentials."""
    found = {"anonymous": {}}
    for role, name in people.items():
        found[f"{role} token"] = {"Authorization": f"Bearer {login(server, name)}"}
        found[f"{role} session"] = {"Cookie": session_of(server, name)}
    return found


@pytest.fixture(scope="module")
def token(credentials) -> str:
    return credentials["uploader token"]["Authorization"].removeprefix("Bearer ")


@pytest.fixture(scope="module")
def open_share(server, token) -> str:
    """The id of a share of the uploader's, still taking items."""
    created = httpx.post(
        f"{server.url}/api/shares",
        json={"uploading": True},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


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


GiB = 1024 * MiB
API_UPLOADS = ["/api/files", "/api/shares", "/api/shares/{share}/items"]
VIDEO_UPLOAD = "/admin/pan/video/add/"
# Who gets no allowance on the multipart API: everyone but an uploader's
# (or admin's) token; a browser session no longer counts there (pages
# upload through tus).
API_REFUSED = [
    "anonymous",
    "users token",
    "users session",
    "uploader session",
    "admin session",
]
# On the video admin: everyone but a staff session with the video permission.
VIDEO_REFUSED = ["anonymous", "users session", "uploader session", "admin token"]


def assert_refused_unstored(server, headers: dict, path: str) -> dict:
    """A 1 GiB multipart body announced by `Content-Length` (under every
    upload limit, so only the credentials can refuse it): the answer comes
    before the body, while the first few MiB are still being sent, and no
    byte is stored during or after. Returns the JSON error."""
    with connection(server) as sock:
        headers = {
            **headers,
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(GiB),
            "Accept": "application/json",
        }
        sock.sendall(request_head(path, headers))
        peak = peak_spooled_while(server, lambda: send_for_a_while(sock, 4 * MiB, os.urandom(64 * 1024)))
        answer = read_answer(sock, within=5)
    assert answer.startswith((b"HTTP/1.1 413", b"HTTP/1.1 403")), answer[:200]
    assert peak == 0
    assert spooled_bytes(server) == 0
    return json_body(answer)


@pytest.mark.parametrize("path", API_UPLOADS)
@pytest.mark.parametrize("who", API_REFUSED)
def test_a_gibibyte_to_the_upload_api_without_an_uploaders_token_stores_nothing(
    server, credentials, open_share, who, path
):
    error = assert_refused_unstored(server, credentials[who], path.format(share=open_share))
    assert error["error"]["code"] == "file_too_large"


def test_an_uploader_adds_items_only_to_a_share_they_may_change(server, credentials, open_share):
    path = f"/api/shares/{open_share}/items"
    assert_refused_unstored(server, credentials["other_uploader token"], path)
    assert_refused_unstored(server, credentials["users token"], path)


@pytest.mark.parametrize("who", VIDEO_REFUSED)
def test_a_gibibyte_to_the_video_admin_without_a_video_admins_session_stores_nothing(server, credentials, who):
    assert_refused_unstored(server, credentials[who], VIDEO_UPLOAD)


def test_a_forged_bearer_token_gets_no_upload_allowance(server):
    forged = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwidXNlcl9pZCI6MX0.c2lnbmF0dXJl"
    assert_refused_unstored(server, {"Authorization": f"Bearer {forged}"}, "/api/shares")


def test_a_drop_over_one_mib_is_refused_unstored(server, credentials):
    created = httpx.post(
        f"{server.url}/api/requests",
        json={"title": "Scans"},
        headers=credentials["uploader token"],
        timeout=10,
    )
    assert created.status_code == 201, created.text
    code = created.json()["code"].replace("-", "")
    with connection(server) as sock:
        headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "Content-Length": str(MiB + 1)}
        sock.sendall(request_head(f"/api/requests/{code}/drops", headers))
        peak = peak_spooled_while(server, lambda: send_for_a_while(sock, MiB + 1, b"x" * (64 * 1024)))
        answer = read_answer(sock, within=5)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert json_body(answer)["error"]["code"] == "file_too_large"
    assert peak == 0


def test_a_chunked_upload_without_an_uploaders_token_is_cut_off_at_one_mib(server, credentials):
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"  # 64 KiB per chunk
    with connection(server) as sock:
        headers = {
            **credentials["users token"],
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Transfer-Encoding": "chunked",
        }
        sock.sendall(request_head("/api/shares", headers))
        peak = peak_spooled_while(server, lambda: send_for_a_while(sock, 80 * len(chunk), chunk))
        answer = read_answer(sock, within=5)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert peak <= MiB


def test_an_uploaders_30_mib_share_goes_through(server, token):
    payload = secrets.token_bytes(30 * MiB)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        created = client.post(
            "/api/shares", files={"file": ("big.bin", payload)}, headers={"Authorization": f"Bearer {token}"}
        )
    assert created.status_code == 201, created.text
    assert created.json()["items"][0]["sha256"] == hashlib.sha256(payload).hexdigest()


def test_a_video_admins_session_uploads_a_video(server, credentials):
    cookie = credentials["admin session"]["Cookie"]
    csrf = next(part.split("=", 1)[1] for part in cookie.split("; ") if part.startswith("csrftoken="))
    payload = secrets.token_bytes(3 * MiB)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        added = client.post(
            VIDEO_UPLOAD,
            data={"title": "Clip", "content_type": "", "csrfmiddlewaretoken": csrf},
            files={"file": ("clip.mp4", payload, "video/mp4")},
            headers={"Cookie": cookie, "Origin": server.url},
        )
    assert added.status_code == 302, added.text[:500]


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


def test_small_anonymous_bodies_still_work(server):
    with httpx.Client(base_url=server.url, timeout=10) as client:
        created = client.post("/api/short", json={"url": "https://example.com/bodies"})
        assert created.status_code == 201, created.text
        refused = client.post("/api/login", json={"username": "nobody", "password": "x" * 1000})
        assert refused.status_code in (400, 401), refused.text
