"""What Pan keeps beside django-tasks-db's queue (`DBTaskResult`): who is working, which periodic
runs were enqueued, and which tasks already did their one-time effect."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tasks_db.models import DBTaskResult


class TaskWorker(models.Model):
    """A worker process's heartbeat: a RUNNING task whose worker was not seen for
    `PAN_TASK_WORKER_LEASE` seconds is given back to the queue (`tasks_reclaim_lost`)."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    host = models.CharField(max_length=255)
    pid = models.IntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.worker_id} ({self.host}:{self.pid})"


class PeriodicRun(models.Model):
    """One row per periodic job and period: whichever scheduler inserts it enqueues the run."""

    name = models.CharField(max_length=100)
    slot = models.BigIntegerField()  # the period's number: seconds since the epoch // interval
    enqueued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "slot"], name="jobs_periodic_once_per_slot")]

    def __str__(self):
        return f"{self.name} #{self.slot}"


class TaskDone(models.Model):
    """A task's one-time effect, done (a receipt sent): running it again does nothing."""

    key = models.CharField(max_length=200, primary_key=True)
    done_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self):
        return self.key


class TaskRetries(models.Model):
    """How many times each task was given another try (`/metrics`' pan_task_retries_total)."""

    task_path = models.CharField(max_length=255, primary_key=True)
    count = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.task_path}: {self.count}"


class FailedTask(DBTaskResult):
    """The queue's rows, in admin as "Failed tasks" (with their error and a retry action)."""

    class Meta:
        proxy = True
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
