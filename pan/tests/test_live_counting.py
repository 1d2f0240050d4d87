"""SPEC §4.4 through real servers: what counts as a download, and the promise
that with `max_downloads=N` no N+1 recipients all get a full body.

The misbehaving clients are raw sockets: a hand-written `GET`, the exact
`Content-Length` bytes read, and the socket closed the instant the last byte
is in (FIN, or RST with `SO_LINGER 0`), which is what curl, wget and browsers
do and the moment a server is most tempted to call the transfer aborted.
Each client sends its own `User-Agent`, so sequential clients on 127.0.0.1
are distinct recipients (a tool's grant is keyed by address, agent and share).
"""

import contextlib
import hashlib
import secrets
import signal
import socket
import struct
import threading
import time
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import pytest

from project.testing import LiveServer, wait_until

from .test_live import memory_kib, reset_peak

pytestmark = pytest.mark.live

MiB = 1024 * 1024
BOUNDARY = "----pan-live-counting-5b1e"
PASSWORD = "Lantern-Field-71"
LEASE_SECONDS = 3


# --- Servers and the owner --------------------------------------------------


@dataclass
class Site:
    server: LiveServer
    token: str
    owner: dict = field(init=False)

    def __post_init__(self):
        self.owner = {"Authorization": f"Bearer {self.token}"}

    @classmethod
    def open(cls, server: LiveServer) -> "Site":
        # The first account becomes the admin; the shares are dana's, who may upload but not manage.
        server.register("counting-admin", PASSWORD)
        server.register("dana", PASSWORD)
        server.manage("grant_role", "dana", "uploaders")
        login = httpx.post(f"{server.url}/api/login", json={"username": "dana", "password": PASSWORD})
        assert login.status_code == 200, login.text
        return cls(server, login.json()["access"])

    @property
    def port(self) -> int:
        return self.server.ports[0]

    def create_share(self, parts: list[tuple[str, bytes | int]], **fields) -> dict:
        body, length, digests = multipart_stream(parts, fields)
        headers = {**self.owner, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        headers["Content-Length"] = str(length)
        response = httpx.post(f"{self.server.url}/api/shares", content=body, headers=headers, timeout=120)
        assert response.status_code == 201, response.text
        share = response.json()
        assert sorted(item["sha256"] for item in share["items"]) == sorted(digest.hexdigest() for digest in digests)
        return share

    def detail(self, share: dict) -> httpx.Response:
        return httpx.get(f"{self.server.url}/api/shares/{share['id']}", headers=self.owner, timeout=10)

    def settled_count(self, share: dict, expected: int, timeout: float = 10) -> int:
        """The share's `download_count` once it reached `expected` (or the time ran out) and stayed."""
        with contextlib.suppress(AssertionError):  # a count that never gets there is returned as it is
            wait_until(lambda: self.detail(share).json()["download_count"] >= expected, timeout=timeout)
        # Kept on purpose: a quiet period for a negative check (nothing shows
        # when a count will *not* go up); a count that overshoots shows up here.
        time.sleep(0.3)
        return self.detail(share).json()["download_count"]


@pytest.fixture(scope="module", params=["daphne", "uvicorn"])
def site(request):
    with LiveServer(extra_env={"RATE_LIMIT_ENABLED": "false"}, server=request.param) as server:
        yield Site.open(server)


@pytest.fixture(scope="module")
def lease_site():
    env = {"RATE_LIMIT_ENABLED": "false", "PAN_DOWNLOAD_LEASE_SECONDS": str(LEASE_SECONDS)}
    with LiveServer(extra_env=env) as server:
        yield Site.open(server)


def multipart_stream(parts: list[tuple[str, bytes | int]], fields: dict):
    """(body iterator, length, SHA-256 per part): `file` parts given as bytes,
    or as a size to generate while streaming (never held in memory)."""
    head = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    part_heads = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        for filename, _content in parts
    ]
    tail = f"--{BOUNDARY}--\r\n".encode()
    sizes = [content if isinstance(content, int) else len(content) for _name, content in parts]
    length = len(head) + sum(len(h) + size + 2 for h, size in zip(part_heads, sizes, strict=True)) + len(tail)
    digests = [hashlib.sha256() for _part in parts]

    def body():
        yield head
        for part_head, (_name, content), digest in zip(part_heads, parts, digests, strict=True):
            yield part_head
            chunks = [content] if isinstance(content, bytes) else generated(content)
            for chunk in chunks:
                digest.update(chunk)
                yield chunk
            yield b"\r\n"
        yield tail

    return body(), length, digests


