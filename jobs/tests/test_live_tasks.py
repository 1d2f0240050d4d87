"""Background tasks on live processes, with a real SMTP server (aiosmtpd) and real
task workers (`manage.py tasks_worker`): on SQLite, and on PostgreSQL with DATABASE_URL."""

import json
import os
import signal
import time
from urllib.parse import urlsplit, urlunsplit

import pytest

from project.testing import FreezableProxy, LiveServer, wait_until

pytestmark = pytest.mark.live


def _site(port: int, **extra) -> LiveServer:
    return LiveServer(
        extra_env={"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port), "EMAIL_TIMEOUT": "5", **extra}
    ).start()


def _enqueue_receipt(server: LiveServer, receipt: str) -> None:
    server.register("olga", "a-long-password-1")
    script = (
        "from accounts.models import User; from events.tasks import receipt_send\n"
        "u = User.objects.get(username='olga'); u.email = 'olga@example.com'; u.receipts_by_email = True; u.save()\n"
        f"receipt_send.enqueue(receipt={receipt!r}, user_id=u.pk, kind='download', context="
        "{'site': 'Pan', 'title': 'Notes', 'what': 'notes.txt', 'at': '2026-01-01 10:00', 'url': '/files/'})\n"
    )
    server.manage("shell", "-v", "0", "-c", script)


def _task_states(server: LiveServer) -> dict:
    script = (
        "import json; from django_tasks_db.models import DBTaskResult\n"
        "print(json.dumps({str(r.id): [r.status, len(r.worker_ids)] for r in DBTaskResult.objects.filter("
        "task_path='events.tasks.receipt_send')}))"
    )
    return json.loads(server.manage("shell", "-v", "0", "-c", script).stdout)


def test_a_receipt_whose_worker_was_killed_is_sent_once_by_the_next(mailbox):
    box, port = mailbox
    with _site(port, PAN_TASK_WORKER_LEASE="1") as server:
        _enqueue_receipt(server, "killed")
        box.hold = True
        worker = server.start_task_worker()
        assert box.held.wait(timeout=30), server.tasks_log()  # the worker is talking to the mail server
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        box.hold = False
        box.release.set()
        assert list(_task_states(server).values()) == [["RUNNING", 1]]  # claimed by a dead worker
        server.start_task_worker()
        wait_until(lambda: len(box.accepted) == 1, timeout=30, message="the receipt sent by the new worker")
        wait_until(lambda: list(_task_states(server).values()) == [["SUCCESSFUL", 2]], timeout=10)
        assert b"Notes" in box.accepted[0] or b"=?utf-8?" in box.accepted[0]
        assert len(box.accepted) == 1


def test_a_mail_server_that_refuses_twice_gets_the_receipt_on_the_third_try(mailbox):
    box, port = mailbox
    box.refusals = 2
    with _site(port) as server:
        _enqueue_receipt(server, "refused")
        server.start_task_worker()
        wait_until(lambda: len(box.accepted) == 1, timeout=30, message="the receipt, third try")
        assert box.refused == 2
        wait_until(lambda: list(_task_states(server).values()) == [["SUCCESSFUL", 3]], timeout=10)
        assert "will be tried again" in server.tasks_log()


def test_the_periodic_purge_runs_on_its_own_beside_the_embedded_server(tmp_path):
    # What `make run` starts: the server and one task worker, under project/serve.py's supervisor.
    server = LiveServer(extra_env={"PAN_PURGE_INTERVAL": "1", "PAN_UPLOAD_LEFTOVER_AGE": "0"})
    server.start()
    try:
        leftover = server.tmp / "media" / "items" / "abandoned.bin"
        leftover.parent.mkdir(parents=True, exist_ok=True)
        leftover.write_bytes(b"left by a killed upload")
        past = time.time() - 3600
        os.utime(leftover, (past, past))
        with server.production_command(workers=1, metrics_dir=tmp_path / "metrics", task_workers=1, server="daphne"):
            wait_until(lambda: not leftover.exists(), timeout=30, message="the periodic purge")
            states = server.manage(
                "shell",
                "-v",
                "0",
                "-c",
                "from django_tasks_db.models import DBTaskResult as R; "
                "print(R.objects.filter(task_path='pan.tasks.purge_expired', status='SUCCESSFUL').count())",
            ).stdout
            assert int(states) >= 1
    finally:
        server.stop()


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="takes PostgreSQL away behind a proxy; the embedded SQLite is a local file",
)
def test_a_worker_waits_out_a_database_that_went_away_and_then_sends_what_was_queued(mailbox):
    box, port = mailbox
    database = urlsplit(os.environ["DATABASE_URL"])
    proxy = FreezableProxy(database.port or 5432).start()
    try:
        with _site(port) as server:
            # The worker alone reaches the database through the proxy; the test and the server directly.
            own = urlsplit(server.env["DATABASE_URL"])
            host = f"127.0.0.1:{proxy.port}"
            userinfo = own.netloc.rpartition("@")[0]
            through_proxy = own._replace(netloc=f"{userinfo}@{host}" if userinfo else host)
            env = {"DATABASE_URL": urlunsplit(through_proxy), "DATABASE_CONNECT_TIMEOUT": "1"}
            worker = server.start_task_worker(env=env)
            wait_until(lambda: "started" in server.tasks_log(), timeout=30, message="the worker up")
            proxy.stop()  # the database is gone: connections cut, new ones refused
            _enqueue_receipt(server, "outage")
            wait_until(
                lambda: "did not answer" in server.tasks_log(),
                timeout=30,
                message="the worker noticing the database is gone",
            )
            assert box.accepted == [] and worker.poll() is None  # waiting, not dead, nothing sent
            proxy = FreezableProxy(database.port or 5432, port=proxy.port).start()  # the database is back
            wait_until(lambda: len(box.accepted) == 1, timeout=60, message="the queued receipt sent after the outage")
            wait_until(lambda: [state for state, _ in _task_states(server).values()] == ["SUCCESSFUL"], timeout=10)
            assert len(box.accepted) == 1 and worker.poll() is None
    finally:
        proxy.stop()
