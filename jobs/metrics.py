"""The queue's series for `GET /metrics`, read from the database at scrape time (the workers are
other processes; the queue table is what they share):

    pan_tasks{task,state}            tasks by name and state: queued, running, succeeded, failed
    pan_task_retries_total{task}     tries given again (a failure, or a worker lost mid-task)
    pan_tasks_oldest_queued_seconds  the age of the oldest task due and not yet claimed
    pan_task_workers                 workers seen within PAN_TASK_WORKER_LEASE
"""

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from .services import FAILED, READY, RUNNING, SUCCESSFUL, tasks_summary

STATES = {READY: "queued", RUNNING: "running", SUCCESSFUL: "succeeded", FAILED: "failed"}


class _TasksCollector:
    def __init__(self, summary: dict):
        self.summary = summary

    def collect(self):
        tasks = GaugeMetricFamily("pan_tasks", "Background tasks by name and state.", labels=["task", "state"])
        names = sorted({name for name, _state in self.summary["counts"]} | set(self.summary["retries"]))
        for name in names:
            for status, state in STATES.items():
                tasks.add_metric([name, state], self.summary["counts"].get((name, status), 0))
        yield tasks
        retries = CounterMetricFamily("pan_task_retries", "Background task tries given again.", labels=["task"])
        for name in names:
            retries.add_metric([name], self.summary["retries"].get(name, 0))
        yield retries
        yield GaugeMetricFamily(
            "pan_tasks_oldest_queued_seconds",
            "Age of the oldest background task due and not yet claimed (0: none).",
            value=self.summary["oldest_queued_seconds"],
        )
        yield GaugeMetricFamily(
            "pan_task_workers", "Background task workers seen within the lease.", value=self.summary["workers_alive"]
        )


def tasks_exposition() -> bytes:
    registry = CollectorRegistry()
    registry.register(_TasksCollector(tasks_summary()))
    return generate_latest(registry)


def tasks_status() -> str:
    """`/server-status`' "tasks": "ok", or a warning when workers stopped being seen (or none
    ever was) while tasks wait longer than the lease."""
    summary = tasks_summary()
    if summary["workers_alive"]:
        return "ok"
    from django.conf import settings

    from .models import TaskWorker

    lease = settings.PAN_TASK_WORKER_LEASE
    if TaskWorker.objects.exists():
        return f"warning: no task worker seen for {lease:g}s ({summary['queued']} task(s) queued)"
    if summary["oldest_queued_seconds"] > lease:
        return f"warning: no task worker; the oldest queued task waits {summary['oldest_queued_seconds']:.0f}s"
    return "ok"
