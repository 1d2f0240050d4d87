"""GET/PATCH/DELETE /api/short/<key> and GET /api/short: owner or `manage` only."""

import pytest
from django.test import Client

from shortener.models import ShortLink

from .conftest import EN

pytestmark = pytest.mark.django_db


def test_the_owner_sees_target_visits_created_last_visit_and_expiry(api_as, bob, link_of):
    key = link_of(bob, "https://example.com/stats", max_visits=10)["key"]
    Client().get(f"/s/{key}")
    Client().get(f"/short/{key}")
    body = api_as(bob).get(f"/api/short/{key}").json()
    assert body["url"] == "https://example.com/stats"
    assert body["visits"] == 2
    assert body["created_at"] and body["last_visit"]
    assert body["expires_at"] is None and body["max_visits"] == 10
    assert body["short_url"] == f"http://testserver/s/{key}"


def test_an_admin_with_manage_sees_anyones_link(api_as, alice, bob, link_of):
    key = link_of(bob)["key"]
    anonymous = link_of(None, "https://example.org/")["key"]
    assert api_as(alice).get(f"/api/short/{key}").status_code == 200
    assert api_as(alice).get(f"/api/short/{anonymous}").status_code == 200


def test_a_stranger_gets_the_same_404_as_for_an_unknown_key(api_as, bob, charlie, link_of):
    key = link_of(bob)["key"]
    theirs = api_as(charlie).get(f"/api/short/{key}", **EN)
    unknown = api_as(charlie).get("/api/short/NoSuch99", **EN)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json() == unknown.json()
    # Nor may a member without `manage` see an anonymous link.
    anonymous = link_of(None, "https://example.org/")["key"]
    assert api_as(bob).get(f"/api/short/{anonymous}").status_code == 404


def test_stats_need_a_signed_in_caller(api, link_of):
    key = link_of(None)["key"]
    assert api.get(f"/api/short/{key}").status_code == 401
    assert api.get("/api/short").status_code == 401
    assert api.delete(f"/api/short/{key}").status_code == 401
    assert ShortLink.objects.filter(key=key).exists()


def test_the_list_holds_only_the_callers_links_newest_first(api_as, bob, charlie, link_of):
    first = link_of(bob, "https://example.com/1")["key"]
    second = link_of(bob, "https://example.com/2")["key"]
    link_of(charlie, "https://example.com/3")
    body = api_as(bob).get("/api/short").json()
    assert body["count"] == 2
    assert [item["key"] for item in body["results"]] == [second, first]


def test_only_the_owner_or_an_admin_can_delete(api_as, alice, bob, charlie, link_of):
    key = link_of(bob)["key"]
    assert api_as(charlie).delete(f"/api/short/{key}").status_code == 404
    assert ShortLink.objects.filter(key=key).exists()
    assert api_as(alice).delete(f"/api/short/{key}").status_code == 204
    assert not ShortLink.objects.filter(key=key).exists()
    assert api_as(bob).delete(f"/api/short/{key}").status_code == 404


def test_only_the_owner_can_change_a_link_and_bad_changes_are_refused(api_as, bob, charlie, link_of):
    key = link_of(bob, "https://example.com/keep")["key"]
    assert (
        api_as(charlie).patch(f"/api/short/{key}", {"url": "https://evil.example/"}, format="json").status_code == 404
    )
    for body in ({"url": "javascript:alert(1)"}, {"max_visits": 0}, {"expires_at": "2001-01-01T00:00:00Z"}):
        assert api_as(bob).patch(f"/api/short/{key}", body, format="json").status_code == 400
    link = ShortLink.objects.get(key=key)
    assert (link.target_url, link.max_visits, link.expires_at) == ("https://example.com/keep", None, None)


@pytest.mark.parametrize("key", ["%00", "a%00b", "x" * 65, "%E4%B8%AD", "a.b"])
def test_odd_keys_are_404_for_every_method(api_as, alice, key):
    client = api_as(alice)
    assert client.get(f"/api/short/{key}").status_code == 404
    assert client.patch(f"/api/short/{key}", {"max_visits": 2}, format="json").status_code == 404
    assert client.delete(f"/api/short/{key}").status_code == 404
    assert Client().get(f"/s/{key}").status_code == 404
