"""Rate limits through the real middleware stack (in process, both handler modes)."""

import logging
from datetime import UTC, datetime

import pytest
import time_machine
from django.http import JsonResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import path

from project.testing import refusing_port
from project.urls import urlpatterns as project_urlpatterns


def locked_out(request):
    """Like a view with a tighter limit of its own (logins, share codes)."""
    response = JsonResponse({"error": {"code": "too_many_requests", "message": "locked"}}, status=429)
    response["Retry-After"] = "300"
    response["RateLimit-Remaining"] = "0"
    return response


urlpatterns = [path("locked-out/", locked_out), *project_urlpatterns]
handler404 = "project.views.page_not_found"

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}
RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy", "RateLimit")
# One second into a window of 60 (windows start at multiples of their length).
WINDOW_START = datetime(2026, 11, 21, 12, 0, 1, tzinfo=UTC)


def limits(**rules):
    """override_settings(RATE_LIMITS=...) from keyword rules: default=(3, 60), api=(...)."""
    names = {"default": "default", "api": "/api/", "login": "/api/login", "me": "/api/me", "echo": "/ws-echo/"}
    return override_settings(RATE_LIMITS={names[name]: value for name, value in rules.items()})


@pytest.fixture
def frozen():
    with time_machine.travel(WINDOW_START, tick=False) as traveller:
        yield traveller


