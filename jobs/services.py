"""Background tasks: what Pan adds to the Django Tasks API and django-tasks-db's queue.

django-tasks-db keeps the queue in Pan's database (SQLite embedded, PostgreSQL in
production) and claims a task by marking its row RUNNING in a locked transaction.
It has no retries, no periodic jobs and nothing that notices a worker that died
with a task RUNNING. This module adds them (docs/decisions.md, "Background tasks"):

- `background(attempts=N)`: a task that fails is tried again, up to N runs in all,
  after `PAN_TASK_RETRY_BACKOFF` seconds doubled at each failure (at most an hour);
  each try is one more worker id in the row (`worker_ids`).
- `TaskWorker` heartbeats and `tasks_reclaim_lost`: a RUNNING task whose worker was
  not seen for `PAN_TASK_WORKER_LEASE` seconds goes back to the queue (or fails, when
  it has used up its tries), so a SIGKILLed worker's task runs again.
- `periodic_register` and `periodic_enqueue_due`: periodic jobs without cron; each
  worker's loop calls the scheduler, and a unique row per job and period makes
  several schedulers enqueue each run once.
- `task_once(key)` / `task_done(key)`: a task's one-time effect (a receipt sent),
  so that running it twice does it once.
- `tasks_retry`: a failed task back to the queue (the admin's action).
"""

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Min
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import task as django_task
from django_tasks_db.models import DBTaskResult, get_date_max

from .models import PeriodicRun, TaskDone, TaskRetries, TaskWorker

logger = logging.getLogger(__name__)

READY, RUNNING, SUCCESSFUL, FAILED = "READY", "RUNNING", "SUCCESSFUL", "FAILED"
MAX_BACKOFF = 3600.0
# Tries of a task not made with `background` (a plain django_tasks.task).
DEFAULT_ATTEMPTS = 1

# task module path -> runs in all (the first and its retries).
ATTEMPTS: dict[str, int] = {}
# task module path -> the setting naming its own retry schedule (seconds, comma-separated).
SCHEDULES: dict[str, str] = {}


def background(*, attempts: int = DEFAULT_ATTEMPTS, schedule_setting: str | None = None, **options):
    """`django_tasks.task` with `attempts` runs in all before the task is FAILED.

    `schedule_setting`: the name of a setting holding the seconds before each
    retry (`"30,120,600"`: the first retry after 30 s, the second 2 min after
    the second failure …; the last repeats), instead of the doubling backoff.
    """

    def wrap(function):
        made = django_task(**options)(function)
        ATTEMPTS[made.module_path] = attempts
        if schedule_setting:
            SCHEDULES[made.module_path] = schedule_setting
        return made

    return wrap


