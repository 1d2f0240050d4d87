"""A task worker: `manage.py tasks_worker` (started beside the server by `make run` and
`make serve`, project/serve.py).

Each pass of its loop: reclaim the tasks of workers that stopped answering, enqueue
the periodic jobs that are due, then claim one READY task (a locked transaction,
as django-tasks-db's own worker does: `select_for_update(skip_locked)` on PostgreSQL,
an exclusive transaction on SQLite) and run it. A thread writes the worker's
heartbeat every third of `PAN_TASK_WORKER_LEASE`, also while a task runs. SIGTERM
or SIGINT finishes the task in hand, then stops. A database that does not answer
is logged and waited for: nothing is lost, the loop resumes when it is back.
"""

import logging
import signal
import threading
import traceback

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from . import services

logger = logging.getLogger(__name__)


class Worker:
    def __init__(self, *, interval: float | None = None, worker_id: str | None = None, max_tasks: int | None = None):
        self.interval = settings.PAN_TASK_POLL_INTERVAL if interval is None else interval
        self.worker_id = worker_id or get_random_string(32)
        self.max_tasks = max_tasks
        self.started_at = timezone.now()
        self.stopping = threading.Event()
        self.ran = 0
        self._last_maintenance = 0.0

    def stop(self, *_args) -> None:
        self.stopping.set()

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        logger.info("tasks: worker %s started", self.worker_id)
        beat = threading.Thread(target=self._beat, name="pan-task-heartbeat", daemon=True)
        self._beat_once()
        beat.start()
        try:
            while not self.stopping.is_set():
                try:
                    worked = self.run_once()
                except DatabaseError as exc:
                    if not is_locked_database_exception(exc):
                        logger.warning("tasks: the database did not answer (%s); waiting", exc)
                    worked = False
                    close_old_connections()
                if self.max_tasks is not None and self.ran >= self.max_tasks:
                    break
                if not worked:
                    self.stopping.wait(self.interval)
        finally:
            self.stopping.set()
            beat.join(timeout=5)
            try:
                services.worker_gone(worker_id=self.worker_id)
            except DatabaseError:
                pass
            logger.info("tasks: worker %s stopped", self.worker_id)

    def _beat_once(self) -> None:
        try:
            services.worker_beat(worker_id=self.worker_id, started_at=self.started_at)
        except DatabaseError as exc:
            logger.warning("tasks: heartbeat failed (%s)", exc)
        finally:
            close_old_connections()

    def _beat(self) -> None:
        every = max(0.05, settings.PAN_TASK_WORKER_LEASE / 3)
        while not self.stopping.wait(every):
            self._beat_once()

    def maintenance(self) -> None:
        now = timezone.now().timestamp()
        if now - self._last_maintenance < min(self.interval * 5, settings.PAN_TASK_WORKER_LEASE / 3):
            return
        self._last_maintenance = now
        services.tasks_reclaim_lost()
        services.periodic_enqueue_due()

    def run_once(self) -> bool:
        """One pass: maintenance, then one task if any is ready; True if a task ran."""
        close_old_connections()
        self.maintenance()
        tasks = DBTaskResult.objects.ready()
        with exclusive_transaction(tasks.db):
            result = tasks.get_locked()
            if result is not None:
                result.claim(self.worker_id)
        if result is None:
            return False
        self.run_task(result)
        return True

    def run_task(self, result: DBTaskResult) -> None:
        self.ran += 1
        try:
            task = result.task
            value = task.call(*result.args_kwargs["args"], **result.args_kwargs["kwargs"])
            result.set_successful(value)
            logger.info("tasks: %s %s succeeded", services.task_name(result.task_path), result.pk)
        except Exception as exc:  # noqa: BLE001 - any failure is the task's, recorded on its row
            again = services.task_failed_attempt(result=result, error=exc, traceback=traceback.format_exc())
            logger.warning(
                "tasks: %s %s failed (%s: %s)%s",
                services.task_name(result.task_path),
                result.pk,
                type(exc).__name__,
                exc,
                "; it will be tried again" if again else "",
            )
        finally:
            close_old_connections()
