"""The queue's own rules, in process on the database backend: retries with backoff, a dead
worker's task given back, periodic runs once per period, failed tasks in admin."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from events.tasks import receipt_send
from jobs.models import PeriodicRun, TaskWorker
from jobs.services import periodic_enqueue_due, tasks_reclaim_lost, tasks_summary
from jobs.tests.example_tasks import flaky
from jobs.worker import Worker

# The worker closes and reopens connections as in production: no test transaction to hold them.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queue(settings):
    """The database backend (live servers' own), no backoff to wait for."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.PAN_TASK_RETRY_BACKOFF = 0
    settings.PAN_PURGE_INTERVAL = 0
    settings.SHORT_LINK_EXPIRY_SCAN_INTERVAL = 0
    cache.clear()


def drain(worker: Worker, limit: int = 10) -> int:
    ran = 0
    while ran < limit and worker.run_once():
        ran += 1
    return ran


def test_a_failing_task_is_tried_again_until_it_succeeds(queue):
    result = flaky.enqueue(key="flaky-1", failures=2)
    worker = Worker(interval=0)
    worker._beat_once()
    assert drain(worker) == 3
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == "SUCCESSFUL" and row.return_value == 3 and len(row.worker_ids) == 3
    assert tasks_summary()["retries"] == {"flaky": 2}


def test_a_task_that_keeps_failing_fails_after_its_tries_with_its_error(queue):
    result = flaky.enqueue(key="flaky-2", failures=10)
    worker = Worker(interval=0)
    assert drain(worker) == 3
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == "FAILED" and row.exception_class_path == "builtins.ConnectionRefusedError"
    assert "run 3 refused" in row.traceback


def test_a_retry_waits_for_its_backoff(queue, settings):
    settings.PAN_TASK_RETRY_BACKOFF = 60
    result = flaky.enqueue(key="flaky-3", failures=1)
    worker = Worker(interval=0)
    assert drain(worker) == 1  # the retry is not due yet
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == "READY" and row.run_after > timezone.now() + timedelta(seconds=50)


def test_a_running_task_whose_worker_stopped_answering_runs_again(queue, settings):
    result = flaky.enqueue(key="flaky-4", failures=0)
    dead = Worker(interval=0, worker_id="dead")
    dead._beat_once()
    row = DBTaskResult.objects.get(pk=result.id)
    row.claim("dead")  # claimed, then the process was killed
    assert tasks_reclaim_lost() == 0  # its worker is still within its lease
    TaskWorker.objects.filter(worker_id="dead").update(seen_at=timezone.now() - timedelta(seconds=60))
    settings.PAN_TASK_WORKER_LEASE = 30
    assert tasks_reclaim_lost() == 1
    assert tasks_reclaim_lost() == 0  # once
    assert drain(Worker(interval=0)) == 1
    row.refresh_from_db()
    assert row.status == "SUCCESSFUL" and row.worker_ids[0] == "dead" and len(row.worker_ids) == 2


def test_periodic_jobs_are_enqueued_once_per_period_whoever_schedules(queue, settings):
    settings.PAN_PURGE_INTERVAL = 300
    now = timezone.now()
    assert sorted(periodic_enqueue_due(now=now)) == [
        "login_challenges_purge",
        "purge_expired",
        "tasks_prune",
        "webhook_deliveries_prune",
    ]
    assert periodic_enqueue_due(now=now) == []  # a second scheduler, the same period
    assert DBTaskResult.objects.filter(task_path="pan.tasks.purge_expired").count() == 1
    later = now + timedelta(seconds=300)
    assert sorted(periodic_enqueue_due(now=later)) == [
        "login_challenges_purge",
        "purge_expired",
        "tasks_prune",
        "webhook_deliveries_prune",
    ]
    assert PeriodicRun.objects.filter(name="purge_expired").count() == 2


def test_a_receipt_sent_twice_is_one_email(queue, dana, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    dana.email, dana.receipts_by_email = "dana@example.com", True
    dana.save()
    context = {"site": "Pan", "title": "Notes", "what": "notes.txt", "at": "2026-01-01 10:00", "url": "/files/"}
    for _ in range(2):
        receipt_send.call(receipt="r1", user_id=dana.pk, kind="download", context=context)
    assert len(mail.outbox) == 1


def test_a_receipt_for_a_user_deleted_meanwhile_finishes_quietly(queue, dana, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    result = receipt_send.enqueue(receipt="r2", user_id=dana.pk, kind="download", context={})
    dana.delete()
    assert drain(Worker(interval=0)) == 1
    assert DBTaskResult.objects.get(pk=result.id).status == "SUCCESSFUL"
    assert mail.outbox == []


def test_metrics_show_tasks_by_name_and_state_retries_and_the_oldest_queued_age(queue, settings, client):
    settings.METRICS_TOKEN = token = "a-metrics-token-long-enough-for-anyone-0123"
    flaky.enqueue(key="m-1", failures=1)
    flaky.enqueue(key="m-2", failures=10)
    worker = Worker(interval=0)
    worker._beat_once()
    drain(worker)
    waiting = flaky.enqueue(key="m-3", failures=0)
    DBTaskResult.objects.filter(pk=waiting.id).update(enqueued_at=timezone.now() - timedelta(seconds=90))
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}").content.decode()
    assert 'pan_tasks{state="succeeded",task="flaky"} 1.0' in text
    assert 'pan_tasks{state="failed",task="flaky"} 1.0' in text
    assert 'pan_tasks{state="queued",task="flaky"} 1.0' in text
    assert 'pan_tasks{state="running",task="flaky"} 0.0' in text
    assert 'pan_task_retries_total{task="flaky"} 3.0' in text  # one for m-1, two for m-2
    oldest = float(re.search(r"\npan_tasks_oldest_queued_seconds (\S+)", text).group(1))
    assert 89 <= oldest < 120
    assert "\npan_task_workers 1.0" in text
