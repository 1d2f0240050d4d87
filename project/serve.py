"""The production server: `python -m project.serve --workers N` (what `make serve` runs).

uvicorn with uvloop, httptools and websockets, N worker processes on one
socket (docs/decisions.md says why uvicorn, with figures). Before it starts:

- More than one process needs `REDIS_URL`: the local-memory cache and the
  in-memory channel layer are per process, so limits would multiply and
  channel messages would not cross. Without it the start is refused with
  a message and exit status 2.
- Several processes share their metrics through prometheus-client's
  multi-process mode: `PROMETHEUS_MULTIPROC_DIR` (default: a directory of
  its own under the system's temporary directory, per port) is emptied of
  the last run's files, so counters start at zero with the server.

With `--task-workers M` (`make serve TASK_WORKERS=M`, `make run`: 1) it also
starts M background task workers (`manage.py tasks_worker`, jobs/worker.py) and
stays as their supervisor: SIGTERM or SIGINT stops the server and the workers
together (each worker finishes the task in hand), a worker that dies is started
again (its task goes back to the queue after PAN_TASK_WORKER_LEASE), and when
the server exits the workers are stopped. `--server daphne` serves with daphne
instead (what `make run` uses by default).

Settings come from the environment and `.env` as for any start
(project/settings.py); a missing or placeholder secret stops it here.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
REFUSED = 2


def server_command(*, host: str, port: int, workers: int, fd: int | None = None) -> list[str]:
    """The uvicorn command line (also what project.testing.LiveServer runs for server="uvicorn").

    `fd`: serve on this already listening socket instead of binding
    `host`:`port` (a supervisor's socket, or the tests' race-free port)."""
    address = ["--fd", str(fd)] if fd is not None else ["--host", host, "--port", str(port)]
    return [
        sys.executable,
        "-m",
        "uvicorn",
        *address,
        "--workers",
        str(workers),
        # Its own access log prints query strings (share codes travel there);
        # Pan's logs paths only.
        "--no-access-log",
        # Client addresses are Pan's business (TRUSTED_PROXIES): uvicorn would
        # otherwise believe X-Forwarded-For from any local peer.
        "--no-proxy-headers",
        # Pan answers the lifespan protocol: its shutdown event writes what the
        # process buffered (project/lib/stopping.py: link statistics).
        "--lifespan",
        "on",
        # A pipelined keep-alive request would otherwise start with the
        # previous request's context variables (project/lib/request_context.py;
        # the application guards against it too).
        "--reset-contextvars",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        # uvicorn 0.54 warns at start that this will mean "websockets-sansio"
        # in a later release; that one passes the same tests (docs/decisions.md).
        "--ws",
        "websockets",
        "project.asgi:application",
    ]


def daphne_command(*, host: str, port: int, fd: int | None = None) -> list[str]:
    """The daphne command line (`make run`'s default server)."""
    address = ["--fd", str(fd)] if fd is not None else ["-b", host, "-p", str(port)]
    return [sys.executable, "-m", "daphne", *address, "project.asgi:application"]


def task_worker_command() -> list[str]:
    return [sys.executable, str(BASE_DIR / "manage.py"), "tasks_worker"]


# A worker that dies at once again and again is restarted at most this often (s).
RESTART_PAUSE = 1.0


def supervise(server: list[str], *, task_workers: int, pass_fds=()) -> int:
    """Run the server and `task_workers` task workers until the server exits or
    SIGTERM/SIGINT arrives; then stop them all. Return the server's exit status."""
    stopping = False

    def stop(_signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    web = subprocess.Popen(server, pass_fds=pass_fds)  # noqa: S603 - our own server
    workers = [subprocess.Popen(task_worker_command()) for _ in range(task_workers)]  # noqa: S603
    started = [time.monotonic()] * task_workers
    try:
        while not stopping and web.poll() is None:
            for index, worker in enumerate(workers):
                if worker.poll() is not None and time.monotonic() - started[index] >= RESTART_PAUSE:
                    sys.stderr.write(
                        f"serve: task worker {worker.pid} exited ({worker.returncode}), starting another\n"
                    )
                    workers[index] = subprocess.Popen(task_worker_command())  # noqa: S603
                    started[index] = time.monotonic()
            time.sleep(0.2)  # the supervisor's poll of its children, not a test wait
    finally:
        for proc in [web, *workers]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in [web, *workers]:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return 0 if stopping else (web.returncode or 0)


def metrics_directory(port: int) -> Path:
    """PROMETHEUS_MULTIPROC_DIR, created and emptied of a previous run's files."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    directory = Path(given) if given else Path(tempfile.gettempdir()) / f"pan-metrics-{port}"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Only prometheus-client's own files: the directory may be the operator's.
    for leftover in directory.glob("*.db"):
        leftover.unlink()
    return directory


def listener_without_nagle(fd: int) -> None:
    """TCP_NODELAY on an inherited listening socket, for every connection it accepts.

    `uvicorn --fd` takes any inherited socket for a Unix one (uvicorn 0.54:
    `socket.fromfd(fd, AF_UNIX, ...)`), so uvloop serves its connections as
    Unix streams and never sets TCP_NODELAY on them, as it does on the
    sockets it binds itself. A response written in two parts (headers,
    then a body under one segment: a page, a JSON answer) then waits for
    the client's delayed ACK of the first part: 40 ms on Linux, every
    response (docs/performance.md). Linux gives accepted connections the
    listener's TCP_NODELAY, so setting it here reaches them all.
    """
    with socket.socket(fileno=os.dup(fd)) as sock:  # a duplicate: fd stays open
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _port_of(fd: int) -> int:
    with socket.socket(fileno=os.dup(fd)) as sock:  # a duplicate (family detected): fd stays open
        return sock.getsockname()[1]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m project.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--fd", type=int, default=None, help="serve on this inherited, listening socket instead of --host/--port"
    )
    parser.add_argument("--workers", type=int, default=1, help="server processes (more than 1 needs REDIS_URL)")
    parser.add_argument(
        "--task-workers", type=int, default=0, help="background task workers started and stopped with the server"
    )
    parser.add_argument("--server", choices=["uvicorn", "daphne"], default="uvicorn")
    parser.add_argument("--check", action="store_true", help="only check that the server may start (make serve, first)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.workers < 1 or args.task_workers < 0:
        sys.stderr.write("serve: --workers must be 1 or more, --task-workers 0 or more\n")
        return REFUSED
    if args.server == "daphne" and args.workers != 1:
        sys.stderr.write("serve: daphne runs one process (--workers 1); use uvicorn for more\n")
        return REFUSED
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        redis_url = settings.REDIS_URL  # loads .env and checks the secrets, as the server would
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"serve: {exc}\n")
        return REFUSED
    if args.workers > 1 and not redis_url:
        sys.stderr.write(
            f"serve: refusing to start {args.workers} processes without REDIS_URL.\n"
            "  Each process would keep its own cache and channel layer: rate limits and code-guessing\n"
            "  limits would multiply, and channel messages would not cross processes.\n"
            "  Set REDIS_URL=redis://HOST:6379/0 (in .env or the environment), or run one process (WORKERS=1).\n"
        )
        return REFUSED
    if args.check:
        return 0
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # present but empty would switch the mode on
    port = args.port if args.fd is None else _port_of(args.fd)
    if args.fd is not None:
        listener_without_nagle(args.fd)
    if args.workers > 1 or "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_directory(port))
    if args.server == "daphne":
        command = daphne_command(host=args.host, port=port, fd=args.fd)
    else:
        command = server_command(host=args.host, port=port, workers=args.workers, fd=args.fd)
    sys.stdout.flush()
    os.chdir(BASE_DIR)
    if args.task_workers:
        return supervise(command, task_workers=args.task_workers, pass_fds=() if args.fd is None else (args.fd,))
    # Replaced by uvicorn: signals from a supervisor reach the server itself.
    os.execv(command[0], command)  # noqa: S606 - our own interpreter and arguments
    return 0  # pragma: no cover - execv does not return


if __name__ == "__main__":
    raise SystemExit(main())
