"""One Django process per live server for the tests' `manage.py` calls.

A live test grants a role or reads a row with `LiveServer.manage(...)`,
often several times per test. Each `manage.py` process costs about two
seconds of CPU before it does anything (Django's setup with every app,
DRF and Twisted imported); some 200 such calls were a fifth of the suite's CPU.
So `LiveServer.manage` hands the commands that keep no state between calls
(`COMMANDS`) to one process started with the server's environment, which
runs each with Django's own `ManagementUtility`, as `manage.py` would: the
same parsing, the same `CommandError` on stderr and exit status 1, the
command's output captured.

Each call starts from what a new process would see of the database: the
connections of the previous call are closed first. A call with another
environment (`env=`), or any other command, still gets a process of its own.

The child side is `python -m project.testing_commands`: one JSON line in per
command (its argv), one JSON line out (status, stdout, stderr).
"""

import contextlib
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from project.testing import BASE_DIR

# Commands that leave nothing behind in the process that ran them: a role
# granted or revoked, a script given with `shell -c` (never a shell reading stdin).
COMMANDS = {"grant_role", "revoke_role", "shell"}


def runs_in_runner(args: tuple[str, ...]) -> bool:
    if not args or args[0] not in COMMANDS:
        return False
    return args[0] != "shell" or "-c" in args or "--command" in args


class CommandRunner:
    """The parent side: `run(*args)` answers like `subprocess.run(["manage.py", *args])`."""

    def __init__(self, env: dict, log: Path):
        self.env = dict(env)
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.lock = threading.Lock()

    def _start(self) -> subprocess.Popen:
        with open(self.log, "ab") as log:
            return subprocess.Popen(  # noqa: S603 - our own module
                [sys.executable, "-m", "project.testing_commands"],
                cwd=BASE_DIR,
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self.proc = self._start()
            answer = self._ask(list(args), timeout)
        return subprocess.CompletedProcess(
            ["manage.py", *args], answer["status"], stdout=answer["stdout"], stderr=answer["stderr"]
        )

    def _ask(self, argv: list[str], timeout: float) -> dict:
        proc = self.proc
        result: dict = {}

        def read():
            line = proc.stdout.readline()
            if line:
                result.update(json.loads(line))

        proc.stdin.write(json.dumps(argv) + "\n")
        proc.stdin.flush()
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        if reader.is_alive():
            self.stop()
            raise subprocess.TimeoutExpired(["manage.py", *argv], timeout)
        if not result:
            self.stop()
            raise RuntimeError(f"the command runner died during manage.py {' '.join(argv)}: see {self.log}")
        return result

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stdout.close()


def _serve() -> None:
    """The child: Django set up once, then one command per line of stdin."""
    # Answers go out on a private copy of stdout; whatever else writes to
    # stdout or stderr (logging, a thread) goes to the log instead.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django
    from django.core.management import ManagementUtility
    from django.db import connections

    django.setup()
    for line in sys.stdin:
        argv = json.loads(line)
        connections.close_all()  # what a new process would see
        out, err = io.StringIO(), io.StringIO()
        status = 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                ManagementUtility(["manage.py", *argv]).execute()
            except SystemExit as exit_:
                status = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
            except Exception as exc:  # what an uncaught exception does to manage.py: a traceback, status 1
                import traceback

                traceback.print_exception(exc, file=err)
                status = 1
        connections.close_all()
        answers.write(json.dumps({"status": status, "stdout": out.getvalue(), "stderr": err.getvalue()}) + "\n")
        answers.flush()


if __name__ == "__main__":
    _serve()
