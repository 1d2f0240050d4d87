"""GET /s/<key> and /short/<key>: redirects, 404/410, counting, the cache."""

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from shortener.models import ShortLink
from shortener.services import _cache_key

from .conftest import EN, ZH

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}
BROWSER = {"HTTP_ACCEPT": "text/html,application/xhtml+xml,*/*;q=0.8"}


def visits(key: str) -> int:
    return ShortLink.objects.get(key=key).visit_count


@pytest.mark.parametrize("prefix", ["/s/", "/short/"])
def test_a_visit_is_a_302_to_the_target_with_private_no_referrer_headers(link_of, prefix):
    key = link_of(None, "https://example.com/landing?a=1")["key"]
    response = Client().get(f"{prefix}{key}", **BROWSER)
    assert response.status_code == 302
    assert response["Location"] == "https://example.com/landing?a=1"
    assert response["Cache-Control"] == "private, max-age=0"
    assert response["Referrer-Policy"] == "no-referrer"
    assert not [name for name in response.headers if name.lower().startswith(("ratelimit", "x-ratelimit"))]
    assert "Retry-After" not in response.headers


def test_idn_targets_redirect_to_their_ascii_form(link_of):
    key = link_of(None, "https://bücher.example/straße")["key"]
    assert Client().get(f"/s/{key}")["Location"] == "https://xn--bcher-kva.example/stra%C3%9Fe"


def test_each_visit_is_counted_with_its_time(link_of):
    key = link_of(None)["key"]
    client = Client()
    with time_machine.travel("2030-05-01 12:00:00Z", tick=False):
        for _ in range(3):
            assert client.get(f"/s/{key}").status_code == 302
    link = ShortLink.objects.get(key=key)
    assert link.visit_count == 3
    assert link.last_visit.isoformat() == "2030-05-01T12:00:00+00:00"


def test_head_answers_like_get_but_does_not_count(link_of):
    key = link_of(None, max_visits=1)["key"]
    response = Client().head(f"/s/{key}")
    assert response.status_code == 302 and response["Location"] == "https://example.com/landing"
    assert visits(key) == 0
    assert Client().get(f"/s/{key}").status_code == 302
    assert Client().head(f"/s/{key}").status_code == 410


def test_other_methods_are_405(link_of):
    key = link_of(None)["key"]
    assert Client().post(f"/s/{key}").status_code == 405
    assert visits(key) == 0


@pytest.mark.parametrize("key", ["NoSuch99", "x", "a" * 65, "bad%20key", "中文"])
def test_an_unknown_key_is_a_404_page_for_browsers(key):
    response = Client().get(f"/s/{key}", **BROWSER, **EN)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "There is no short link with this name." in response.content.decode()


def test_an_unknown_key_is_json_for_api_clients_in_both_languages():
    english = Client().get("/s/NoSuch99", **JSON, **EN)
    chinese = Client().get("/short/NoSuch99", **JSON, **ZH)
    assert english.status_code == chinese.status_code == 404
    assert english.json() == {"error": {"code": "link_not_found", "message": "There is no short link with this name."}}
    assert chinese.json()["error"]["message"] == "没有这个短链接。"


def test_an_expired_link_is_410_judged_at_request_time(link_of):
    expires = timezone.now() + timedelta(hours=1)
    key = link_of(None, expires_at=expires.isoformat())["key"]
    assert Client().get(f"/s/{key}").status_code == 302  # now cached
    with time_machine.travel(expires + timedelta(seconds=1)):
        gone = Client().get(f"/s/{key}", **BROWSER, **EN)
        assert gone.status_code == 410
        assert "This short link has expired." in gone.content.decode()
        gone_json = Client().get(f"/s/{key}", **JSON, **ZH)
        assert gone_json.status_code == 410
        assert gone_json.json()["error"] == {"code": "link_expired", "message": "这个短链接已过期。"}
    assert visits(key) == 1


def test_the_visit_limit_answers_410_after_the_last_allowed_visit(link_of):
    key = link_of(None, max_visits=2)["key"]
    client = Client()
    assert [client.get(f"/s/{key}").status_code for _ in range(2)] == [302, 302]
    over = client.get(f"/s/{key}", **JSON, **EN)
    assert over.status_code == 410
    assert over.json()["error"]["code"] == "link_used_up"
    page = client.get(f"/s/{key}", **BROWSER, **ZH)
    assert page.status_code == 410
    assert "这个短链接的访问次数已用完。" in page.content.decode()
    assert visits(key) == 2


def test_lookups_come_from_the_cache_after_the_first_visit(link_of, django_assert_max_num_queries):
    key = link_of(None)["key"]
    Client().get(f"/s/{key}")
    assert cache.get(_cache_key(key))["url"] == "https://example.com/landing"
    with django_assert_max_num_queries(1):  # only the counter's UPDATE, no SELECT
        assert Client().get(f"/s/{key}").status_code == 302


def test_changing_the_target_is_never_served_stale(api_as, bob, link_of):
    key = link_of(bob, "https://example.com/old")["key"]
    assert Client().get(f"/s/{key}")["Location"] == "https://example.com/old"
    response = api_as(bob).patch(f"/api/short/{key}", {"url": "https://example.com/new"}, format="json")
    assert response.status_code == 200
    assert Client().get(f"/s/{key}")["Location"] == "https://example.com/new"
    assert visits(key) == 2


def test_a_stale_cache_entry_left_by_a_direct_write_is_detected(link_of):
    key = link_of(None, "https://example.com/old")["key"]
    Client().get(f"/s/{key}")
    # A write that bypasses services and signals (a raw UPDATE) leaves the
    # cache stale; the counter's UPDATE matches the cached target and notices.
    ShortLink.objects.filter(key=key).update(target_url="https://example.com/new")
    assert cache.get(_cache_key(key))["url"] == "https://example.com/old"
    assert Client().get(f"/s/{key}")["Location"] == "https://example.com/new"


def test_raising_the_visit_limit_reopens_the_link(api_as, bob, link_of):
    key = link_of(bob, max_visits=1)["key"]
    Client().get(f"/s/{key}")
    assert Client().get(f"/s/{key}").status_code == 410
    assert api_as(bob).patch(f"/api/short/{key}", {"max_visits": 2}, format="json").status_code == 200
    assert Client().get(f"/s/{key}").status_code == 302
    assert Client().get(f"/s/{key}").status_code == 410


def test_a_deleted_link_is_404_at_once(api_as, bob, link_of):
    key = link_of(bob)["key"]
    assert Client().get(f"/s/{key}").status_code == 302
    assert api_as(bob).delete(f"/api/short/{key}").status_code == 204
    assert cache.get(_cache_key(key)) is None
    assert Client().get(f"/s/{key}").status_code == 404


def test_deleting_the_owner_takes_the_links_with_them(link_of, make_user):
    owner = make_user("dora")
    key = link_of(owner)["key"]
    assert Client().get(f"/s/{key}").status_code == 302
    owner.delete()
    assert Client().get(f"/s/{key}").status_code == 404


def test_a_slug_created_after_a_404_works_at_once(api):
    assert Client().get("/s/late-slug").status_code == 404  # "no such key" is cached briefly
    assert (
        api.post("/api/short", {"url": "https://example.com/", "slug": "late-slug"}, format="json").status_code == 201
    )
    assert Client().get("/s/late-slug").status_code == 302
