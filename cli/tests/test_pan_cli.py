"""The `pan` command-line client (cli/, docs/cli.md), run as a subprocess
against a live server: real tus uploads, real downloads, real errors.

The client is run as `python -m pan_cli` from this worktree's cli/ folder
(so the code under test is the one here); `test_the_pan_command_is_installed`
checks the `pan` entry point that `make setup-dev` installs."""

import hashlib
import json
import os
import secrets
import select
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from project.testing import FreezableProxy, LiveServer, refusing_port, wait_until

pytestmark = pytest.mark.live

CLI_DIR = Path(__file__).resolve().parents[1]
REPO = CLI_DIR.parent
PASSWORD = "cli-Pass-2026!"


class ShapingProxy:
    """A TCP proxy to a server that shapes traffic the way networks break it:
    bytes from clients flow at most `upload_rate` bytes a second (None: at
    once); bytes both ways are counted (`uploaded`, `downloaded`), and with `cut_after`
    set a connection is closed once it has carried that many bytes to its
    client. One thread per direction per connection; `stop()` ends them."""

    def __init__(self, target_port: int):
        self.target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.upload_rate: float | None = None
        self.cut_after: int | None = None
        self.downloaded = 0
        self.uploaded = 0
        self.cuts = 0
        self._stopped = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "ShapingProxy":
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopped.set()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target, timeout=5)
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, "up"), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, "down"), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, direction: str) -> None:
        carried = 0
        try:
            while not self._stopped.is_set():
                readable, _w, _x = select.select([source], [], [], 0.05)
                if not readable:
                    continue
                data = source.recv(65536 if direction == "down" else 16384)
                if not data:
                    break
                if direction == "down":
                    cut = self.cut_after
                    if cut is not None and carried + len(data) >= cut:
                        data = data[: max(cut - carried, 0)]
                        sink.sendall(data)
                        self.downloaded += len(data)
                        self.cuts += 1
                        break
                    self.downloaded += len(data)
                else:
                    self.uploaded += len(data)
                    if self.upload_rate:
                        time.sleep(len(data) / self.upload_rate)  # the throttle itself, not a wait for a condition
                sink.sendall(data)
                carried += len(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class TrippingProxy(FreezableProxy):
    """A FreezableProxy that freezes itself once `trip_after` bytes from its clients reached the
    server: mid-request, at a byte count rather than a moment (uploads through it take about a second)."""

    def __init__(self, target_port: int, trip_after: int):
        super().__init__(target_port)
        self.trip_after: int | None = trip_after
        self.uploaded = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            from_client = source.getsockname()[1] == self.port  # accepted here: a client's connection
        except OSError:  # closed already
            from_client = False
        super()._pump(source, _Counted(sink, self) if from_client else sink)


class _Counted:
    def __init__(self, sock: socket.socket, proxy: TrippingProxy):
        self._sock, self._proxy = sock, proxy

    def sendall(self, data: bytes) -> None:
        self._sock.sendall(data)
        proxy = self._proxy
        proxy.uploaded += len(data)
        if proxy.trip_after is not None and proxy.uploaded >= proxy.trip_after:
            proxy.trip_after = None
            proxy.freeze()

    def __getattr__(self, name):
        return getattr(self._sock, name)


@pytest.fixture(scope="module")
def server():
    with LiveServer() as live:
        yield live


@pytest.fixture(scope="module")
def uploader(server):
    """(username, API key with the five scopes `pan login` asks for) of an account with the `uploaders` role."""
    name, access = server.uploader("cli", PASSWORD)
    scopes = ["shares:read", "shares:write", "requests:write", "links:read", "links:write"]
    answer = httpx.post(
        f"{server.url}/api/keys",
        json={"name": "cli tests", "scopes": scopes},
        headers={"Authorization": f"Bearer {access}"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return name, answer.json()["key"]


@pytest.fixture
def home(tmp_path):
    """A home of its own: the client's config and cache folders (platformdirs follows XDG_* on Linux)."""
    folders = {"HOME": tmp_path / "home", "XDG_CONFIG_HOME": tmp_path / "config", "XDG_CACHE_HOME": tmp_path / "cache"}
    for folder in folders.values():
        folder.mkdir()
    return {name: str(folder) for name, folder in folders.items()}


def pan_env(home: dict, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAN_", "LC_", "LANG", "DJANGO"))}
    env.update(home)
    env.update({"PYTHONPATH": str(CLI_DIR), "LANG": "en_US.UTF-8", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def pan(*args: str, env: dict, stdin: str = "", timeout: float = 180) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "pan_cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
    # An exit code from a crash (Python exits 1 on an uncaught exception) is not the client's answer.
    assert "Traceback" not in done.stderr, done.stderr
    return done


def pan_json(*args: str, env: dict, stdin: str = "") -> dict:
    done = pan(*args, "--json", env=env, stdin=stdin)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def share_as_owner(server, token: str, share_id: str) -> dict:
    answer = httpx.get(f"{server.url}/api/shares/{share_id}", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def item_bytes(server, token: str, share_id: str, item_id: int) -> bytes:
    answer = httpx.get(
        f"{server.url}/api/shares/{share_id}/items/{item_id}/content",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return answer.content


def share_of(server, token: str, files: dict, **fields) -> dict:
    """A share made through the multipart API (not the client under test)."""
    answer = httpx.post(
        f"{server.url}/api/shares",
        headers={"Authorization": f"Bearer {token}"},
        files=[("file", (name, content)) for name, content in files.items()],
        data=fields,
        timeout=60,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


# --- pan send ----------------------------------------------------------------


def test_send_a_folder_killed_mid_upload_then_run_again_completes_once(server, uploader, home, tmp_path):
    _name, token = uploader
    folder = tmp_path / "holiday"
    (folder / "photos").mkdir(parents=True)
    contents = {
        "holiday/notes.txt": "注意：防晒\n".encode() * 10,
        "holiday/photos/big.bin": secrets.token_bytes(40 * 1024 * 1024),
        "holiday/photos/small.jpg": secrets.token_bytes(1000),
    }
    for relative, content in contents.items():
        (tmp_path / relative).write_bytes(content)
    with ShapingProxy(server.ports[0]) as proxy:
        proxy.upload_rate = 8 * 1024 * 1024  # bytes a second: the big file takes about five
        env = pan_env(home, PAN_URL=proxy.url, PAN_KEY=token)
        process = subprocess.Popen(
            [sys.executable, "-m", "pan_cli", "send", str(folder), "--title", "Holiday", "--json"],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        states = Path(home["XDG_CACHE_HOME"]) / "pan" / "send"

        def big_file_upload() -> str | None:
            for path in states.glob("*.json"):
                try:
                    data = json.loads(path.read_text())
                except ValueError:
                    continue  # being replaced
                # Files go in name order: notes.txt, photos/big.bin, photos/small.jpg.
                return data["files"][1]["url"]
            return None

        try:
            tus_url = wait_until(big_file_upload, timeout=60, message="the big file's upload is created")
            direct = f"{server.url}{urlsplit(tus_url).path}"

            def server_offset() -> int:
                answer = httpx.head(direct, headers={"Tus-Resumable": "1.0.0"}, timeout=10)
                return int(answer.headers["Upload-Offset"])

            wait_until(lambda: server_offset() > 0, timeout=60, message="some bytes of the big file are accepted")
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        cut_at = server_offset()
        assert 0 < cut_at < len(contents["holiday/photos/big.bin"])
        state_file = next(states.glob("*.json"))
        assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
        share_id = json.loads(state_file.read_text())["share"]
        assert share_as_owner(server, token, share_id)["state"] == "uploading"

        proxy.upload_rate, proxy.uploaded = None, 0
        done = pan("send", str(folder), "--title", "Holiday", "--json", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    big = len(contents["holiday/photos/big.bin"])
    assert proxy.uploaded < big - cut_at + 2 * 1024 * 1024  # the rest of the big file, not all of it again
    sent = json.loads(done.stdout)
    assert sent["id"] == share_id  # the same share, resumed
    assert sent["state"] == "active" and sent["title"] == "Holiday"
    assert len(sent["code"]) == 8 and sent["share_url"].endswith(f"?code={sent['code']}")
    share = share_as_owner(server, token, share_id)
    paths = sorted(item["path"] for item in share["items"])
    assert paths == sorted(contents)  # every file once: no item twice
    for item in share["items"]:
        content = contents[item["path"]]
        assert item["sha256"] == hashlib.sha256(content).hexdigest()
        assert item_bytes(server, token, share_id, item["id"]) == content
    assert not list(states.glob("*.json"))  # the state is forgotten once the share is complete
    # The same command again sends the same files as a new share.
    again = pan_json("send", str(folder / "photos" / "small.jpg"), env=pan_env(home, PAN_URL=server.url, PAN_KEY=token))
    assert again["id"] != share_id and [item["path"] for item in again["items"]] == ["small.jpg"]


def test_send_to_a_server_that_stops_answering_exits_3_and_the_rerun_resumes(server, uploader, home, tmp_path):
    """A server that keeps the connection open and answers nothing (FreezableProxy frozen in the middle of a
    PATCH): the tus request times out (PAN_TIMEOUT) and `pan send` exits 3, in bounded time; the rerun
    continues the same upload. Without timeouts tuspy's PATCH waits forever."""
    _name, token = uploader
    content = secrets.token_bytes(16 * 1024 * 1024)
    big = tmp_path / "stalled.bin"
    big.write_bytes(content)
    chunk = 4 * 1024 * 1024  # send.CHUNK_SIZE
    with TrippingProxy(server.ports[0], trip_after=chunk + chunk // 2) as proxy:  # frozen in the second PATCH
        env = pan_env(home, PAN_URL=proxy.url, PAN_KEY=token, PAN_TIMEOUT="3")
        process = subprocess.Popen(
            [sys.executable, "-m", "pan_cli", "send", str(big), "--json"],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            out, err = process.communicate(timeout=90)  # the bound: a hang fails here
        finally:
            process.kill()
        assert "Traceback" not in err, err
        assert process.returncode == 3, out + err
        assert json.loads(out)["error"]["code"] == "timeout"
        assert proxy.trip_after is None  # it did freeze, mid-upload
        state = json.loads(next((Path(home["XDG_CACHE_HOME"]) / "pan" / "send").glob("*.json")).read_text())
        direct = f"{server.url}{urlsplit(state['files'][0]['url']).path}"
        offset = int(httpx.head(direct, headers={"Tus-Resumable": "1.0.0"}, timeout=10).headers["Upload-Offset"])
        assert chunk <= offset < len(content)  # the first PATCH arrived, not the whole file

        # Still frozen: a rerun's first request (the share, through httpx) times out as well.
        frozen = pan("send", str(big), "--json", env=env, timeout=90)
        assert frozen.returncode == 3, frozen.stdout + frozen.stderr
        assert json.loads(frozen.stdout)["error"]["code"] == "timeout"

        proxy.thaw()
        proxy.uploaded = 0
        done = pan("send", str(big), "--json", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    sent = json.loads(done.stdout)
    assert sent["id"] == state["share"] and sent["state"] == "active"
    assert proxy.uploaded < len(content) - offset + 2 * 1024 * 1024  # the rest, not the whole file again
    share = share_as_owner(server, token, sent["id"])
    assert [item["path"] for item in share["items"]] == ["stalled.bin"]
    assert item_bytes(server, token, sent["id"], share["items"][0]["id"]) == content


def test_send_with_options_and_get_with_the_password(server, uploader, home, tmp_path):
    _name, token = uploader
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.7 " + secrets.token_bytes(5000))
    env = pan_env(home, PAN_URL=server.url, PAN_KEY=token)
    sent = pan_json(
        "send",
        str(report),
        "--expires",
        "2h",
        "--max-downloads",
        "3",
        "--password-stdin",
        env=env,
        stdin="s3cret-pw\n",
    )
    assert sent["has_password"] is True and sent["max_downloads"] == 3
    assert sent["expires_at"] is not None

    out = tmp_path / "got"
    # Without the password on stdin (none given): a usage problem, nothing saved.
    missing = pan("get", sent["code_display"], "-o", str(out), "--json", env=pan_env(home, PAN_URL=server.url))
    assert missing.returncode == 1, missing.stdout + missing.stderr
    assert json.loads(missing.stdout)["error"]["code"] == "no_password"
    wrong = pan(
        "get",
        sent["code_display"],
        "-o",
        str(out),
        "--password-stdin",
        env=pan_env(home, PAN_URL=server.url),
        stdin="not-it\n",
    )
    assert wrong.returncode == 2, wrong.stdout + wrong.stderr
    assert not out.exists() or not any(out.iterdir())
    got = pan_json(
        "get", sent["share_url"], "-o", str(out), "--password-stdin", env=pan_env(home), stdin="s3cret-pw\n"
    )  # a whole link: the server comes from it, no PAN_URL needed
    assert (out / "report.pdf").read_bytes() == report.read_bytes()
    assert got["files"][0]["sha256"] == hashlib.sha256(report.read_bytes()).hexdigest()


# --- pan get -----------------------------------------------------------------


def test_get_with_a_chinese_password(server, uploader, home, tmp_path):
    """A password outside ASCII: the pickup takes it in JSON, the downloads in `X-Share-Password` as UTF-8
    bytes, which the server reads as UTF-8 (project.lib.secrets.header_secret) — items, the zip, and a link."""
    _name, token = uploader
    password = "密码-Lantern-71"
    files = {"报告.txt": "第一季度\n".encode() * 100, "data.bin": secrets.token_bytes(300_000)}
    share = share_of(server, token, files, password=password)
    env = pan_env(home, PAN_URL=server.url)
    out = tmp_path / "got"
    got = pan_json("get", share["code_display"], "-o", str(out), "--password-stdin", env=env, stdin=f"{password}\n")
    assert {Path(file["path"]).name for file in got["files"]} == set(files)
    for name, content in files.items():
        assert (out / name).read_bytes() == content
    zipped = pan_json(
        "get", share["code"], "--zip", "-o", str(tmp_path / "zip"), "--password-stdin", env=env, stdin=f"{password}\n"
    )
    assert Path(zipped["files"][0]["path"]).stat().st_size > 300_000
    by_link = pan_json(
        "get",
        share["share_url"],
        "-o",
        str(tmp_path / "link"),
        "--password-stdin",
        env=pan_env(home),
        stdin=f"{password}\n",
    )
    assert len(by_link["files"]) == 2
    wrong = pan("get", share["code"], "-o", str(tmp_path / "no"), "--password-stdin", "--json", env=env, stdin="密码\n")
    assert wrong.returncode == 2 and json.loads(wrong.stdout)["error"]["code"] == "password_rejected"


def test_get_resumes_a_part_file_and_refetches_a_damaged_one(server, uploader, home, tmp_path):
    _name, token = uploader
    content = secrets.token_bytes(3 * 1024 * 1024 + 17)
    share = share_of(server, token, {"data.bin": content, "readme.txt": b"hello"})
    half = len(content) // 2
    with ShapingProxy(server.ports[0]) as proxy:
        env = pan_env(home, PAN_URL=proxy.url)

        # A .part of the first half, left by an earlier run: only the rest comes over the network.
        out = tmp_path / "resumed"
        out.mkdir()
        (out / "data.bin.part").write_bytes(content[:half])
        got = pan_json("get", share["code"], "-o", str(out), env=env)
        assert (out / "data.bin").read_bytes() == content
        assert (out / "readme.txt").read_bytes() == b"hello"
        assert not (out / "data.bin.part").exists()
        assert proxy.downloaded < len(content) - half + 100_000  # the rest, answers and headers; not the whole
        assert {Path(file["path"]).name for file in got["files"]} == {"data.bin", "readme.txt"}

        # A damaged .part: the whole file does not match its SHA-256, so it is fetched again from zero.
        proxy.downloaded = 0
        damaged = tmp_path / "damaged"
        damaged.mkdir()
        bad = bytearray(content[:half])
        bad[100] ^= 0xFF
        (damaged / "data.bin.part").write_bytes(bytes(bad))
        done = pan("get", share["code"].lower(), "-o", str(damaged), env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "did not match" in done.stderr
        assert (damaged / "data.bin").read_bytes() == content
        assert proxy.downloaded > len(content)

        # Run again into the same folder: nothing is fetched again.
        proxy.downloaded = 0
        again = pan("get", share["code"], "-o", str(damaged), env=env)
        assert again.returncode == 0 and "already downloaded" in again.stderr
        assert proxy.downloaded < 50_000


def test_get_cut_by_the_network_exits_3_and_a_rerun_continues(server, uploader, home, tmp_path):
    _name, token = uploader
    content = secrets.token_bytes(4 * 1024 * 1024)
    share = share_of(server, token, {"movie.mp4": content})
    out = tmp_path / "out"
    with ShapingProxy(server.ports[0]) as proxy:
        env = pan_env(home, PAN_URL=proxy.url)
        proxy.cut_after = 2 * 1024 * 1024  # a connection dies after 2 MiB reached the client
        cut = pan("get", share["code_display"], "-o", str(out), env=env)
        assert cut.returncode == 3, cut.stdout + cut.stderr
        assert "run the same command again" in cut.stderr
        kept = (out / "movie.mp4.part").stat().st_size
        assert 0 < kept < len(content)
        proxy.cut_after, proxy.downloaded = None, 0
        done = pan("get", share["code_display"], "-o", str(out), env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert proxy.downloaded < len(content) - kept + 100_000  # resumed from the .part, not from zero
    assert (out / "movie.mp4").read_bytes() == content


def test_get_the_zip(server, uploader, home, tmp_path):
    import zipfile

    _name, token = uploader
    share = share_of(server, token, {"a.txt": b"alpha", "b.txt": b"beta"})
    out = tmp_path / "zip"
    got = pan_json("get", share["code"], "--zip", "-o", str(out), env=pan_env(home, PAN_URL=server.url))
    with zipfile.ZipFile(got["files"][0]["path"]) as archive:
        assert {name: archive.read(name) for name in archive.namelist()} == {"a.txt": b"alpha", "b.txt": b"beta"}


# --- Owning: ls, rm, revoke; requests; short links ---------------------------


def test_ls_revoke_rm_request_and_shorten_in_json(server, uploader, home, tmp_path):
    _name, token = uploader
    env = pan_env(home, PAN_URL=server.url, PAN_KEY=token)
    note = tmp_path / "note.txt"
    note.write_text("hi")
    sent = pan_json("send", str(note), "--title", "listed here", env=env)
    listed = pan_json("ls", env=env)
    assert sent["id"] in [share["id"] for share in listed]
    text = pan("ls", env=env)
    assert text.returncode == 0 and sent["id"] in text.stdout and "listed here" in text.stdout

    revoked = pan_json("revoke", sent["id"], env=env)
    assert revoked["state"] == "revoked"
    gone = pan("get", sent["code"], "-o", str(tmp_path / "x"), "--json", env=env)
    assert gone.returncode == 2 and json.loads(gone.stdout)["error"]["status"] in (403, 410)

    assert pan_json("rm", sent["id"], env=env) == {"deleted": sent["id"]}
    assert sent["id"] not in [share["id"] for share in pan_json("ls", env=env)]
    again = pan("rm", sent["id"], "--json", env=env)
    assert again.returncode == 2 and json.loads(again.stdout)["error"]["status"] == 404

    request = pan_json("request", "new", "--title", "Essays", "--expires", "7d", "--max-files", "5", env=env)
    assert request["title"] == "Essays" and request["url"].startswith(server.url) and "-" in request["code"]
    answer = httpx.post(f"{server.url}/api/pickup", json={"code": request["code"]}, timeout=10)
    assert answer.json()["kind"] == "request"

    short = pan_json("shorten", "https://example.com/a/long/path?x=1", env=env)
    assert short["url"] == "https://example.com/a/long/path?x=1" and short["short_url"].startswith(server.url)
    assert httpx.get(short["short_url"], timeout=10).headers["Location"] == short["url"]


# --- Exit codes, languages, the config file -----------------------------------


def test_exit_codes(server, uploader, home, tmp_path):
    _name, token = uploader
    env = pan_env(home, PAN_URL=server.url, PAN_KEY=token)
    assert pan("send", "--no-such-option", str(tmp_path), env=env).returncode == 1
    # A share id may begin with "-" (base64url): it is the NAME, not an option (the server says 404).
    for command in ("rm", "revoke"):
        dashed = pan(command, "-EDEo832P2UdL2Fis0CmOA", "--json", env=env)
        assert dashed.returncode == 2 and json.loads(dashed.stdout)["error"]["status"] == 404, dashed.stdout
    assert pan("send", str(tmp_path / "missing"), env=env).returncode == 1
    assert pan("send", "--expires", "soon", str(tmp_path), env=env).returncode == 1
    assert pan("get", "no code in here", env=env).returncode == 1
    assert pan("ls", env=pan_env(home, PAN_URL=server.url)).returncode == 1  # not signed in
    (tmp_path / "empty").mkdir()
    assert pan("send", str(tmp_path / "empty"), env=env).returncode == 1  # nothing to send

    wrong = pan("get", "ZZZZ-ZZZZ", "--json", env=env)
    assert wrong.returncode == 2
    assert json.loads(wrong.stdout)["error"] == {
        "code": "code_rejected",
        "message": "The share code is not correct.",
        "exit": 2,
        "status": 403,
    }
    assert pan("rm", "nosuchshare", env=env).returncode == 2
    assert pan("ls", env=pan_env(home, PAN_URL=server.url, PAN_KEY="pan_" + "x" * 40)).returncode == 2

    closed = pan_env(home, PAN_URL=f"http://127.0.0.1:{refusing_port()}", PAN_KEY=token)
    unreachable = pan("ls", "--json", env=closed)
    assert unreachable.returncode == 3, unreachable.stdout + unreachable.stderr
    assert json.loads(unreachable.stdout)["error"]["code"] == "unreachable"
    assert pan("get", f"http://127.0.0.1:{refusing_port()}/f/abc/?code=ABCD2345", env=closed).returncode == 3
    note = tmp_path / "n.txt"
    note.write_text("x")
    assert pan("send", str(note), env=closed).returncode == 3


def test_errors_in_the_users_language(server, uploader, home):
    _name, token = uploader
    env = pan_env(home, PAN_URL=server.url, PAN_KEY=token, LANG="zh_CN.UTF-8")
    wrong = pan("get", "ZZZZ-ZZZZ", env=env)
    assert wrong.returncode == 2
    assert "错误" in wrong.stderr and "提取码不正确。" in wrong.stderr  # the client's word and the server's message
    usage = pan("get", "nothing", env=env)
    assert usage.returncode == 1 and "中没有提取码或分享链接" in usage.stderr
    english = pan("get", "ZZZZ-ZZZZ", env={**env, "LANG": "zh_CN.UTF-8", "LC_ALL": "en_GB.UTF-8"})
    assert "The share code is not correct." in english.stderr  # LC_ALL wins over LANG


def _keys_api_present() -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve("/api/keys")
    except Resolver404:
        return False
    return True


@pytest.mark.skipif(not _keys_api_present(), reason="the API keys (POST /api/keys) are not in this tree yet")
def test_login_stores_a_key_in_a_private_file_and_logout_deletes_it(server, home, tmp_path):
    name, _token = server.uploader("login", PASSWORD)
    env = pan_env(home)
    done = pan("login", server.url, "--username", name, "--json", env=env, stdin=f"{PASSWORD}\n")
    assert done.returncode == 0, done.stdout + done.stderr
    path = Path(home["XDG_CONFIG_HOME"]) / "pan" / "config.json"
    assert json.loads(done.stdout)["config"] == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    stored = json.loads(path.read_text())
    assert stored["url"] == server.url and stored["key"].startswith("pan_")
    # The stored key is what the next commands use.
    note = tmp_path / "n.txt"
    note.write_text("x")
    sent = pan_json("send", str(note), env=env)
    assert sent["owner"] == name
    wrong = pan("login", server.url, "--username", name, env=env, stdin="wrong password\n")
    assert wrong.returncode == 2

    # Keys cannot delete keys (docs/api-keys.md): logout signs in again to delete it.
    refused = pan("logout", "--json", env=env, stdin="wrong password\n")
    assert refused.returncode == 2 and path.exists()
    assert pan_json("logout", env=env, stdin=f"{PASSWORD}\n") == {"signed_out": True, "deleted": True}
    assert not path.exists()
    answer = httpx.get(f"{server.url}/api/shares", headers={"Authorization": f"Bearer {stored['key']}"}, timeout=10)
    assert answer.status_code == 401  # the key is dead on the server
    assert pan_json("logout", env=env) == {"signed_out": False}

    # A key revoked elsewhere (the account page): logout only forgets it here, asking nothing.
    assert pan("login", server.url, "--username", name, env=env, stdin=f"{PASSWORD}\n").returncode == 0
    key_id = json.loads(path.read_text())["key_id"]
    access = httpx.post(f"{server.url}/api/login", json={"username": name, "password": PASSWORD}, timeout=10).json()
    deleted = httpx.delete(
        f"{server.url}/api/keys/{key_id}", headers={"Authorization": f"Bearer {access['access']}"}, timeout=10
    )
    assert deleted.status_code == 204
    assert pan_json("logout", env=env) == {"signed_out": True, "deleted": False}
    assert not path.exists()


def totp_turned_on(server, username: str) -> tuple[str, list[str]]:
    """(secret, recovery codes): an authenticator app turned on for `username` through the service
    (accounts.factors.totp_add, as the security page does), on the live server's database."""
    import pyotp

    secret = pyotp.random_base32(32)
    script = (
        "import json; from accounts import factors; from accounts.models import User; "
        f"user = User.objects.get(username={username!r}); "
        f"print(json.dumps(factors.totp_add(user=user, password={PASSWORD!r}, secret={secret!r}, "
        f"code={pyotp.TOTP(secret).now()!r}, client='cli-tests')))"
    )
    codes = json.loads(server.manage("shell", "-v", "0", "-c", script).stdout.strip().splitlines()[-1])
    assert len(codes) == 10
    return secret, codes


def test_login_and_logout_with_a_second_factor(server, home, tmp_path):
    """An account with TOTP: login answers `mfa_required`; the client sends the code (from stdin after the
    password, or --code) to /api/login/mfa. A wrong code is the API's refusal (exit 2); a recovery code works
    once."""
    import pyotp

    name, _token = server.uploader("mfa", PASSWORD)
    secret, recovery = totp_turned_on(server, name)
    totp = pyotp.TOTP(secret)
    env = pan_env(home)
    path = Path(home["XDG_CONFIG_HOME"]) / "pan" / "config.json"

    now = time.time()
    valid = {totp.at(now + 30 * step) for step in range(-2, 4)}
    wrong_code = next(code for code in (f"{n:06d}" for n in range(123456, 999999, 7919)) if code not in valid)
    wrong = pan("login", server.url, "-u", name, "--json", env=env, stdin=f"{PASSWORD}\n{wrong_code}\n")
    assert wrong.returncode == 2, wrong.stdout + wrong.stderr
    assert json.loads(wrong.stdout)["error"] == {
        "code": "mfa_code_invalid",
        "message": "The code is not correct.",
        "exit": 2,
        "status": 401,
    }
    assert not path.exists()
    in_chinese = pan("login", server.url, "-u", name, env={**env, "LANG": "zh_CN.UTF-8"}, stdin=f"{PASSWORD}\n")
    assert in_chinese.returncode == 1 and "第二重验证" in in_chinese.stderr  # no code given: asked for one
    assert not path.exists()

    # The step after this one: totp_add used this step's code, and a step is accepted once.
    code = totp.at(time.time() + 30)
    done = pan("login", server.url, "-u", name, "--code", code, "--json", env=env, stdin=f"{PASSWORD}\n")
    assert done.returncode == 0, done.stdout + done.stderr
    stored = json.loads(path.read_text())
    assert stored["key"].startswith("pan_") and stored["username"] == name
    note = tmp_path / "n.txt"
    note.write_text("x")
    assert pan_json("send", str(note), env=env)["owner"] == name

    # logout signs in again (keys cannot delete keys): a recovery code, on the line after the password.
    used = recovery[0]
    signed_out = pan_json("logout", env=env, stdin=f"{PASSWORD}\n{used.lower()}\n")
    assert signed_out == {"signed_out": True, "deleted": True}
    assert not path.exists()
    answer = httpx.get(f"{server.url}/api/shares", headers={"Authorization": f"Bearer {stored['key']}"}, timeout=10)
    assert answer.status_code == 401  # the key is dead on the server
    again = pan("login", server.url, "-u", name, "--json", env=env, stdin=f"{PASSWORD}\n{used}\n")
    assert again.returncode == 2 and json.loads(again.stdout)["error"]["code"] == "mfa_code_used"
    assert not path.exists()


# --- The package -------------------------------------------------------------


def test_the_pan_command_is_installed():
    """`make setup-dev` installs cli/ into the venv: its `pan` is this version."""
    sys.path.insert(0, str(CLI_DIR))
    try:
        from pan_cli import __version__
    finally:
        sys.path.remove(str(CLI_DIR))
    command = Path(sys.executable).parent / "pan"
    assert command.exists(), "no `pan` in the venv: run make setup-dev"
    done = subprocess.run([str(command), "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"pan, version {__version__}"


def test_the_clients_pins_are_the_locked_ones():
    """cli/pyproject.toml pins what requirements-dev.txt locks (the client's dependencies are hashed there)."""
    pins = tomllib.loads((CLI_DIR / "pyproject.toml").read_text())["project"]["dependencies"]
    locked = (REPO / "requirements-dev.txt").read_text().lower()
    for pin in pins:
        assert f"\n{pin.lower()} \\" in locked, f"{pin} is not what requirements-dev.txt locks"


def test_every_text_of_the_client_has_its_chinese():
    """Each `t("…")` in cli/pan_cli has an entry in zh_Hans.json (a missing one would show English)."""
    import ast

    translations = json.loads((CLI_DIR / "pan_cli" / "zh_Hans.json").read_text(encoding="utf-8"))
    texts = set()
    for source in (CLI_DIR / "pan_cli").glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "t" and node.args:
                assert isinstance(node.args[0], ast.Constant), f"{source.name}: t() of a non-literal"
                texts.add(node.args[0].value)
    assert len(texts) > 30
    assert sorted(texts - set(translations)) == []
