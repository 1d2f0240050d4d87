"""`curl -T`: PUT /api/put/<name> makes a one-file share (docs/uploads.md, "curl -T").

On a live server (daphne on the embedded default, uvicorn on PostgreSQL +
Redis, as the tus tests), with the real `curl` where a tool's behaviour
matters (the name it appends, stdin, `Expect: 100-continue`) and raw sockets
where the test must hold the body back or vanish midway.
"""

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
from urllib.parse import urlsplit

import httpx
import pytest

from project.testing import LiveServer, wait_until

from .conftest import TUS_SERVER, metadata

MiB = 1024 * 1024
PASSWORD = "correct horse battery staple 7"
MAX_FILE = 8 * MiB
QUOTA = 6 * MiB  # the `uploaders` role's quota (dana's, erin's and fay's); admins have none
CURL = shutil.which("curl")

pytestmark = [pytest.mark.live, pytest.mark.skipif(CURL is None, reason="the curl binary is not installed")]


class PutSite:
    def __init__(self, server: LiveServer):
        self.server = server
        self.tokens: dict[str, str] = {}
        server.register("alice", PASSWORD)  # the first account: admin (and users)
        for name in ("bob", "charlie", "dana", "erin", "fay"):
            server.register(name, PASSWORD)  # DEFAULT_ROLES: users
        server.manage("revoke_role", "charlie", "users")  # no roles
        for name in ("dana", "erin", "fay"):  # uploaders only: owners who are not managers
            server.manage("grant_role", name, "uploaders")
            server.manage("revoke_role", name, "users")
        for name in ("alice", "bob", "charlie", "dana", "erin", "fay"):
            login = httpx.post(f"{server.url}/api/login", json={"username": name, "password": PASSWORD}, timeout=30)
            assert login.status_code == 200, login.text
            self.tokens[name] = login.json()["access"]

    @property
    def url(self) -> str:
        return self.server.url

    def auth(self, who: str | None) -> dict:
        return {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}

    def put(self, name: str, data: bytes, who: str | None = "dana", **headers) -> httpx.Response:
        return httpx.put(f"{self.url}/api/put/{name}", content=data, headers={**self.auth(who), **headers}, timeout=60)

    def shares(self, who: str = "alice") -> int:
        """How many shares there are (alice manages: every share)."""
        answer = httpx.get(f"{self.url}/api/shares", headers=self.auth(who), timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()["count"]

    def share(self, share_id: str, who: str = "alice") -> dict:
        answer = httpx.get(f"{self.url}/api/shares/{share_id}", headers=self.auth(who), timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def stored(self) -> set[str]:
        media = self.server.tmp / "media"
        return {str(p) for p in media.rglob("*") if p.is_file()} if media.exists() else set()

    def open_uploads(self) -> int:
        """Unfinished uploads (their reservations count against quotas) in the server's database."""
        out = self.server.manage(
            "shell", "-c", "from uploads.models import Upload; print(Upload.objects.filter(completed_at=None).count())"
        ).stdout
        return int(out.strip().splitlines()[-1])

    def state(self) -> tuple:
        return self.shares(), self.stored()

    def raw(self, head: str, body: bytes = b"", *, close_after: bool = False) -> str:
        """Send a request's head (and `body`) on a raw socket; read the answer unless `close_after`."""
        parts = urlsplit(self.url)
        with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
            sock.sendall(head.encode("latin-1") + body)
            if close_after:
                sock.shutdown(socket.SHUT_RDWR)
                return ""
            return _read_answer(sock)

    def head(self, name: str, who: str | None, length: int | None, **headers) -> str:
        lines = [f"PUT /api/put/{name} HTTP/1.1", f"Host: {urlsplit(self.url).netloc}"]
        lines += [f"{key}: {value}" for key, value in {**self.auth(who), **headers}.items()]
        lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
        return "\r\n".join(lines) + "\r\n\r\n"


def _read_answer(sock) -> str:
    """One HTTP answer (its head and a Content-Length body), or what came before the server closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data.decode("latin-1")
        data += chunk
    head, _sep, rest = data.partition(b"\r\n\r\n")
    match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    while match and len(rest) < int(match.group(1)):
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return (head + b"\r\n\r\n" + rest).decode("latin-1")


def _access_lines(site) -> int:
    """How many PUTs of gone.bin the server has finished (its access log, under every server)."""
    return site.server.log().count("PUT /api/put/gone.bin ")


def _status(answer: str) -> int:
    return int(answer.split(" ", 2)[1])


def _error_code(answer: str) -> str:
    return json.loads(answer.partition("\r\n\r\n")[2])["error"]["code"]


def _header(answer: str, name: str) -> str | None:
    match = re.search(rf"(?im)^{re.escape(name)}:\s*(.*?)\r?$", answer.partition("\r\n\r\n")[0])
    return match.group(1) if match else None


@pytest.fixture(scope="module")
def site():
    env = {
        "RATE_LIMIT_ENABLED": "false",
        "PAN_MAX_UPLOAD_SIZE": str(MAX_FILE),
        "PAN_QUOTAS": f"uploaders={QUOTA}",
    }
    with LiveServer(server=TUS_SERVER, extra_env=env) as server:
        yield PutSite(server)


def _curl(*args: str, stdin: bytes | None = None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([CURL, "-sS", *args], input=stdin, capture_output=True, timeout=120, cwd=cwd, check=False)


# --- what it makes ------------------------------------------------------------------


def test_curl_t_with_a_trailing_slash_makes_a_share_and_answers_link_and_code(site, tmp_path):
    source = tmp_path / "report.pdf"
    source.write_bytes(b"%PDF-1.4 " + os.urandom(5000))
    headers = tmp_path / "headers"
    out = _curl(
        "-D",
        str(headers),
        "-T",
        str(source),
        "-H",
        f"Authorization: Bearer {site.tokens['dana']}",
        f"{site.url}/api/put/",
    )
    assert out.returncode == 0, out.stderr
    head = headers.read_bytes().decode().split("\r\n\r\n")[-2]  # after curl's 100 Continue
    body = out.stdout.decode()
    assert head.splitlines()[0].startswith("HTTP/1.1 201"), head
    assert re.search(r"(?im)^content-type: text/plain; charset=utf-8\r?$", head)
    lines = body.splitlines()
    link, code = lines[0], lines[1]
    assert re.search(r"(?im)^location: (.*?)\r?$", head).group(1) == link
    assert re.fullmatch(rf"{re.escape(site.url)}/f/[A-Za-z0-9_-]+/", link), link
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code), code
    share = site.share(link.rstrip("/").rsplit("/", 1)[1], who="dana")
    assert share["owner"] == "dana"
    assert share["code_display"] == code
    assert [(item["name"], item["size"], item["content_type"]) for item in share["items"]] == [
        ("report.pdf", 5009, "application/pdf")
    ]
    assert share["items"][0]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()

    # The one-line download the docs give: the link's id and the code, no account.
    share_id = link.rstrip("/").rsplit("/", 1)[1]
    into = tmp_path / "down"
    into.mkdir()
    got = _curl("-fOJ", f"{site.url}/api/files/{share_id}/content?code={code}", cwd=into)
    assert got.returncode == 0, got.stderr
    assert (into / "report.pdf").read_bytes() == source.read_bytes()
    # ... and the answer's own `download:` line is that URL.
    assert f"download: {site.url}/api/files/{share_id}/content?code={code.replace('-', '')}" in lines


def test_json_answer_is_the_share_create_apis(site):
    answer = site.put("a.txt", b"hello", Accept="application/json")
    assert answer.status_code == 201, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    created = answer.json()
    assert answer.headers["Location"] == created["url"]
    api = httpx.post(
        f"{site.url}/api/shares", files={"file": ("b.txt", b"hi")}, headers=site.auth("dana"), timeout=30
    ).json()
    assert set(created) == set(api)
    assert created["items"][0]["name"] == "a.txt"
    assert created["code"] and created["qr"].startswith("data:image/")


def test_stdin_without_a_length_streams_chunked(site):
    data = os.urandom(3 * MiB + 17)
    out = _curl(
        "-T",
        "-",
        "-H",
        f"Authorization: Bearer {site.tokens['dana']}",
        f"{site.url}/api/put/from-stdin.bin",
        stdin=data,
    )
    assert out.returncode == 0, out.stderr
    link = out.stdout.decode().splitlines()[0]
    share = site.share(link.rstrip("/").rsplit("/", 1)[1])
    assert share["items"][0]["size"] == len(data)
    assert share["items"][0]["sha256"] == hashlib.sha256(data).hexdigest()


def test_an_empty_body_is_an_empty_file(site):
    answer = site.put("empty.txt", b"", Accept="application/json")
    assert answer.status_code == 201, answer.text
    item = answer.json()["items"][0]
    assert (item["name"], item["size"], item["sha256"]) == ("empty.txt", 0, hashlib.sha256(b"").hexdigest())
    # As the multipart API takes an empty file part.
    multipart = httpx.post(
        f"{site.url}/api/shares", files={"file": ("empty.txt", b"")}, headers=site.auth("dana"), timeout=30
    )
    assert multipart.status_code == 201, multipart.text
    assert multipart.json()["items"][0]["size"] == 0


def test_options_as_headers_and_a_chinese_title(site):
    title = "季度报告 2026"
    answer = site.put(
        "q.txt",
        b"numbers",
        **{
            "Accept": "application/json",
            "Pan-Title": "%E5%AD%A3%E5%BA%A6%E6%8A%A5%E5%91%8A%202026",  # percent-encoded UTF-8
            "Pan-Expires-In": "3600",
            "Pan-Max-Downloads": "2",
            "Pan-Password": "open sesame",
        },
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["title"] == title
    assert created["max_downloads"] == 2
    assert created["has_password"] is True
    assert created["expires_at"] is not None
    # The password guards the download.
    url = f"{site.url}/api/files/{created['id']}/content?code={created['code']}"
    assert httpx.get(url, timeout=30).status_code == 401
    assert httpx.get(url, headers={"X-Share-Password": "open sesame"}, timeout=30).content == b"numbers"

    # Raw UTF-8 bytes in the header (what curl sends from a UTF-8 terminal) work too.
    raw = site.raw(site.head("r.txt", "dana", 2, **{"Pan-Title": title.encode().decode("latin-1")}), b"ok")
    assert _status(raw) == 201, raw
    share_id = raw.partition("\r\n\r\n")[2].splitlines()[0].rstrip("/").rsplit("/", 1)[1]
    assert site.share(share_id)["title"] == title

    # "never": Pan-Expires-In: 0.
    forever = site.put("f.txt", b"x", **{"Accept": "application/json", "Pan-Expires-In": "0"})
    assert forever.json()["expires_at"] is None
    text = site.put("g.txt", b"x", **{"Pan-Expires-In": "0"}).text.splitlines()
    assert "expires: never" in text


# --- refusals, each before a byte of the body is read ------------------------------------------

BAD_OPTIONS = [
    ("Pan-Expires-In", "tomorrow", "expires_in"),
    ("Pan-Expires-In", "-1", "expires_in"),
    ("Pan-Expires-In", str(10**12), "expires_in"),
    ("Pan-Expires-In", "+60", "expires_in"),
    ("Pan-Max-Downloads", "0", "max_downloads"),
    ("Pan-Max-Downloads", "many", "max_downloads"),
    ("Pan-Title", "x" * 201, "title"),
    ("Pan-Title", "%FF%FE", "title"),  # not UTF-8 once decoded
    ("Pan-Title", "a%00b", "title"),
    ("Pan-Password", "p" * 257, "password"),
]


@pytest.mark.parametrize(
    ("header", "value", "field"), BAD_OPTIONS, ids=[f"{h}-{i}" for i, (h, _v, _f) in enumerate(BAD_OPTIONS)]
)
def test_bad_options_are_400_before_the_body(site, header, value, field):
    before = site.state()
    # 1 GiB announced, none of it sent: the answer comes from the headers alone.
    answer = site.raw(site.head("a.bin", "dana", 1024**3, **{header: value}))
    assert _status(answer) == 400, answer[:300]
    assert field in json.loads(answer.partition("\r\n\r\n")[2])["error"]["fields"]
    assert _header(answer, "Connection") == "close"
    assert site.state() == before


BAD_NAMES = [
    ("", "missing"),
    ("..", "dotdot"),
    ("a%2Fb.txt", "slash"),
    ("a%00b.txt", "nul"),
    ("a%0Ab.txt", "newline"),
    ("a%1Bb.txt", "escape"),
    ("evil%E2%80%AEtxt.exe", "bidi-override"),
    ("%E2%80%8B", "only-invisible"),
]


@pytest.mark.parametrize("name", [name for name, _id in BAD_NAMES], ids=[i for _name, i in BAD_NAMES])
def test_bad_names_are_400(site, name):
    before = site.state()
    answer = site.raw(site.head(name, "dana", 1024**3))
    assert _status(answer) == 400, answer[:300]
    assert site.state() == before


def test_no_name_without_the_slash_is_400_too(site):
    answer = httpx.put(f"{site.url}/api/put", content=b"x", headers=site.auth("dana"), timeout=30)
    assert answer.status_code == 400, answer.text
    assert "file" in answer.json()["error"]["fields"]


def test_a_percent_encoded_chinese_name_is_decoded(site):
    answer = site.raw(site.head("%E6%8A%A5%E5%91%8A.txt", "dana", 3, Accept="application/json"), b"abc")
    assert _status(answer) == 201, answer[:300]
    assert json.loads(answer.partition("\r\n\r\n")[2])["items"][0]["name"] == "报告.txt"


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PATCH", "HEAD"])
def test_other_methods_are_405(site, method):
    answer = httpx.request(method, f"{site.url}/api/put/a.txt", headers=site.auth("dana"), timeout=30)
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "PUT"


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), ("charlie", 403), ("bob", 403), ("dana", 201), ("alice", 201)],
    ids=["anonymous", "charlie-no-roles", "bob-users-only", "dana-uploader", "alice-admin"],
)
def test_who_may_put(site, who, status):
    before = site.shares()
    answer = site.put("who.txt", b"bytes", who=who)
    assert answer.status_code == status, answer.text
    assert site.shares() == before + (status == 201)
    if status == 401:
        assert answer.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("scopes", "status"),
    [(["shares:write"], 201), (["shares:read", "links:write", "requests:write"], 403)],
    ids=["write-key", "key-without-shares-write"],
)
def test_an_api_key_needs_shares_write(site, scopes, status):
    created = httpx.post(
        f"{site.url}/api/keys", json={"name": "curl", "scopes": scopes}, headers=site.auth("dana"), timeout=30
    )
    assert created.status_code == 201, created.text
    before = site.shares()
    answer = httpx.put(
        f"{site.url}/api/put/keyed.txt",
        content=b"bytes",
        headers={"Authorization": f"Bearer {created.json()['key']}"},
        timeout=60,
    )
    assert answer.status_code == status, answer.text
    assert site.shares() == before + (status == 201)
    if status == 403:
        assert answer.json()["error"]["code"] == "api_key_scope"


def test_a_session_needs_its_csrf_token(site):
    with httpx.Client(base_url=site.url, timeout=30) as browser:
        page = browser.get("/login/")
        token = browser.cookies.get("csrftoken")
        logged = browser.post(
            "/login/",
            data={"username": "dana", "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{site.url}/login/"},
        )
        assert logged.status_code in (200, 302), logged.text[:300]
        assert "sessionid" in browser.cookies, page.status_code
        token = browser.cookies.get("csrftoken")
        assert browser.put("/api/put/s.txt", content=b"s").status_code == 403
        answer = browser.put("/api/put/s.txt", content=b"s", headers={"X-CSRFToken": token, "Referer": f"{site.url}/"})
        assert answer.status_code == 201, site.server.log()[-4000:]


def test_over_the_file_limit_is_413_before_the_body(site):
    before = site.state()
    answer = site.raw(site.head("big.bin", "alice", MAX_FILE + 1))  # alice: no quota, only the file limit
    assert _status(answer) == 413, answer[:300]
    assert _error_code(answer) == "file_too_large"
    assert _header(answer, "Connection") == "close"
    assert site.state() == before


def test_the_quota_counts_open_reservations_before_the_body(site):
    answer = site.raw(site.head("big.bin", "erin", QUOTA + 1))
    assert _status(answer) == 413, answer[:300]
    assert _error_code(answer) == "quota_exceeded"
    assert _header(answer, "Connection") == "close"
    # An open tus upload holds 4 MiB of erin's 6: 3 more do not fit, until it goes.
    created = httpx.post(
        f"{site.url}/api/uploads/",
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(4 * MiB),
            "Upload-Metadata": metadata(filename="held.bin"),
            **site.auth("erin"),
        },
        timeout=30,
    )
    assert created.status_code == 201, created.text
    answer = site.raw(site.head("three.bin", "erin", 3 * MiB))
    assert _status(answer) == 413 and _error_code(answer) == "quota_exceeded", answer[:300]
    assert httpx.delete(created.headers["Location"], headers={"Tus-Resumable": "1.0.0"}).status_code == 204
    assert site.put("three.bin", b"3" * (3 * MiB), who="erin").status_code == 201
    # And the 3 MiB now stored count: 4 more are over again.
    assert _status(site.raw(site.head("four.bin", "erin", 4 * MiB))) == 413


def _chunked(data: bytes, size: int = 256 * 1024) -> bytes:
    out = bytearray()
    for start in range(0, len(data), size):
        piece = data[start : start + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return bytes(out) + b"0\r\n\r\n"


@pytest.mark.parametrize(
    ("who", "size", "code"),
    [("alice", MAX_FILE + MiB, "file_too_large"), ("erin", QUOTA + MiB, "quota_exceeded")],
    ids=["file-limit", "quota"],
)
def test_a_chunked_body_is_cut_off_with_413_where_it_passes_the_limit(site, who, size, code):
    before = site.state()
    parts = urlsplit(site.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(site.head("endless.bin", who, None).encode())
        try:
            sock.sendall(_chunked(os.urandom(size)))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading once it had answered
        answer = _read_answer(sock)
    assert _status(answer) == 413, answer[:300]
    assert _error_code(answer) == code
    wait_until(lambda: site.state() == before and site.open_uploads() == 0, timeout=30)


@pytest.mark.parametrize(
    ("sent", "announced"),
    [(2 * MiB, 5 * MiB), (5 * MiB - 1, 5 * MiB), (5 * MiB, 5 * MiB), (2 * MiB, None)],
    ids=["mid-body", "before-the-last-byte", "with-the-last-byte", "chunked-mid-body"],
)
def test_a_client_that_vanishes_leaves_nothing(site, sent, announced):
    """Mid-body, before the last byte, and at once with it (the body in, the client already
    gone when the view looks: it never sees the code, so no share is made)."""
    before = site.state()
    answered = _access_lines(site)
    data = os.urandom(sent)
    body = data if announced is not None else _chunked(data)[: -len(b"0\r\n\r\n")]
    parts = urlsplit(site.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(site.head("gone.bin", "fay", announced).encode() + body)
        if announced is None or sent < announced:
            wait_until(lambda: site.open_uploads() == 1, timeout=30)  # the upload is there, holding bytes
        sock.shutdown(socket.SHUT_RDWR)
    wait_until(lambda: _access_lines(site) > answered, timeout=30)  # the server is done with it
    # No share, no bytes, no reservation: the quota is whole again.
    wait_until(lambda: site.state() == before and site.open_uploads() == 0, timeout=30)
    after = site.put("after.bin", b"a" * (5 * MiB), who="fay", Accept="application/json")
    assert after.status_code == 201, after.text
    gone = httpx.delete(f"{site.url}/api/shares/{after.json()['id']}", headers=site.auth("fay"), timeout=30)
    assert gone.status_code == 204
