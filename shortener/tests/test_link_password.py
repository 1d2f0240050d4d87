"""Paused links and links with a password (SPEC §5): 410 while paused; a
small password page (CSRF, guessing limits), the redirect after; the
password never in a URL or the log; statistics recorded on the way."""

import pytest
from django.test import Client

from shortener import stats
from shortener.models import LinkVisitDay, ShortLink
from shortener.services import short_link_create, short_link_update

pytestmark = pytest.mark.django_db

SECRET = "Harbour-Kite-58"


@pytest.fixture
def link(dana):
    made, _created = short_link_create(url="https://example.com/secret-page", owner=dana, slug="guarded")
    short_link_update(link=made, password=SECRET)
    return ShortLink.objects.get(pk=made.pk)


def test_a_paused_link_answers_410_until_resumed(dana):
    made, _ = short_link_create(url="https://example.com/p", owner=dana, slug="pausing")
    short_link_update(link=made, paused=True)
    page = Client().get("/s/pausing", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 410 and "暂停" in page.content.decode()
    assert Client().get("/s/pausing", HTTP_ACCEPT="application/json").json()["error"]["code"] == "link_paused"
    short_link_update(link=made, paused=False)
    assert Client().get("/s/pausing").status_code == 302
    assert ShortLink.objects.get(pk=made.pk).visit_count == 1


def test_the_password_page_then_the_redirect(link, caplog):
    client = Client(enforce_csrf_checks=True)
    asked = client.get("/s/guarded")
    assert asked.status_code == 401 and 'name="password"' in asked.content.decode()
    assert "example.com" not in asked.content.decode()  # the target is not told before the password
    token = client.cookies["csrftoken"].value
    wrong = client.post("/s/guarded", {"password": "nope", "csrfmiddlewaretoken": token})
    assert wrong.status_code == 403 and "example.com" not in wrong.content.decode()
    right = client.post("/s/guarded", {"password": SECRET, "csrfmiddlewaretoken": token})
    assert right.status_code == 302 and right["Location"] == "https://example.com/secret-page"
    assert ShortLink.objects.get(pk=link.pk).visit_count == 1
    assert SECRET not in caplog.text
    assert not ShortLink.objects.get(pk=link.pk).password.startswith(SECRET[:4])


def test_a_post_without_the_csrf_token_is_refused(link):
    refused = Client(enforce_csrf_checks=True).post("/s/guarded", {"password": SECRET})
    assert refused.status_code == 403
    assert ShortLink.objects.get(pk=link.pk).visit_count == 0


def test_password_guesses_are_limited(link, settings):
    settings.PAN_CODE_CLIENT_LIMIT = 3
    client = Client(REMOTE_ADDR="198.51.100.31")
    answers = [client.post("/s/guarded", {"password": f"guess-{n}"}).status_code for n in range(4)]
    assert answers == [403, 403, 403, 429]
    still = client.post("/s/guarded", {"password": SECRET})
    assert still.status_code == 429 and int(still["Retry-After"]) > 0


def test_api_clients_get_json_for_a_password(link):
    answer = Client().get("/s/guarded", HTTP_ACCEPT="application/json")
    assert (answer.status_code, answer.json()["error"]["code"]) == (401, "password_required")


def test_visits_through_the_redirect_reach_the_statistics(dana):
    stats._buffer.clear()
    made, _ = short_link_create(url="https://example.com/s", owner=dana, slug="counted")
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    for _ in range(3):
        Client(HTTP_USER_AGENT=firefox, HTTP_REFERER="https://news.example.org/a").get("/s/counted")
    Client().head("/s/counted")  # not a visit
    assert stats.stats_flush() == 3
    row = LinkVisitDay.objects.get(link=made)
    assert (row.visits, row.browser, row.referrer) == (3, "Firefox", "news.example.org")


def test_owner_pauses_and_protects_through_the_api_others_get_404(api_as, dana, bob, charlie, alice):
    made, _ = short_link_create(url="https://example.com/api", owner=dana, slug="api-managed")
    for stranger in (bob, charlie):
        assert api_as(stranger).patch("/api/short/api-managed", {"paused": True}, format="json").status_code == 404
    assert not ShortLink.objects.get(pk=made.pk).paused
    paused = api_as(dana).patch("/api/short/api-managed", {"paused": True, "password": SECRET}, format="json")
    assert paused.status_code == 200
    assert (paused.json()["paused"], paused.json()["password"]) == (True, True)
    assert SECRET not in paused.content.decode()
    assert Client().get("/s/api-managed").status_code == 410
    resumed = api_as(alice).patch("/api/short/api-managed", {"paused": False, "password": ""}, format="json")
    assert (resumed.json()["paused"], resumed.json()["password"]) == (False, False)
    assert Client().get("/s/api-managed").status_code == 302
    assert api_as(dana).patch("/api/short/api-managed", {"paused": "maybe"}, format="json").status_code == 400


def test_a_password_given_at_creation_guards_the_link_from_the_first_visit(dana, api):
    api.force_authenticate(dana)
    plain = api.post("/api/short", {"url": "https://example.com/report"}, format="json")
    assert plain.status_code == 201 and plain.json()["password"] is False
    guarded = api.post("/api/short", {"url": "https://example.com/report", "password": SECRET}, format="json")
    assert guarded.status_code == 201, guarded.content
    assert guarded.json()["password"] is True
    # The same URL from the same owner with a password is a new link, never the unprotected one.
    assert guarded.json()["key"] != plain.json()["key"]
    again = api.post("/api/short", {"url": "https://example.com/report", "password": "Other-Lantern-77"}, format="json")
    assert again.status_code == 201 and again.json()["key"] not in (plain.json()["key"], guarded.json()["key"])

    asked = Client().get(f"/s/{guarded.json()['key']}")
    assert asked.status_code == 401 and "example.com" not in asked.content.decode()
    client = Client()
    client.get(f"/s/{guarded.json()['key']}")
    right = client.post(f"/s/{guarded.json()['key']}", {"password": SECRET})
    assert right.status_code == 302 and right["Location"] == "https://example.com/report"
    assert Client().get(f"/s/{plain.json()['key']}").status_code == 302


def test_an_anonymous_link_with_a_password_and_a_custom_name(api):
    made = api.post(
        "/api/short", {"url": "https://example.com/x", "slug": "anon-guard", "password": SECRET}, format="json"
    )
    assert made.status_code == 201 and made.json()["password"] is True
    assert Client().get("/s/anon-guard").status_code == 401
    # Asking again for the same name with the same options cannot hand out the guarded link.
    assert (
        api.post("/api/short", {"url": "https://example.com/x", "slug": "anon-guard"}, format="json").status_code == 409
    )


def test_an_empty_password_at_creation_means_none(api):
    made = api.post("/api/short", {"url": "https://example.com/open", "password": ""}, format="json")
    assert made.status_code == 201 and made.json()["password"] is False
    assert Client().get(f"/s/{made.json()['key']}").status_code == 302


def test_a_password_one_character_off_in_any_position_is_refused(link, settings):
    settings.PAN_CODE_CLIENT_LIMIT = settings.PAN_CODE_CLIENT_ALL_LIMIT = settings.PAN_CODE_NETWORK_LIMIT = 1000
    client = Client()
    near = [SECRET[:i] + ("x" if SECRET[i] != "x" else "y") + SECRET[i + 1 :] for i in range(len(SECRET))]
    near += [SECRET[:-1], SECRET + "9", SECRET.lower(), SECRET.upper()]
    for miss in near:
        assert client.post("/s/guarded", {"password": miss}).status_code == 403, miss
    assert client.post("/s/guarded", {"password": SECRET}).status_code == 302