@limits(default=(3, 60))
def test_n_requests_pass_then_429_with_headers(frozen):
    client = Client()
    answers = [client.get("/ws-echo/", **EN) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    for answer in answers:
        assert answer["RateLimit-Limit"] == "3"
        assert answer["RateLimit-Policy"] == '"default";q=3;w=60'
    assert answers[0]["RateLimit-Reset"] == "59"
    assert answers[0]["RateLimit"] == '"default";r=2;t=59'
    assert "Retry-After" not in answers[0]
    refused = answers[3]
    # The window is full: it ends in 59 s, then its weight must fall to 2 of 3 (20 s more).
    assert refused["Retry-After"] == "79"
    assert refused["RateLimit-Reset"] == "79"
    assert refused["RateLimit"] == '"default";r=0;t=79'
    assert refused["Content-Type"].startswith("text/html")
    page = refused.content.decode()
    assert "Too many requests. Please slow down and try again shortly." in page
    assert "You can try again in 79 seconds." in page


@limits(default=(1, 60))
def test_the_429_page_and_json_in_both_languages(frozen):
    client = Client()
    client.get("/ws-echo/")
    page = client.get("/ws-echo/", **ZH)
    assert page.status_code == 429
    assert "请求过于频繁，请稍后再试。" in page.content.decode()
    assert '<html lang="zh-hans">' in page.content.decode()
    english = client.get("/api/me", **EN)
    chinese = client.get("/api/me", **ZH)
    assert english.status_code == chinese.status_code == 429
    assert english.json() == {
        "error": {"code": "too_many_requests", "message": "Too many requests. Please slow down and try again shortly."}
    }
    assert chinese.json()["error"]["message"] == "请求过于频繁，请稍后再试。"
    # A client that asks for JSON gets JSON on a page path too.
    assert client.get("/ws-echo/", HTTP_ACCEPT="application/json").json()["error"]["code"] == "too_many_requests"


@limits(default=(3, 60))
def test_retry_after_is_true_and_the_window_slides(frozen):
    client = Client()
    for _ in range(3):
        assert client.get("/ws-echo/").status_code == 200
    refused = client.get("/ws-echo/")
    retry_after = int(refused["Retry-After"])
    frozen.shift(retry_after - 2)
    # Refused requests are not counted, so asking early does not push the wait out.
    assert client.get("/ws-echo/").status_code == 429
    frozen.shift(2)
    assert client.get("/ws-echo/").status_code == 200
    assert client.get("/ws-echo/").status_code == 429
    # Two whole windows later nothing of the burst is left.
    frozen.shift(120)
    answers = [client.get("/ws-echo/").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]


@limits(default=(4, 60))
def test_the_previous_window_still_weighs_after_the_boundary(frozen):
    client = Client()
    for _ in range(4):
        assert client.get("/ws-echo/").status_code == 200
    frozen.shift(59 + 30)  # halfway through the next window: the old 4 weigh 2
    assert [client.get("/ws-echo/").status_code for _ in range(3)] == [200, 200, 429]


@limits(default=(2, 60))
def test_signed_in_users_and_anonymous_clients_have_separate_budgets(frozen, bob, charlie, api_as):
    anonymous, bob_session, charlie_session = Client(), Client(), Client()
    bob_session.force_login(bob)
    charlie_session.force_login(charlie)
    # All from 127.0.0.1: the signed-in users are counted as themselves.
    assert [bob_session.get("/ws-echo/").status_code for _ in range(3)] == [200, 200, 429]
    assert [anonymous.get("/ws-echo/").status_code for _ in range(3)] == [200, 200, 429]
    assert charlie_session.get("/ws-echo/").status_code == 200
    # Bob's token and Bob's session draw on the same budget: his is spent.
    assert api_as(bob).get("/api/me").status_code == 429
    assert api_as(charlie).get("/api/me").status_code == 200
    assert charlie_session.get("/ws-echo/").status_code == 429


@limits(default=(2, 60))
def test_an_invalid_token_counts_against_the_address(frozen):
    client = Client(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert client.get("/api/me").status_code == 401
    assert client.get("/api/me").status_code == 401
    assert Client().get("/ws-echo/").status_code == 429


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)  # the view reads Bob from another thread
@limits(default=(2, 60))
async def test_the_async_path_counts_users_and_addresses_the_same_way(bob):
    from accounts.tokens import PanAccessToken

    anonymous = AsyncClient()
    assert [(await anonymous.get("/ws-echo/")).status_code for _ in range(3)] == [200, 200, 429]
    # An access token alone writes nothing to the database (a refresh token would).
    # Per request: AsyncClient(headers=...) turns them into WSGI names that ASGI drops.
    bearer = {"Authorization": f"Bearer {PanAccessToken.for_user(bob)}"}
    statuses = [(await anonymous.get("/api/me", headers=bearer)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


@limits(default=(1, 60), api=(0, 60), login=(2, 60))
def test_a_limit_of_zero_switches_a_rule_off_and_the_longest_prefix_wins(frozen, api):
    for _ in range(5):
        answer = api.get("/api/me")
        assert answer.status_code == 401
        assert "RateLimit-Limit" not in answer
    body = {"username": "nobody", "password": "wrong"}
    logins = [api.post("/api/login", body, format="json") for _ in range(3)]
    assert [answer.status_code == 429 for answer in logins] == [False, False, True]
    assert logins[0]["RateLimit-Policy"] == '"/api/login";q=2;w=60'
    assert Client().get("/ws-echo/").status_code == 200
    assert Client().get("/ws-echo/").status_code == 429


@limits(default=(1, 60))
@pytest.mark.parametrize("path", ["/s/abcdefgh", "/short/abcdefgh", "/static/css/site.css"])
@pytest.mark.usefixtures("collected_static")
def test_short_link_redirects_and_static_files_carry_no_rate_limit(path):
    client = Client()
    for _ in range(3):
        answer = client.get(path)
        assert answer.status_code == (200 if path.startswith("/static/") else 404)
        for header in RATE_HEADERS:
            assert header not in answer


@limits(default=(1, 60))
def test_posts_to_an_exempt_prefix_are_still_counted(frozen):
    client = Client()
    first = client.post("/short/")
    assert first["RateLimit-Limit"] == "1"
    assert client.post("/short/").status_code == 429


@override_settings(RATE_LIMIT_ENABLED=False, RATE_LIMITS={"default": (1, 60)})
def test_the_master_switch_turns_rate_limiting_off():
    client = Client()
    for _ in range(3):
        answer = client.get("/ws-echo/")
        assert answer.status_code == 200
        assert "RateLimit-Limit" not in answer


@limits(default=(1, 60))
def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(frozen):
    with override_settings(TRUSTED_PROXIES=["10.0.0.1"]):
        via_proxy = Client(REMOTE_ADDR="10.0.0.1")
        assert via_proxy.get("/ws-echo/", HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 200
        # Another client behind the same proxy has its own budget...
        assert via_proxy.get("/ws-echo/", HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 200
        # ...and the first one has spent its own.
        assert via_proxy.get("/ws-echo/", HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 429

        # Anyone else cannot pick a new address by writing the header.
        direct = Client(REMOTE_ADDR="198.51.100.7")
        assert direct.get("/ws-echo/", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 200
        assert direct.get("/ws-echo/", HTTP_X_FORWARDED_FOR="203.0.113.10").status_code == 429
        assert direct.get("/ws-echo/").status_code == 429


@limits(default=(1, 60))
def test_ipv6_clients_are_counted_by_their_64(frozen):
    assert Client(REMOTE_ADDR="2001:db8:0:1::1").get("/ws-echo/").status_code == 200
    assert Client(REMOTE_ADDR="2001:db8:0:1::ffff").get("/ws-echo/").status_code == 429
    assert Client(REMOTE_ADDR="2001:db8:0:2::1").get("/ws-echo/").status_code == 200


def _unreachable_cache():
    broken = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{refusing_port()}/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
    }
    return {"default": broken, "limits": {**broken, "KEY_PREFIX": "limits"}}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_an_unreachable_cache_lets_requests_through_and_warns_once(mode, caplog):
    from asgiref.sync import async_to_sync

    from project.ratelimit import warn_cache_unreachable

    caplog.set_level(logging.WARNING, logger="pan.ratelimit")
    warn_cache_unreachable._last = float("-inf")  # a fresh interval for this test
    with override_settings(CACHES=_unreachable_cache(), RATE_LIMITS={"default": (1, 60)}):
        if mode == "sync":
            client = Client()
            answers = [client.get("/ws-echo/") for _ in range(5)]
        else:
            client = AsyncClient()

            async def burst():
                return [await client.get("/ws-echo/") for _ in range(5)]

            answers = async_to_sync(burst)()
    assert [a.status_code for a in answers] == [200] * 5
    assert all("RateLimit-Limit" not in a and "X-Process-Time" in a for a in answers)
    warnings = [r for r in caplog.records if r.name == "pan.ratelimit"]
    assert len(warnings) == 1
    assert "cache is unreachable" in warnings[0].getMessage()


def test_bad_rules_in_the_environment_stop_the_start():
    from project.tests.test_settings import SECRETS, manage

    result = manage("check", env={**SECRETS, "DEBUG": "false", "RATE_LIMITS": "/api/login=ten/60"}, timeout=120)
    assert result.returncode != 0
    assert "RATE_LIMITS entry '/api/login=ten/60' is not PREFIX=LIMIT/SECONDS" in result.stderr


@pytest.mark.urls("project.tests.test_ratelimit")
@limits(default=(10, 60))
def test_a_view_reporting_its_own_tighter_limit_keeps_its_headers(frozen):
    response = Client().get("/locked-out/")
    assert response.status_code == 429
    assert response["Retry-After"] == "300"
    assert response["RateLimit-Remaining"] == "0"
    # What the view did not say, the middleware adds.
    assert response["RateLimit-Limit"] == "10"
