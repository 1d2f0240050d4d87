"""Downloads of local files under daphne go by `sendfile` (issue 26).

`project.lib.streaming.ASGIHandler` sends a local file's ranges as ASGI
`http.response.zerocopysend` messages where the server offers the extension,
and `project.lib.daphne_fixes.sends_files_zero_copy` offers it on daphne and
sends them with `os.sendfile`. Through real servers: the bytes, ranges, HEAD
and counting are those of the byte path, `pan_download_bytes_sendfile_total`
shows which path carried them, and uvicorn (no extension) keeps the byte path.
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
TOKEN = "sendfile-metrics-" + secrets.token_hex(8)
PASSWORD = "Harbour-Lantern-93"


def start(kind: str) -> tuple[LiveServer, str]:
    server = LiveServer(extra_env={"METRICS_TOKEN": TOKEN, "RATE_LIMIT_ENABLED": "false"}, server=kind).start()
    name = f"sendfile-{kind}-{secrets.token_hex(3)}"
    server.register(name, PASSWORD)
    login = httpx.post(f"{server.url}/api/login", json={"username": name, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return server, login.json()["access"]


@pytest.fixture(scope="module")
def daphne():
    server, token = start("daphne")
    try:
        yield server, token
    finally:
        server.stop()


def sendfile_bytes(server) -> float:
    text = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    for line in text.splitlines():
        if line.startswith("pan_download_bytes_sendfile_total "):
            return float(line.split()[1])
    raise AssertionError("no pan_download_bytes_sendfile_total in /metrics")


def share_of(server, token, files: dict, **fields) -> dict:
    response = httpx.post(
        f"{server.url}/api/shares",
        files=[("file", (name, data)) for name, data in files.items()],
        data=fields,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_local_file_goes_by_sendfile_byte_exact_whole_ranged_and_head(daphne):
    server, token = daphne
    data = secrets.token_bytes(9 * MiB + 12345)  # several ranges, the last one short
    share = share_of(server, token, {"big.bin": data})
    url = f"{server.url}/api/shares/{share['id']}/items/{share['items'][0]['id']}/content"
    code = {"X-Share-Code": share["code"]}
    before = sendfile_bytes(server)

    whole = httpx.get(url, headers=code, timeout=60)
    assert whole.status_code == 200 and whole.headers["content-length"] == str(len(data))
    assert hashlib.sha256(whole.content).digest() == hashlib.sha256(data).digest()
    assert whole.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert whole.headers["content-security-policy"] == "sandbox"
    sent = len(data)
    assert sendfile_bytes(server) == before + sent

    for header, start, end in [
        ("bytes=1000-4999999", 1000, 4999999),
        ("bytes=-10", len(data) - 10, len(data) - 1),
        (f"bytes={4 * MiB - 1}-", 4 * MiB - 1, len(data) - 1),
        ("bytes=0-0", 0, 0),
    ]:
        part = httpx.get(url, headers={**code, "Range": header}, timeout=60)
        assert part.status_code == 206, header
        assert part.headers["content-range"] == f"bytes {start}-{end}/{len(data)}"
        assert part.content == data[start : end + 1], header
        sent += end - start + 1
    assert sendfile_bytes(server) == before + sent

    head = httpx.head(url, headers=code)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data)) and head.content == b""
    assert sendfile_bytes(server) == before + sent  # HEAD sends nothing


def test_several_downloads_on_one_keep_alive_connection_stay_in_order(daphne):
    server, token = daphne
    first, second = secrets.token_bytes(3 * MiB + 7), secrets.token_bytes(MiB + 1)
    share = share_of(server, token, {"a.bin": first, "b.bin": second})
    urls = [f"{server.url}/api/shares/{share['id']}/items/{item['id']}/content" for item in share["items"]]
    by_name = {"a.bin": first, "b.bin": second}
    expected = [by_name[item["name"]] for item in share["items"]]
    with httpx.Client(headers={"X-Share-Code": share["code"]}, timeout=60) as client:
        for _ in range(3):
            for url, data in zip(urls, expected, strict=True):
                response = client.get(url)
                assert response.status_code == 200 and response.content == data
            assert client.get(f"{server.url}/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_zips_and_texts_keep_the_byte_path_and_their_bytes(daphne):
    server, token = daphne
    data = secrets.token_bytes(2 * MiB)
    share = share_of(server, token, {"one.bin": data, "two.bin": b"two"})
    before = sendfile_bytes(server)
    archive = httpx.get(f"{server.url}/api/shares/{share['id']}/zip", headers={"X-Share-Code": share["code"]})
    assert archive.status_code == 200 and len(archive.content) == int(archive.headers["content-length"])
    assert data in archive.content
    assert sendfile_bytes(server) == before


def test_a_client_gone_midway_stops_the_send_and_counts_nothing(daphne):
    server, token = daphne
    data = secrets.token_bytes(64 * MiB)
    share = share_of(server, token, {"once.bin": data}, max_downloads="1")
    path = f"/api/shares/{share['id']}/items/{share['items'][0]['id']}/content"
    before = sendfile_bytes(server)
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        # A small receive buffer: the client holds little of what was sent.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Share-Code: {share['code']}\r\n\r\n"
        sock.sendall(request.encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # reset
    # Another recipient gets the one download once the server has seen the
    # client go (while the first holds the slot: 410); had the cut-off
    # download run on to its end, it would have counted, and this stays 410.
    other = {"X-Share-Code": share["code"], "User-Agent": "another-recipient"}
    url = f"{server.url}{path}"
    answers = []
    wait_until(
        lambda: answers.append(httpx.get(url, headers=other, timeout=60)) or answers[-1].status_code == 200,
        timeout=15,
        message="the download's slot given back",
    )
    assert answers[-1].content == data
    assert sendfile_bytes(server) - before < 2 * len(data)  # the first send stopped short
    third = {"X-Share-Code": share["code"], "User-Agent": "a-third-recipient"}
    assert httpx.get(url, headers=third).status_code == 410


def test_a_stored_file_shorter_than_its_item_ends_the_connection_early(daphne):
    server, token = daphne
    data = secrets.token_bytes(6 * MiB)
    share = share_of(server, token, {"cut.bin": data})
    media = Path(server.env["MEDIA_ROOT"])
    stored = [path for path in media.rglob("*") if path.is_file() and path.stat().st_size == len(data)]
    stored = [path for path in stored if path.read_bytes() == data]
    assert len(stored) == 1
    os.truncate(stored[0], 5 * MiB)
    url = f"{server.url}/api/shares/{share['id']}/items/{share['items'][0]['id']}/content"
    received = b""
    with pytest.raises(httpx.RemoteProtocolError):  # the body ends short: no hang until a timeout
        with httpx.stream("GET", url, headers={"X-Share-Code": share["code"]}, timeout=20) as response:
            assert response.status_code == 200
            for chunk in response.iter_raw():
                received += chunk
    assert received == data[: len(received)] and len(received) <= 5 * MiB


def test_uvicorn_offers_no_zero_copy_and_pan_keeps_the_byte_path():
    server, token = start("uvicorn")
    try:
        data = secrets.token_bytes(5 * MiB + 3)
        share = share_of(server, token, {"u.bin": data})
        url = f"{server.url}/api/shares/{share['id']}/items/{share['items'][0]['id']}/content"
        before = sendfile_bytes(server)
        whole = httpx.get(url, headers={"X-Share-Code": share["code"]}, timeout=60)
        assert whole.status_code == 200 and whole.content == data
        part = httpx.get(url, headers={"X-Share-Code": share["code"], "Range": "bytes=7-"}, timeout=60)
        assert part.status_code == 206 and part.content == data[7:]
        assert sendfile_bytes(server) == before
    finally:
        server.stop()
