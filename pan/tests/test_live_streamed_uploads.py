"""Large API uploads are parsed as they arrive (`project.lib.bodies.StreamedBody`, issue 26).

Django's ASGI handler used to write the whole body to a temporary file
before the view started; the API's upload views (`body_streams = True`) now
read it as it comes. Through real servers (daphne and uvicorn): the view's
upload handler writes the file while the client is still sending, the
stored bytes are exact, a client that vanishes leaves no share, no file and
no error in the log, and a share of several files is all or nothing.
"""

import hashlib
import os
import secrets
import socket
from pathlib import Path

import httpx
import pytest

from project.testing import LiveServer, wait_until

pytestmark = pytest.mark.live

MiB = 1024 * 1024
BOUNDARY = "----pan-streamed-upload-5e1a"
PASSWORD = "Quay-Ledger-47"


@pytest.fixture(scope="module", params=["daphne", "uvicorn"])
def server(request):
    live = LiveServer(extra_env={"RATE_LIMIT_ENABLED": "false"}, server=request.param).start()
    name = f"streamed-{request.param}-{secrets.token_hex(3)}"
    live.register(name, PASSWORD)
    login = httpx.post(f"{live.url}/api/login", json={"username": name, "password": PASSWORD})
    assert login.status_code == 200, login.text
    live.token = login.json()["access"]
    try:
        yield live
    finally:
        live.stop()


def part(name: str, filename: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


def request_head(server, path: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {server.token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def handler_bytes(server) -> int:
    """Bytes in the upload handler's temporary files (FILE_UPLOAD_TEMP_DIR, under MEDIA_ROOT)."""
    folder = Path(server.env["MEDIA_ROOT"]) / ".upload-tmp"
    return sum(path.stat().st_size for path in folder.glob("*") if path.is_file())


def stored_files(server) -> set[Path]:
    media = Path(server.env["MEDIA_ROOT"])
    return {path for path in media.rglob("*") if path.is_file() and ".upload-tmp" not in path.parts}


def shares(server) -> int:
    response = httpx.get(f"{server.url}/api/shares", headers={"Authorization": f"Bearer {server.token}"})
    return response.json()["count"]


def read_answer(sock) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            break
        data += piece
    top, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in top.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
    )
    while len(rest) < length:
        piece = sock.recv(65536)
        if not piece:
            break
        rest += piece
    return top + b"\r\n\r\n" + rest


def test_the_view_writes_the_file_while_the_client_is_still_sending(server):
    data = secrets.token_bytes(24 * MiB)
    body = part("file", "streamed.bin") + data + f"\r\n--{BOUNDARY}--\r\n".encode()
    with socket.create_connection(("127.0.0.1", server.ports[0]), timeout=30) as sock:
        sock.sendall(request_head(server, "/api/files", len(body)) + body[: 12 * MiB])
        # Half the body is in and the handler is already writing the file
        # (spooled first, it would start only after the last byte).
        wait_until(lambda: handler_bytes(server) >= 4 * MiB, timeout=15, message="the handler writing the file")
        sock.sendall(body[12 * MiB :])
        answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 201"), answer[:300]
    created = httpx.Response(201, content=answer.partition(b"\r\n\r\n")[2]).json()
    url = f"{server.url}/api/files/{created['unique_name']}/content"
    downloaded = httpx.get(url, headers={"X-Share-Code": created["share_code"]}, timeout=60)
    assert hashlib.sha256(downloaded.content).digest() == hashlib.sha256(data).digest()


def test_a_share_of_several_files_round_trips_byte_exact(server):
    files = {"one.bin": secrets.token_bytes(3 * MiB + 1), "two.bin": secrets.token_bytes(5 * MiB + 3)}
    response = httpx.post(
        f"{server.url}/api/shares",
        files=[("file", (name, data)) for name, data in files.items()],
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    share = response.json()
    for item in share["items"]:
        assert item["sha256"] == hashlib.sha256(files[item["name"]]).hexdigest()
        url = f"{server.url}/api/shares/{share['id']}/items/{item['id']}/content"
        assert httpx.get(url, headers={"X-Share-Code": share["code"]}, timeout=60).content == files[item["name"]]


def test_a_client_gone_after_the_first_of_two_files_leaves_nothing_and_logs_no_error(server):
    before = shares(server)
    first = part("file", "first.bin") + secrets.token_bytes(3 * MiB) + b"\r\n"
    second = part("file", "second.bin") + secrets.token_bytes(4 * MiB)
    length = len(first) + len(second) + 20 * MiB
    log_before = len(server.log())
    stored_before = stored_files(server)
    with socket.create_connection(("127.0.0.1", server.ports[0]), timeout=30) as sock:
        sock.sendall(request_head(server, "/api/shares", length) + first + second)
        wait_until(lambda: handler_bytes(server) >= 5 * MiB, timeout=15, message="the second file being written")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # reset
    wait_until(lambda: handler_bytes(server) == 0, timeout=15, message="the handler's files removed")
    assert shares(server) == before
    assert stored_files(server) == stored_before
    log = server.log()[log_before:]
    assert "Traceback" not in log and "Internal Server Error" not in log, log
    # The server goes on serving uploads.
    again = httpx.post(
        f"{server.url}/api/files",
        files={"file": ("after.bin", os.urandom(3 * MiB))},
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=60,
    )
    assert again.status_code == 201, again.text
