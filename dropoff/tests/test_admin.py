"""Drop-off requests in Django admin go through the same services."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit.models import Action, AuditEvent
from dropoff.models import DropRequest
from dropoff.services import request_create
from pan.models import Share
from pan.tests.conftest import multipart_files

pytestmark = pytest.mark.django_db


def test_an_admin_closes_reopens_and_deletes_through_the_services(alice, dana):
    made = request_create(owner=dana, title="Forms", max_files=5, max_bytes=1000)
    body, ctype = multipart_files([("a.txt", b"abc")])
    assert APIClient().generic("POST", f"/api/requests/{made.code}/drops", body, content_type=ctype).status_code == 201
    admin = Client()
    admin.force_login(alice)
    listing = admin.get("/admin/dropoff/droprequest/", {"state": "open"})
    assert listing.status_code == 200 and "Forms" in listing.content.decode()
    assert admin.get(f"/admin/dropoff/droprequest/{made.pk}/change/").status_code == 200
    changelist = "/admin/dropoff/droprequest/"
    admin.post(changelist, {"action": "close", "_selected_action": [made.pk]})
    assert DropRequest.objects.get().state() == "closed"
    admin.post(changelist, {"action": "reopen", "_selected_action": [made.pk]})
    assert DropRequest.objects.get().state() == "open"
    admin.post(changelist, {"action": "delete_with_drops", "_selected_action": [made.pk]})
    assert not DropRequest.objects.exists() and not Share.objects.exists()
    for action in (Action.REQUEST_CLOSE, Action.REQUEST_REOPEN, Action.REQUEST_DELETE):
        assert AuditEvent.objects.get(action=action).actor == alice


def test_members_do_not_reach_it(bob, dana):
    request_create(owner=dana, title="Forms")
    member = Client()
    member.force_login(bob)
    # Pan's own 403 in the site layout for signed-in non-staff (docs/interface.md, "The admin's door").
    assert member.get("/admin/dropoff/droprequest/").status_code == 403
