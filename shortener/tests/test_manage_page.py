"""Managing links on `/short/` (SPEC §5): edit, pause, resume, password and
delete through the same services as the API; owners and managers only."""

import pytest
from django.test import Client

from audit.models import Action, AuditEvent
from shortener.models import ShortLink
from shortener.services import short_link_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(dana):
    made, _ = short_link_create(url="https://example.com/page", owner=dana, slug="managed")
    return made


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_owner_edits_pauses_resumes_and_deletes_from_the_page(link, dana):
    client = signed_in(dana)
    page = client.get("/short/").content.decode()
    assert 'action="/short/managed/manage"' in page and "/short/managed/stats" in page
    edited = client.post(
        "/short/managed/manage",
        {"action": "edit", "url": "https://example.com/new", "max_visits": "5", "password": "Kite-Harbour-58"},
    )
    assert edited.status_code == 302
    link.refresh_from_db()
    assert (link.target_url, link.max_visits, bool(link.password)) == ("https://example.com/new", 5, True)
    client.post("/short/managed/manage", {"action": "pause"})
    assert ShortLink.objects.get(pk=link.pk).paused
    assert Client().get("/s/managed").status_code == 410
    client.post("/short/managed/manage", {"action": "resume"})
    client.post("/short/managed/manage", {"action": "edit", "url": "https://example.com/new", "clear_password": "1"})
    assert Client().get("/s/managed").status_code == 302
    client.post("/short/managed/manage", {"action": "delete"})
    assert not ShortLink.objects.filter(pk=link.pk).exists()
    assert AuditEvent.objects.filter(action=Action.LINK_UPDATE, object_id="managed").count() == 4


def test_bad_input_is_said_and_changes_nothing(link, dana):
    client = signed_in(dana)
    answer = client.post("/short/managed/manage", {"action": "edit", "url": "javascript:alert(1)"}, follow=True)
    assert answer.status_code == 200 and "javascript" not in ShortLink.objects.get(pk=link.pk).target_url
    client.post("/short/managed/manage", {"action": "edit", "url": "https://example.com/x", "max_visits": "many"})
    assert ShortLink.objects.get(pk=link.pk).target_url == "https://example.com/page"


@pytest.mark.parametrize("who", ["bob", "charlie"])
def test_members_and_strangers_get_404_and_change_nothing(link, request, who):
    client = signed_in(request.getfixturevalue(who))
    assert client.post("/short/managed/manage", {"action": "delete"}).status_code == 404
    assert client.post("/short/managed/manage", {"action": "pause"}).status_code == 404
    assert ShortLink.objects.filter(pk=link.pk, paused=False).exists()


def test_a_manager_may(link, alice):
    signed_in(alice).post("/short/managed/manage", {"action": "pause"})
    assert ShortLink.objects.get(pk=link.pk).paused


def test_anonymous_visitors_are_sent_to_log_in(link):
    answer = Client().post("/short/managed/manage", {"action": "delete"})
    assert answer.status_code == 302 and "/login/" in answer["Location"]
    assert ShortLink.objects.filter(pk=link.pk).exists()


def test_admin_pauses_and_resumes_through_the_services(link, alice):
    client = signed_in(alice)
    client.post("/admin/shortener/shortlink/", {"action": "pause", "_selected_action": [link.pk]})
    assert ShortLink.objects.get(pk=link.pk).paused
    assert Client().get("/s/managed").status_code == 410  # the cached lookup was dropped
    client.post("/admin/shortener/shortlink/", {"action": "resume", "_selected_action": [link.pk]})
    assert Client().get("/s/managed").status_code == 302