def task_enqueue_on_commit(task, *args, **kwargs) -> None:
    """Enqueue `task` once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(_enqueue_logged, task, args, kwargs), robust=True)


def _enqueue_logged(task, args, kwargs) -> None:
    try:
        task.enqueue(*args, **kwargs)
    except Exception:
        logger.exception("tasks: could not enqueue %s", task.module_path)
        raise


def task_once(key: str) -> bool:
    """True when the one-time effect named `key` is already done."""
    return TaskDone.objects.filter(key=key).exists()


def task_done(key: str) -> None:
    """Record the one-time effect named `key` as done."""
    TaskDone.objects.get_or_create(key=key)


def retry_delay(attempt: int, task_path: str | None = None) -> float:
    """Seconds before the try after `attempt` failed tries: the task's own schedule
    (`background(schedule_setting=...)`), else the backoff, doubled each time."""
    if task_path in SCHEDULES:
        schedule = retry_schedule(SCHEDULES[task_path])
        if schedule:
            return schedule[min(max(0, attempt - 1), len(schedule) - 1)]
    return min(MAX_BACKOFF, settings.PAN_TASK_RETRY_BACKOFF * 2 ** max(0, attempt - 1))


def retry_schedule(setting: str) -> list[float]:
    """The seconds listed in `settings.<setting>` (a list, or text like "30,120,600")."""
    value = getattr(settings, setting)
    items = value.split(",") if isinstance(value, str) else value
    return [float(item) for item in items if str(item).strip()]


def attempts_of(task_path: str) -> int:
    return ATTEMPTS.get(task_path, DEFAULT_ATTEMPTS)


def task_failed_attempt(*, result: DBTaskResult, error: BaseException, traceback: str) -> bool:
    """After a failed run: back to the queue with a backoff if tries are left (True), else FAILED."""
    tries = len(result.worker_ids)
    if tries >= attempts_of(result.task_path):
        result.set_failed(error)
        return False
    now = timezone.now()
    DBTaskResult.objects.filter(pk=result.pk).update(
        status=READY,
        run_after=now + timedelta(seconds=retry_delay(tries, result.task_path)),
        exception_class_path=f"{type(error).__module__}.{type(error).__qualname__}",
        traceback=traceback,
    )
    _count_retry(result.task_path)
    return True


def _count_retry(task_path: str) -> None:
    if not TaskRetries.objects.filter(task_path=task_path).update(count=F("count") + 1):
        try:
            with transaction.atomic():
                TaskRetries.objects.create(task_path=task_path, count=1)
        except IntegrityError:
            TaskRetries.objects.filter(task_path=task_path).update(count=F("count") + 1)


def tasks_retry(*, ids) -> int:
    """Failed tasks back to the queue, now, with a fresh set of tries; return how many."""
    return DBTaskResult.objects.filter(pk__in=list(ids), status=FAILED).update(
        status=READY, run_after=get_date_max(), worker_ids=[], finished_at=None
    )


# Heartbeats and the reclaim of a dead worker's tasks.


def worker_beat(*, worker_id: str, started_at: datetime) -> None:
    now = timezone.now()
    updated = TaskWorker.objects.filter(worker_id=worker_id).update(seen_at=now)
    if not updated:
        TaskWorker.objects.update_or_create(
            worker_id=worker_id,
            defaults={"host": socket.gethostname()[:255], "pid": os.getpid(), "started_at": started_at, "seen_at": now},
        )


def worker_gone(*, worker_id: str) -> None:
    TaskWorker.objects.filter(worker_id=worker_id).delete()


def tasks_reclaim_lost(*, now: datetime | None = None) -> int:
    """RUNNING tasks whose worker was not seen within the lease: back to the queue, or FAILED
    when they used up their tries. Safe when several workers run it at once (a row changes
    only if it is still RUNNING with the same tries). Return how many were reclaimed."""
    now = now or timezone.now()
    alive = set(
        TaskWorker.objects.filter(seen_at__gte=now - timedelta(seconds=settings.PAN_TASK_WORKER_LEASE)).values_list(
            "worker_id", flat=True
        )
    )
    reclaimed = 0
    for result in DBTaskResult.objects.filter(status=RUNNING).only("id", "task_path", "worker_ids", "started_at"):
        worker = result.worker_ids[-1] if result.worker_ids else None
        if worker in alive:
            continue
        tries = len(result.worker_ids)
        note = f"jobs.services.WorkerLost: worker {worker} stopped answering while it ran this task (try {tries})"
        mine = DBTaskResult.objects.filter(pk=result.pk, status=RUNNING, started_at=result.started_at)
        if tries >= attempts_of(result.task_path):
            changed = mine.update(
                status=FAILED, finished_at=now, exception_class_path="jobs.services.WorkerLost", traceback=note
            )
        else:
            changed = mine.update(
                status=READY, run_after=now, exception_class_path="jobs.services.WorkerLost", traceback=note
            )
            if changed:
                _count_retry(result.task_path)
        if changed:
            logger.warning("tasks: %s", note)
            reclaimed += changed
    return reclaimed


# Periodic jobs.


@dataclass(frozen=True)
class Periodic:
    name: str
    task_path: str
    interval_setting: str


PERIODIC: dict[str, Periodic] = {}


def periodic_register(*, name: str, task_path: str, interval_setting: str) -> None:
    """Run the task at `task_path` every `settings.<interval_setting>` seconds (0 turns it off)."""
    PERIODIC[name] = Periodic(name, task_path, interval_setting)


def periodic_enqueue_due(*, now: datetime | None = None) -> list[str]:
    """Enqueue each periodic job whose current period has no run yet; return their names."""
    now = now or timezone.now()
    enqueued = []
    for job in PERIODIC.values():
        interval = float(getattr(settings, job.interval_setting))
        if interval <= 0:
            continue
        slot = int(now.timestamp() // interval)
        if PeriodicRun.objects.filter(name=job.name, slot=slot).exists():
            continue
        try:
            with transaction.atomic():
                PeriodicRun.objects.create(name=job.name, slot=slot)
                import_string(job.task_path).enqueue()
        except IntegrityError:
            continue  # another scheduler enqueued this period's run
        enqueued.append(job.name)
    return enqueued


def tasks_prune(*, now: datetime | None = None) -> dict[str, int]:
    """Forget finished tasks, periodic runs and one-time marks older than PAN_TASK_RESULTS_KEEP
    days (failed tasks too: they were in admin that long), and workers long gone."""
    now = now or timezone.now()
    before = now - timedelta(days=settings.PAN_TASK_RESULTS_KEEP)
    return {
        "results": DBTaskResult.objects.filter(status__in=[SUCCESSFUL, FAILED], finished_at__lt=before).delete()[0],
        "periodic": PeriodicRun.objects.filter(enqueued_at__lt=before).delete()[0],
        "done": TaskDone.objects.filter(done_at__lt=before).delete()[0],
        "workers": TaskWorker.objects.filter(seen_at__lt=before).delete()[0],
    }


# What /metrics and /server-status show.


def task_name(task_path: str) -> str:
    return task_path.rsplit(".", 1)[-1]


def tasks_summary(*, now: datetime | None = None) -> dict:
    """Counts by task and state, retries by task, the oldest queued task's age, and workers seen."""
    now = now or timezone.now()
    counts: dict[tuple[str, str], int] = {}
    for row in DBTaskResult.objects.order_by().values("task_path", "status").annotate(n=Count("id")):
        key = (task_name(row["task_path"]), row["status"])
        counts[key] = counts.get(key, 0) + row["n"]
    due = DBTaskResult.objects.filter(status=READY).filter(run_after__lte=now) | DBTaskResult.objects.filter(
        status=READY, run_after=get_date_max()
    )
    oldest = due.order_by().aggregate(oldest=Min("enqueued_at"))["oldest"]
    lease = timedelta(seconds=settings.PAN_TASK_WORKER_LEASE)
    return {
        "counts": counts,
        "retries": {task_name(path): count for path, count in TaskRetries.objects.values_list("task_path", "count")},
        "oldest_queued_seconds": max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        "workers_alive": TaskWorker.objects.filter(seen_at__gte=now - lease).count(),
        "queued": sum(n for (_name, state), n in counts.items() if state == READY),
    }
