"""The share page from the cache (issue 26; pan/page_cache.py).

A visitor without a session gets the locked page from the cache, with no
query. Nothing of SPEC §4.3-4.4 changes: each test warms the cache as one
visitor and then asks as another, on both cache backends (local memory,
and Redis when `REDIS_URL` is set). Every service that changes what the
kept page shows, or whether it may be shown, replaces it: each test below
fails without its call of `share_page_changed`.
"""

import io
import os
import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from pan import services
from pan.models import Share

from .conftest import body_of

SECRET = "salary-2026.xlsx"
MESSAGE = "Meet me at the station"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(params=["locmem", "redis"])
def backend(request, settings):
    """Each test on local memory, and on Redis when the run has one."""
    if request.param == "locmem":
        settings.CACHES = {
            **settings.CACHES,
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "page-cache-test"},
        }
    else:
        if not os.environ.get("REDIS_URL"):
            pytest.skip("Redis: run with REDIS_URL set (the PostgreSQL + Redis run)")
        settings.CACHES = {
            **settings.CACHES,
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": os.environ["REDIS_URL"],
                "KEY_PREFIX": "page-cache-test",
            },
        }
    from django.core.cache import cache

    cache.clear()
    yield request.param
    cache.clear()


def make_share(owner, *, title="Quarterly", **fields) -> Share:
    incoming = [services.IncomingFile(io.BytesIO(b"twelve bytes"), SECRET)]
    return services.share_create(owner=owner, files=incoming, title=title, message=MESSAGE, **fields)


def visit(share, client=None, **extra):
    client = client or Client()
    return client.get(f"/f/{share.unique_name}/", HTTP_ACCEPT_LANGUAGE="en", **extra)


def warm(share) -> str:
    """The page as a first visitor without a session sees it (and the cache keeps)."""
    page = visit(share)
    assert page.status_code == 200
    return page.content.decode()


def shows_items(html: str) -> bool:
    return SECRET in html or MESSAGE in html


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def unlocked_client(share) -> Client:
    """A browser that typed the code on the page (its session unlocked the share)."""
    client = Client(enforce_csrf_checks=True)
    html = visit(share, client).content.decode()
    answer = client.post(
        f"/f/{share.unique_name}/", {"code": share.code, "csrfmiddlewaretoken": TOKEN.search(html).group(1)}
    )
    assert answer.status_code == 302, answer.content
    return client


# --- No query, and the CSRF token is each visitor's own ----------------------------------


@pytest.mark.django_db
def test_a_kept_page_runs_no_query_for_a_visitor_without_a_session(backend, dana, django_assert_num_queries):
    share = make_share(dana)
    first = warm(share)
    with django_assert_num_queries(0):
        page = visit(share)
    html = page.content.decode()
    assert page.status_code == 200 and "Quarterly" in html and 'name="code"' in html
    assert not shows_items(html)
    # The same page but for its forms' tokens: the second visitor got a cookie and a token of its own.
    assert TOKEN.sub("", html) == TOKEN.sub("", first)
    assert "csrftoken" in page.cookies


@pytest.mark.django_db
def test_the_kept_page_s_form_carries_each_visitor_s_own_working_token(backend, dana):
    share = make_share(dana)
    warm(share)
    browser = Client(enforce_csrf_checks=True)
    html = visit(share, browser).content.decode()
    token = TOKEN.search(html).group(1)
    opened = browser.post(f"/f/{share.unique_name}/", {"code": share.code, "csrfmiddlewaretoken": token})
    assert opened.status_code == 302
    assert shows_items(visit(share, browser).content.decode())
    # Another visitor's token is refused for this browser (it is not a shared one).
    other = TOKEN.search(visit(share).content.decode()).group(1)
    stranger = Client(enforce_csrf_checks=True)
    visit(share, stranger)
    forged = {"code": share.code, "csrfmiddlewaretoken": "x" + other[1:]}
    assert stranger.post(f"/f/{share.unique_name}/", forged).status_code == 403


@pytest.mark.django_db
def test_a_code_from_the_link_is_the_visitor_s_own_never_kept(backend, dana):
    share = make_share(dana)
    warm(share)
    with_code = Client().get(f"/f/{share.unique_name}/", {"code": "ABCD-2345"}, HTTP_ACCEPT_LANGUAGE="en")
    assert 'value="ABCD-2345"' in with_code.content.decode()
    assert "ABCD-2345" not in visit(share).content.decode()


# --- Privacy against the cache: warm as one visitor, ask as another ------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["dana", "alice"])
def test_owner_and_manager_see_everything_after_an_anonymous_visit_and_leave_nothing(backend, persona, request, dana):
    share = make_share(dana)
    warm(share)
    html = visit(share, signed_in(request.getfixturevalue(persona))).content.decode()
    assert shows_items(html)
    assert not shows_items(visit(share).content.decode())


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["bob", "charlie"])
def test_member_and_stranger_see_the_locked_page_either_way(backend, persona, request, dana):
    share = make_share(dana)
    user = request.getfixturevalue(persona)
    assert not shows_items(visit(share, signed_in(user)).content.decode())
    warm(share)
    html = visit(share, signed_in(user)).content.decode()
    assert not shows_items(html) and "Quarterly" in html


@pytest.mark.django_db
def test_a_listed_share_opens_for_a_member_not_for_the_kept_page(backend, dana, bob):
    share = make_share(dana, listed=True)
    warm(share)
    assert shows_items(visit(share, signed_in(bob)).content.decode())
    assert not shows_items(visit(share).content.decode())
    # and the other way round
    services.share_update(share=share, changes={"title": "Other"})
    assert shows_items(visit(share, signed_in(bob)).content.decode())
    assert not shows_items(warm(share))


