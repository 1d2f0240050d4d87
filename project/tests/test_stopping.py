"""What a process writes when it stops (project/lib/stopping.py): once, and
bounded in time. The servers' own stops are tested live in
shortener/tests/test_stats_live.py (SIGTERM of daphne and uvicorn)."""

import os
import subprocess
import sys

from project.testing import BASE_DIR


def _python(code: str, **env) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings_test", **env}
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_stop_callbacks_run_once_at_exit_in_their_order():
    result = _python(
        "from project.lib.stopping import on_stop, stop_callbacks_run\n"
        "on_stop(lambda: print('first'))\n"
        "on_stop(lambda: print('second'))\n"
        "stop_callbacks_run()\n"  # the lifespan shutdown ran them; atexit must not again
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["first", "second"]


def test_a_failing_callback_does_not_skip_the_next():
    result = _python(
        "from project.lib.stopping import on_stop\non_stop(lambda: 1 / 0)\non_stop(lambda: print('still written'))\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["still", "written"]
    assert "ZeroDivisionError" in result.stderr


def test_a_callback_that_hangs_holds_the_exit_only_for_the_bound():
    """A database that does not answer while the server stops: the process
    still exits (here a callback that waits for ever, bounded to 1 s)."""
    result = _python(
        "import threading\nfrom project.lib.stopping import on_stop\non_stop(threading.Event().wait)\n",
        STOP_CALLBACKS_SECONDS="1",
    )
    assert result.returncode == 0, result.stderr
    assert "did not finish within 1.0s" in result.stderr