def generated(size: int):
    block = secrets.token_bytes(MiB)
    for counter, start in enumerate(range(0, size, MiB)):
        yield (counter.to_bytes(8, "big") + block)[: min(MiB, size - start)]


def content_path(share: dict, item: int = 0) -> str:
    return f"/api/shares/{share['id']}/items/{share['items'][item]['id']}/content"


# --- Raw-socket clients -----------------------------------------------------


@dataclass
class Fetched:
    status: int
    headers: dict[str, str]
    body: bytes

    def is_full(self, data: bytes) -> bool:
        return self.status == 200 and self.headers.get("content-length") == str(len(data)) and self.body == data


def open_get(port: int, path: str, *, code: str, agent: str, extra: str = "", rst: bool = False, rcvbuf: int = 0):
    """Connect and send the request; (socket, status, headers, body bytes already read)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(20)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if rst:
        # close() then sends RST at once instead of FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.connect(("127.0.0.1", port))
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {agent}\r\nX-Share-Code: {code}\r\n"
        f"{extra}Connection: close\r\n\r\n"
    )
    sock.sendall(request.encode())
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(64 * 1024)
        if not chunk or len(received) > 64 * 1024:
            sock.close()
            raise ConnectionError(f"no response head for {path}: {received[:200]!r}")
        received += chunk
    head, _sep, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _colon, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return sock, int(status_line.split()[1]), headers, body


def statuses(fetched: list[Fetched]) -> str:
    """`200×3 410×16 429×1: {"error": …}` — what the clients saw, with one body of each error status."""
    seen = Counter(one.status for one in fetched)
    bodies = {one.status: one.body[:200] for one in fetched if one.status >= 400}
    return " ".join(f"{status}×{count}" for status, count in sorted(seen.items())) + f": {bodies}"


def hang_up_get(port: int, path: str, *, code: str, agent: str, rst: bool = False, barrier=None) -> Fetched:
    """A GET that reads exactly Content-Length bytes and hangs up the instant the last one is in."""
    if barrier is not None:
        barrier.wait(timeout=30)
    sock, status, headers, body = open_get(port, path, code=code, agent=agent, rst=rst)
    try:
        if "content-length" not in headers:
            return Fetched(status, headers, body)  # never a full body: no promised length
        wanted = int(headers["content-length"])
        received = bytearray(body[:wanted])
        while len(received) < wanted:
            chunk = sock.recv(min(MiB, wanted - len(received)))
            if not chunk:
                break
            received += chunk
        return Fetched(status, headers, bytes(received))
    finally:
        sock.close()


# --- 1. Exactly max_downloads full bodies, whoever hangs up how -------------


@pytest.mark.parametrize("hang_up", ["fin", "rst"])
def test_three_downloads_allowed_means_three_full_bodies_sequentially_and_at_once(site, hang_up):
    rst = hang_up == "rst"
    data = secrets.token_bytes(MiB + secrets.randbelow(3 * MiB))

    share = site.create_share([("thrice.bin", data)], max_downloads="3")
    started = time.monotonic()
    sequential = []
    for number in range(20):
        agent = f"pan-counting/seq-{hang_up}-{number}"
        sequential.append(hang_up_get(site.port, content_path(share), code=share["code"], agent=agent, rst=rst))
        assert time.monotonic() - started < 60, "20 sequential clients took over a minute"
    assert sum(fetched.is_full(data) for fetched in sequential) == 3, statuses(sequential)
    assert site.settled_count(share, 3) == 3, site.server.log()[-3000:]
    # The others were told the share is used up (right code: never "too many wrong codes").
    assert {fetched.status for fetched in sequential} <= {200, 410}, statuses(sequential)

    share = site.create_share([("at-once.bin", data)], max_downloads="3")
    barrier = threading.Barrier(40)

    def client(number: int) -> Fetched:
        agent = f"pan-counting/par-{hang_up}-{number}"
        return hang_up_get(site.port, content_path(share), code=share["code"], agent=agent, rst=rst, barrier=barrier)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=40) as pool:
        at_once = list(pool.map(client, range(40), timeout=90))
    assert time.monotonic() - started < 60, "40 concurrent clients took over a minute"
    assert sum(fetched.is_full(data) for fetched in at_once) == 3, statuses(at_once)
    assert site.settled_count(share, 3) == 3, site.server.log()[-3000:]
    assert {fetched.status for fetched in at_once} <= {200, 410}, statuses(at_once)


def test_sixty_recipients_who_hang_up_at_the_last_byte_are_sixty_downloads(site):
    data = secrets.token_bytes(MiB + 13)
    share = site.create_share([("many.bin", data)], max_downloads="1000")
    started = time.monotonic()
    for number in range(60):
        fetched = hang_up_get(
            site.port, content_path(share), code=share["code"], agent=f"pan-counting/many-{number}", rst=number % 2 == 1
        )
        assert fetched.is_full(data), (number, fetched.status, len(fetched.body))
        assert time.monotonic() - started < 60, "60 sequential clients took over a minute"
    assert site.settled_count(share, 60) == 60, site.server.log()[-3000:]


def test_head_short_ranges_aborts_and_the_owner_count_nothing_a_tools_second_get_counts(site):
    # Large enough, with the aborting client's small receive buffer, that the
    # server cannot have handed over the last byte before the abort.
    data = secrets.token_bytes(16 * MiB + 5)
    share = site.create_share([("rules.bin", data)], max_downloads="5")
    url = f"{site.server.url}{content_path(share)}"
    code = {"X-Share-Code": share["code"]}
    assert httpx.head(url, headers={**code, "User-Agent": "pan-counting/head"}).status_code == 200
    short = httpx.get(url, headers={**code, "User-Agent": "pan-counting/range", "Range": "bytes=0-1023"})
    assert short.status_code == 206 and short.content == data[:1024]
    own = httpx.get(url, headers=site.owner, timeout=30)
    assert own.status_code == 200 and own.content == data
    sock, status, _headers, _body = open_get(
        site.port, content_path(share), code=share["code"], agent="pan-c/abort", rcvbuf=64 * 1024
    )
    sock.close()  # mid-body
    assert status == 200
    assert site.settled_count(share, 1, timeout=1) == 0

    tool = {"code": share["code"], "agent": "pan-counting/tool"}
    assert hang_up_get(site.port, content_path(share), **tool).is_full(data)
    assert site.settled_count(share, 1) == 1
    # A resume within the grant window is the same download...
    resumed = httpx.get(url, headers={**code, "User-Agent": "pan-counting/tool", "Range": f"bytes={len(data) - 100}-"})
    assert resumed.status_code == 206 and resumed.content == data[-100:]
    assert site.settled_count(share, 2, timeout=1) == 1
    # ...a second full GET is a new one.
    assert hang_up_get(site.port, content_path(share), **tool).is_full(data)
    assert site.settled_count(share, 2) == 2


def test_an_aborted_download_gives_its_slot_back_at_once(site):
    data = secrets.token_bytes(16 * MiB)
    share = site.create_share([("once.bin", data)], max_downloads="1")
    sock, status, _headers, _body = open_get(
        site.port, content_path(share), code=share["code"], agent="pan-c/quitter", rcvbuf=64 * 1024
    )
    try:
        assert status == 200
        # While it holds the only slot, nobody else gets it.
        assert hang_up_get(site.port, content_path(share), code=share["code"], agent="pan-c/early").status == 410
    finally:
        sock.close()
    # Far sooner than the default lease of two minutes.
    deadline = time.monotonic() + 5
    while True:
        second = hang_up_get(site.port, content_path(share), code=share["code"], agent="pan-c/second")
        if second.status != 410 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert second.is_full(data), second.status
    assert hang_up_get(site.port, content_path(share), code=share["code"], agent="pan-c/third").status == 410
    assert site.settled_count(share, 1) == 1


# --- 2. Zips: streamed, flat in memory, names and bytes kept ----------------


def test_a_300_mb_share_downloads_as_a_stored_zip_with_flat_server_memory(site, tmp_path):
    small = {"docs/a.txt": b"alpha\n" * 1000, "报告.txt": "季度报告\n".encode() * 500}
    big = 300 * 1000 * 1000
    share = site.create_share([("big.bin", big), *small.items()])
    by_sha = {item["sha256"]: item for item in share["items"]}
    expected = {name: hashlib.sha256(data).hexdigest() for name, data in small.items()}
    expected["big.bin"] = next(item["sha256"] for item in share["items"] if item["size"] == big)
    pid = site.server.procs[0].pid
    rss_before = memory_kib(pid, "VmRSS")
    reset_peak(pid)
    url = f"{site.server.url}/api/shares/{share['id']}/zip"
    headers = {"X-Share-Code": share["code"], "User-Agent": "pan-counting/zip"}
    received = 0
    archive = tmp_path / "share.zip"
    with httpx.stream("GET", url, headers=headers, timeout=120) as response, open(archive, "wb") as out:
        assert response.status_code == 200, response.read()
        assert "chunked" not in response.headers.get("transfer-encoding", "")
        for chunk in response.iter_raw(MiB):
            out.write(chunk)
            received += len(chunk)
    grown = memory_kib(pid, "VmHWM") - rss_before
    assert int(response.headers["content-length"]) == received
    assert grown < 32 * 1024, f"the zip download grew the server by {grown} KiB"

    with zipfile.ZipFile(archive) as opened:
        entries = opened.infolist()
        assert sorted(entry.filename for entry in entries) == sorted(expected)
        assert {entry.compress_type for entry in entries} == {zipfile.ZIP_STORED}
        for entry in entries:
            digest = hashlib.sha256()
            with opened.open(entry) as member:
                while block := member.read(4 * MiB):
                    digest.update(block)
            assert digest.hexdigest() == expected[entry.filename], entry.filename
    assert site.settled_count(share, 1) == 1

    picked = ",".join(str(by_sha[expected[name]]["id"]) for name in small)
    some = httpx.get(f"{url}?items={picked}", headers=headers, timeout=30)
    assert some.status_code == 200
    (tmp_path / "some.zip").write_bytes(some.content)
    with zipfile.ZipFile(tmp_path / "some.zip") as opened:
        assert sorted(opened.namelist()) == sorted(small)
        assert opened.read("报告.txt") == small["报告.txt"]
    # LiveServer keeps its directory after the run: do not leave 300 MB behind in it.
    assert httpx.delete(f"{site.server.url}/api/shares/{share['id']}", headers=site.owner).status_code == 204


# --- 3. Leases: held while bytes flow, lapsed after a killed server ---------


def test_a_slow_steady_download_keeps_its_slot_past_the_lease(lease_site):
    data = secrets.token_bytes(32 * MiB)
    share = lease_site.create_share([("slow.bin", data)], max_downloads="1")
    outcome = {}

    def slow_reader():
        sock, status, headers, body = open_get(
            lease_site.port, content_path(share), code=share["code"], agent="pan-c/slow", rcvbuf=64 * 1024
        )
        started = time.monotonic()
        received = bytearray(body)
        try:
            while status == 200 and len(received) < len(data) and time.monotonic() - started < 30:
                chunk = sock.recv(64 * 1024)
                if not chunk:
                    break
                received += chunk
                # About 6 MiB/s: the whole file takes well over the lease. Behaviour
                # under test (a slow client), not synchronisation.
                time.sleep(max(0.0, len(received) / (6 * MiB) - (time.monotonic() - started)))
        except OSError as error:
            outcome["error"] = repr(error)
        finally:
            sock.close()
        outcome.update(fetched=Fetched(status, headers, bytes(received)), seconds=time.monotonic() - started)

    reader = threading.Thread(target=slow_reader)
    reader.start()
    begun = time.monotonic()
    probes = []
    for delay in (LEASE_SECONDS + 0.5, LEASE_SECONDS + 1.2):
        # Behaviour under test: probes at set times past the lease (a server's clock).
        time.sleep(max(0.0, begun + delay - time.monotonic()))
        probe = hang_up_get(lease_site.port, content_path(share), code=share["code"], agent=f"pan-c/probe-{delay}")
        probes.append((delay, probe.status))
    reader.join(timeout=40)
    assert [status for _delay, status in probes] == [410, 410], probes
    fetched = outcome["fetched"]
    assert fetched.is_full(data), (fetched.status, len(fetched.body), outcome.get("error"))
    assert outcome["seconds"] > LEASE_SECONDS + 1.2, "the slow download was not slow: the test proves nothing"
    assert lease_site.settled_count(share, 1) == 1


def test_a_download_stalled_past_the_lease_loses_its_slot_and_never_completes(lease_site):
    data = secrets.token_bytes(32 * MiB)
    share = lease_site.create_share([("stalled.bin", data)], max_downloads="1")
    stalled, status, _headers, body = open_get(
        lease_site.port, content_path(share), code=share["code"], agent="pan-c/stalled", rcvbuf=64 * 1024
    )
    try:
        assert status == 200
        received = len(body) + len(stalled.recv(256 * 1024))
        stopped = time.monotonic()
        # The server's writes now block: no bytes flow, so the lease lapses and the slot is free again.
        while True:
            second = hang_up_get(lease_site.port, content_path(share), code=share["code"], agent="pan-c/patient")
            if second.status != 410 or time.monotonic() - stopped > LEASE_SECONDS + 5:
                break
            time.sleep(0.25)
        assert second.is_full(data), second.status
        waited = time.monotonic() - stopped
        assert waited > LEASE_SECONDS - 0.5, f"the slot was free after {waited:.1f}s, before its lease lapsed"
        # The stalled client reads on: it must not get a full body too, and its connection ends.
        stalled.settimeout(5)
        try:
            while received <= len(data) and (chunk := stalled.recv(MiB)):
                received += len(chunk)
        except TimeoutError:
            pytest.fail(f"the stalled download neither ended nor completed after {received} bytes")
        except ConnectionResetError:
            pass
        assert received < len(data), "two full bodies from a share of one download"
    finally:
        stalled.close()
    assert lease_site.settled_count(share, 1) == 1


def stored_with(site: Site, size: int, sha256: str) -> list[str]:
    media = site.server.tmp / "media"
    return [
        str(path)
        for path in media.rglob("*")
        if path.is_file() and path.stat().st_size == size and hashlib.sha256(path.read_bytes()).hexdigest() == sha256
    ]


def test_a_killed_server_frees_the_slot_when_the_lease_lapses_and_purge_removes_what_it_left(lease_site):
    data = secrets.token_bytes(32 * MiB)
    share = lease_site.create_share([("killed.bin", data)], max_downloads="1")
    expiring_data = secrets.token_bytes(16 * MiB + 123)
    expiring = lease_site.create_share([("expiring.bin", expiring_data)], max_downloads="1", expires_in="2")
    holders = []
    try:
        for held in (share, expiring):
            sock, status, _headers, _body = open_get(
                lease_site.port, content_path(held), code=held["code"], agent="pan-c/holder", rcvbuf=64 * 1024
            )
            holders.append(sock)
            assert status == 200
            assert hang_up_get(lease_site.port, content_path(held), code=held["code"], agent="pan-c/b").status == 410
        process = lease_site.server.procs[0]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        for sock in holders:
            sock.close()

    lease_site.server.restart()
    restarted = time.monotonic()
    seen = []  # right after the restart the share may still answer 410, until the lease lapses
    while True:
        second = hang_up_get(lease_site.port, content_path(share), code=share["code"], agent="pan-c/second")
        seen.append((round(time.monotonic() - restarted, 1), second.status))
        if second.status != 410 or time.monotonic() - restarted > LEASE_SECONDS + 5:
            break
        time.sleep(0.2)
    assert second.is_full(data), (seen, lease_site.server.log()[-3000:])
    assert hang_up_get(lease_site.port, content_path(share), code=share["code"], agent="pan-c/c").status == 410
    assert lease_site.settled_count(share, 1) == 1

    item = expiring["items"][0]
    assert stored_with(lease_site, item["size"], item["sha256"]), "the expiring share's bytes were never stored?"
    deadline = time.monotonic() + 10
    while lease_site.detail(expiring).json()["state"] != "expired" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert lease_site.detail(expiring).json()["state"] == "expired"
    lease_site.server.manage("purge_expired")
    assert lease_site.detail(expiring).status_code == 404
    assert stored_with(lease_site, item["size"], item["sha256"]) == []


# --- 4. One tool, many connections: simultaneous full GETs and accelerators --


def range_get(port: int, path: str, *, code: str, agent: str, first: int, last: int, barrier) -> Fetched:
    """A `Range: bytes=first-last` GET read to its end (Content-Length bytes)."""
    barrier.wait(timeout=30)
    sock, status, headers, body = open_get(port, path, code=code, agent=agent, extra=f"Range: bytes={first}-{last}\r\n")
    try:
        wanted = int(headers.get("content-length", len(body)))
        received = bytearray(body[:wanted])
        while len(received) < wanted and (chunk := sock.recv(min(MiB, wanted - len(received)))):
            received += chunk
        return Fetched(status, headers, bytes(received))
    finally:
        sock.close()


def test_twenty_full_gets_at_once_from_one_tool_give_one_full_body(site):
    data = secrets.token_bytes(2 * MiB + 7)
    share = site.create_share([("once.bin", data)], max_downloads="1")
    barrier = threading.Barrier(20)

    def same_tool(number: int) -> Fetched:
        # One address, one User-Agent: one tool grant, twenty downloads from byte 0 at once.
        return hang_up_get(
            site.port, content_path(share), code=share["code"], agent="curl/8.5.0", rst=number % 2 == 1, barrier=barrier
        )

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=20) as pool:
        at_once = list(pool.map(same_tool, range(20), timeout=60))
    assert time.monotonic() - started < 30, "20 concurrent clients took over 30 s"
    assert sum(fetched.is_full(data) for fetched in at_once) == 1, statuses(at_once)
    assert {fetched.status for fetched in at_once} <= {200, 410}, statuses(at_once)
    assert site.settled_count(share, 1) == 1, site.server.log()[-3000:]


def test_an_accelerators_eight_connections_are_all_served_and_count_once(site):
    data = secrets.token_bytes(8 * MiB + 321)
    share = site.create_share([("split.bin", data)], max_downloads="1")
    cuts = [len(data) * part // 8 for part in range(8)] + [len(data)]

    def connections(parts: range) -> list[Fetched]:
        barrier = threading.Barrier(len(parts))

        def connection(part: int) -> Fetched:
            return range_get(
                site.port,
                content_path(share),
                code=share["code"],
                agent="aria2/1.37.0",
                first=cuts[part],
                last=cuts[part + 1] - 1,
                barrier=barrier,
            )

        with ThreadPoolExecutor(max_workers=len(parts)) as pool:
            return list(pool.map(connection, parts, timeout=60))

    # aria2c's way: the first connection from byte 0, the others past it, at once...
    parts = connections(range(7))
    assert [fetched.status for fetched in parts] == [206] * 7, statuses(parts)
    # ...and while its last piece is still to come, its slot is nobody else's...
    other = hang_up_get(site.port, content_path(share), code=share["code"], agent="Wget/1.21")
    assert other.status == 410, statuses([other])
    assert site.settled_count(share, 1, timeout=1) == 0
    # ...so the last piece is served, and the download counts once.
    parts += connections(range(7, 8))
    assert [fetched.status for fetched in parts] == [206] * 8, statuses(parts)
    assert b"".join(fetched.body for fetched in parts) == data
    assert site.settled_count(share, 1) == 1, site.server.log()[-3000:]
    assert site.settled_count(share, 2, timeout=1) == 1