@pytest.mark.django_db
def test_another_visitor_s_unlock_never_reaches_the_kept_page(backend, dana):
    share = make_share(dana)
    opener = unlocked_client(share)
    assert shows_items(visit(share, opener).content.decode())
    kept = warm(share)
    assert not shows_items(kept)
    assert not shows_items(visit(share).content.decode())
    # and the visitor who unlocked still sees everything after the page was kept
    assert shows_items(visit(share, opener).content.decode())


@pytest.mark.django_db
def test_a_password_share_kept_page_never_asks_for_the_password_nor_shows_items(backend, dana):
    share = make_share(dana, password="Long-Password-1")
    warm(share)
    html = visit(share).content.decode()
    assert 'name="password"' not in html and not shows_items(html)


@pytest.mark.django_db
def test_a_drop_s_kept_page_never_names_its_sender(backend, dana):
    from dropoff.services import request_create

    from .conftest import multipart_files

    made = request_create(owner=dana, title="Scans", max_files=5, max_bytes=10**6)
    body, ctype = multipart_files([(SECRET, b"twelve bytes")], name="Li Wei", note=MESSAGE)
    assert APIClient().generic("POST", f"/api/requests/{made.code}/drops", body, content_type=ctype).status_code == 201
    share = Share.objects.get(drop__request=made)
    for _ in range(2):
        html = visit(share).content.decode()
        assert "Li Wei" not in html and not shows_items(html)


# --- Every change that matters replaces the kept page ----------------------------------------


@pytest.mark.django_db(transaction=True)
def test_revoking_replaces_the_kept_page_with_410(backend, dana):
    share = make_share(dana)
    warm(share)
    services.share_revoke(share=share)
    page = visit(share)
    assert page.status_code == 410 and not shows_items(page.content.decode())


@pytest.mark.django_db(transaction=True)
def test_an_edit_replaces_the_kept_page(backend, dana):
    share = make_share(dana)
    assert "Quarterly" in warm(share)
    services.share_update(share=share, changes={"title": "Annual"})
    html = visit(share).content.decode()
    assert "Annual" in html and "Quarterly" not in html


@pytest.mark.django_db(transaction=True)
def test_an_edit_in_the_admin_replaces_the_kept_page(backend, dana, alice):
    share = make_share(dana)
    assert "Quarterly" in warm(share)
    admin = signed_in(alice)
    url = f"/admin/pan/share/{share.pk}/change/"
    form = admin.get(url).content.decode()
    data = {name: value for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form)}
    data.pop("_addanother", None), data.pop("_continue", None)
    expires = timezone.localtime(share.expires_at)
    data.update(
        title="Annual",
        message=MESSAGE,
        owner=str(dana.pk),
        expires_at_0=expires.strftime("%Y-%m-%d"),
        expires_at_1=expires.strftime("%H:%M:%S"),
        max_downloads="",
        _save="Save",
    )
    answer = admin.post(url, data)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert Share.objects.get(pk=share.pk).title == "Annual"
    assert "Annual" in visit(share).content.decode()


@pytest.mark.django_db(transaction=True)
def test_completing_an_upload_replaces_the_kept_still_uploading_page(backend, dana):
    share = make_share(dana, uploading=True)
    assert "Still uploading" in warm(share)
    services.share_update(share=share, changes={"complete": True})
    assert "Still uploading" not in visit(share).content.decode()


@pytest.mark.django_db(transaction=True)
def test_deleting_replaces_the_kept_page_with_404(backend, dana):
    share = make_share(dana)
    warm(share)
    services.share_delete(share=share)
    assert visit(share).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_deleting_the_owner_replaces_the_kept_page_with_404(backend, dana):
    share = make_share(dana)
    warm(share)
    dana.delete()
    assert visit(share).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_download_that_uses_a_share_up_replaces_the_kept_page_with_410(backend, dana):
    share = make_share(dana, max_downloads=1)
    warm(share)
    answer = APIClient().get(f"/api/files/{share.unique_name}/content", HTTP_X_SHARE_CODE=share.code)
    assert answer.status_code == 200 and body_of(answer) == b"twelve bytes"
    assert Share.objects.get(pk=share.pk).download_count == 1
    assert visit(share).status_code == 410


@pytest.mark.django_db
def test_expiry_passing_ends_the_kept_page_without_any_call(backend, dana):
    share = make_share(dana, expires_in=3600)
    warm(share)
    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
        assert visit(share).status_code == 410


@pytest.mark.django_db(transaction=True)
def test_a_shorter_expiry_replaces_the_kept_page(backend, dana):
    share = make_share(dana, expires_in=7 * 24 * 3600)
    warm(share)
    services.share_update(share=share, changes={"expires_in": 60})
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert visit(share).status_code == 410


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_meanwhile_is_never_kept_under_the_new_version(backend, dana, monkeypatch):
    """A visit that read the share before a change committed keeps its page
    under the version it read first; the next visit renders afresh."""
    from pan import access

    share = make_share(dana)
    real_lookup = access.share_lookup

    def lookup_then_change(*, unique_name):
        found = real_lookup(unique_name=unique_name)
        monkeypatch.setattr(access, "share_lookup", real_lookup)
        services.share_update(share=Share.objects.get(pk=share.pk), changes={"title": "Annual"})
        return found

    monkeypatch.setattr(access, "share_lookup", lookup_then_change)
    assert "Quarterly" in warm(share)  # rendered from what it read before the change
    assert "Annual" in visit(share).content.decode()
