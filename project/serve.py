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

Settings come from the environment and `.env` as for any start
(project/settings.py); a missing or placeholder secret stops it here.
"""

import argparse
import os
import socket
import sys
import tempfile
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


def metrics_directory(port: int) -> Path:
    """PROMETHEUS_MULTIPROC_DIR, created and emptied of a previous run's files."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    directory = Path(given) if given else Path(tempfile.gettempdir()) / f"pan-metrics-{port}"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Only prometheus-client's own files: the directory may be the operator's.
    for leftover in directory.glob("*.db"):
        leftover.unlink()
    return directory


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
    parser.add_argument("--check", action="store_true", help="only check that the server may start (make serve, first)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.workers < 1:
        sys.stderr.write("serve: --workers must be 1 or more\n")
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
    if args.workers > 1 or "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_directory(port))
    command = server_command(host=args.host, port=port, workers=args.workers, fd=args.fd)
    sys.stdout.flush()
    os.chdir(BASE_DIR)
    # Replaced by uvicorn: signals from a supervisor reach the server itself.
    os.execv(command[0], command)  # noqa: S606 - our own interpreter and arguments
    return 0  # pragma: no cover - execv does not return


if __name__ == "__main__":
    raise SystemExit(main())
