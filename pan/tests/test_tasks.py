"""The periodic purge as a background task: run twice, it removes each thing once."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from pan.models import Share
from pan.tasks import purge_expired


def test_the_purge_task_run_twice_removes_once(shared, django_capture_on_commit_callbacks):
    keep = shared(filename="keep.txt", expires_in="0")
    shared(filename="old.txt", expires_in="60")
    with time_machine.travel(timezone.now() + timedelta(minutes=5)), django_capture_on_commit_callbacks(execute=True):
        first = purge_expired.call()
        second = purge_expired.call()
    assert first["shares"] == 1 and second["shares"] == 0
    assert list(Share.objects.values_list("unique_name", flat=True)) == [keep["unique_name"]]
