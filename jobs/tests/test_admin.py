"""Failed tasks in Django admin: listed with their error, and run again by an action."""

import pytest
from django_tasks_db.models import DBTaskResult

from jobs.tests.example_tasks import flaky

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    result = flaky.enqueue(key="admin", failures=10)
    row = DBTaskResult.objects.get(pk=result.id)
    row.claim("w1")
    try:
        raise ConnectionRefusedError("the mail server refused")
    except ConnectionRefusedError as exc:
        row.set_failed(exc)
    return row


@pytest.mark.parametrize("who", ["bob", "charlie", "dana"])
def test_only_administrators_see_tasks(failed, client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/admin/jobs/failedtask/?status__exact=FAILED").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(failed, client):
    assert client.get("/admin/jobs/failedtask/").status_code == 302


def test_admin_lists_failed_tasks_with_their_error_and_runs_them_again(failed, alice, client):
    client.force_login(alice)
    page = client.get("/admin/jobs/failedtask/", follow=True)
    assert page.status_code == 200
    assert "flaky" in page.text and "ConnectionRefusedError" in page.text
    detail = client.get(f"/admin/jobs/failedtask/{failed.pk}/change/")
    assert "the mail server refused" in detail.text
    answer = client.post(
        "/admin/jobs/failedtask/?status__exact=FAILED",
        {"action": "retry", "_selected_action": [str(failed.pk)]},
        follow=True,
    )
    assert "1 task queued again." in answer.text
    failed.refresh_from_db()
    assert failed.status == "READY" and failed.worker_ids == []
