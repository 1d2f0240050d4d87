"""Django admin (lists, search, filters, edits through services) and `manage.py shorten`."""

from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client

from conftest import PASSWORD
from shortener.models import ShortLink
from shortener.services import _cache_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(alice):
    client = Client()
    assert client.login(username="alice", password=PASSWORD)
    return client


def test_admin_lists_links_with_visit_counts_and_searches(admin_client, link_of, bob):
    key = link_of(bob, "https://example.com/findme")["key"]
    other = link_of(None, "https://example.org/other")["key"]
    for _ in range(3):
        Client().get(f"/s/{key}")
    page = admin_client.get("/admin/shortener/shortlink/")
    assert page.status_code == 200
    assert key in page.content.decode() and other in page.content.decode()
    assert '<td class="field-visit_count">3</td>' in page.content.decode()
    found = admin_client.get("/admin/shortener/shortlink/", {"q": "findme"}).content.decode()
    assert key in found and other not in found
    by_owner = admin_client.get("/admin/shortener/shortlink/", {"q": "bob"}).content.decode()
    assert key in by_owner and other not in by_owner


def test_admin_filters_by_state(admin_client, link_of):
    used = link_of(None, "https://example.com/used", max_visits=1)["key"]
    active = link_of(None, "https://example.com/active")["key"]
    Client().get(f"/s/{used}")
    page = admin_client.get("/admin/shortener/shortlink/", {"state": "used_up"}).content.decode()
    assert used in page and active not in page
    page = admin_client.get("/admin/shortener/shortlink/", {"state": "active"}).content.decode()
    assert active in page and used not in page


def test_an_admin_edit_drops_the_cache_and_keeps_the_visit_count(admin_client, link_of):
    key = link_of(None, "https://example.com/before")["key"]
    Client().get(f"/s/{key}")
    link = ShortLink.objects.get(key=key)
    form = admin_client.get(f"/admin/shortener/shortlink/{link.pk}/change/")
    assert form.status_code == 200
    response = admin_client.post(
        f"/admin/shortener/shortlink/{link.pk}/change/",
        {"target_url": "https://example.com/after", "expires_at_0": "", "expires_at_1": "", "max_visits": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert cache.get(_cache_key(key)) is None
    assert Client().get(f"/s/{key}")["Location"] == "https://example.com/after"
    assert ShortLink.objects.get(key=key).visit_count == 2


def test_an_admin_edit_with_a_bad_target_is_refused_on_the_form(admin_client, link_of):
    key = link_of(None, "https://example.com/before")["key"]
    link = ShortLink.objects.get(key=key)
    response = admin_client.post(
        f"/admin/shortener/shortlink/{link.pk}/change/",
        {"target_url": "javascript:alert(1)", "expires_at_0": "", "expires_at_1": "", "max_visits": ""},
    )
    assert response.status_code == 200
    assert "Only http and https links can be shortened." in response.content.decode()
    assert ShortLink.objects.get(key=key).target_url == "https://example.com/before"


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("max_visits", "0", "The visit limit must be a whole number of at least 1."),
        ("expires_at", ("2001-01-01", "00:00:00"), "The expiry time must be in the future."),
    ],
)
def test_an_admin_edit_with_bad_limits_is_refused_on_the_form(admin_client, link_of, field, value, message):
    key = link_of(None, "https://example.com/before")["key"]
    link = ShortLink.objects.get(key=key)
    form = {"target_url": "https://example.com/before", "expires_at_0": "", "expires_at_1": "", "max_visits": ""}
    if field == "expires_at":
        form["expires_at_0"], form["expires_at_1"] = value
    else:
        form[field] = value
    response = admin_client.post(f"/admin/shortener/shortlink/{link.pk}/change/", form)
    assert response.status_code == 200
    assert message in response.content.decode()
    link.refresh_from_db()
    assert (link.max_visits, link.expires_at) == (None, None)


def test_an_admin_delete_is_404_at_once(admin_client, link_of):
    key = link_of(None)["key"]
    Client().get(f"/s/{key}")
    link = ShortLink.objects.get(key=key)
    response = admin_client.post(f"/admin/shortener/shortlink/{link.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert Client().get(f"/s/{key}").status_code == 404


def test_admin_bulk_delete_goes_through_the_service(admin_client, link_of):
    keys = [link_of(None, f"https://example.com/{n}")["key"] for n in range(2)]
    for key in keys:
        Client().get(f"/s/{key}")
    pks = list(ShortLink.objects.values_list("pk", flat=True))
    response = admin_client.post(
        "/admin/shortener/shortlink/", {"action": "delete_selected", "_selected_action": pks, "post": "yes"}
    )
    assert response.status_code == 302
    assert [Client().get(f"/s/{key}").status_code for key in keys] == [404, 404]


def test_members_cannot_open_the_admin(bob):
    client = Client()
    client.login(username="bob", password=PASSWORD)
    assert client.get("/admin/shortener/shortlink/").status_code == 403


def test_the_shorten_command_prints_the_short_link(bob):
    out = StringIO()
    call_command("shorten", "example.com/from-cli", "--slug", "cli-link", "--user", "bob", stdout=out)
    assert out.getvalue().strip() == "http://127.0.0.1:8000/s/cli-link"
    link = ShortLink.objects.get(key="cli-link")
    assert (link.target_url, link.owner) == ("https://example.com/from-cli", bob)
    assert Client().get("/s/cli-link")["Location"] == "https://example.com/from-cli"


def test_the_shorten_command_uses_the_base_url_setting(settings):
    settings.SHORT_LINK_BASE_URL = "https://go.example.net"
    out = StringIO()
    call_command("shorten", "https://example.com/x", stdout=out)
    assert out.getvalue().startswith("https://go.example.net/s/")


@pytest.mark.parametrize(
    "args,message",
    [
        (["javascript:alert(1)"], "Only http and https links can be shortened."),
        (["https://example.com/", "--slug", "admin"], "This name is reserved."),
        (["https://example.com/", "--user", "nobody"], "No such user: nobody"),
        (["https://example.com/", "--expires-at", "soon"], "ISO 8601"),
        (["https://example.com/", "--max-visits", "0"], "at least 1"),
    ],
)
def test_the_shorten_command_refuses_bad_input(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("shorten", *args, stdout=StringIO())
    assert ShortLink.objects.count() == 0
