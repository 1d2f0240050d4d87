"""The kept share page answered in front of Django (project/fast_path.py).

It must answer exactly like Django answers the same kept page — same
status, every header the same (bar the timing values and the CSRF
cookie's value and expiry, which differ between any two answers), the
same page with the visitor's own working CSRF token — count against the
same rate limit once, and leave everyone and everything else to Django:
a visitor with a session (owner, manager, member, stranger), a code in
the link, a page nobody kept yet, a revoked or expired share.
"""

import io
import logging
import re
from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
import time_machine
from django.test import Client, override_settings
from django.utils import timezone

from pan import services
from project.tests.fast_path_site import Site, header_map

# The ASGI app reads the database from its own thread: the rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "salary-2026.xlsx"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
HTTPS_SETTINGS = {
    "SECURE_HSTS_SECONDS": 3600,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
    "SECURE_CROSS_ORIGIN_OPENER_POLICY": "same-origin",
}


@pytest.fixture
def share(dana):
    incoming = [services.IncomingFile(io.BytesIO(b"twelve bytes"), SECRET)]
    return services.share_create(owner=dana, files=incoming, title="Quarterly")


def page_of(share) -> str:
    return f"/f/{share.unique_name}/"


def without_tokens(html: str) -> str:
    return TOKEN.sub('name="csrfmiddlewaretoken" value="…"', html)


@pytest.mark.parametrize(
    "headers,cookies,base_url,extra_settings",
    [
        pytest.param({}, None, "http://127.0.0.1", {}, id="first-visit"),
        pytest.param({}, {"csrftoken": "a" * 32}, "http://127.0.0.1", {}, id="own-csrf-cookie"),
        pytest.param({"Accept-Language": "zh-CN,zh;q=0.9"}, None, "http://127.0.0.1", {}, id="zh"),
        pytest.param({}, {"django_language": "zh-hans"}, "http://127.0.0.1", {}, id="language-cookie"),
        pytest.param({}, None, "https://127.0.0.1", HTTPS_SETTINGS, id="https-hsts"),
        pytest.param({}, None, "http://127.0.0.1", {"RATE_LIMIT_ENABLED": True}, id="rate-limited"),
    ],
)
def test_a_kept_page_carries_every_header_and_byte_django_would_send(share, headers, cookies, base_url, extra_settings):
    path = page_of(share)
    with override_settings(**extra_settings):
        site = Site()  # Django's middleware reads its settings when the app is built
        site.answered_by_django(path, headers=headers, cookies=cookies, base_url=base_url)  # renders and keeps it
        fast = site.answered_fast(path, headers=headers, cookies=cookies, base_url=base_url)
        with override_settings(SHARE_PAGE_FAST_PATH=False):
            slow = site.answered_by_django(path, headers=headers, cookies=cookies, base_url=base_url)
    assert fast.status_code == slow.status_code == 200
    assert header_map(fast) == header_map(slow)
    assert without_tokens(fast.text) == without_tokens(slow.text)
    assert "Quarterly" in fast.text and SECRET not in fast.text  # the locked page (SPEC §4.3)
    chinese = bool(headers) or cookies == {"django_language": "zh-hans"}
    assert fast.headers["content-language"] == ("zh-hans" if chinese else "en")
    if cookies and "csrftoken" in cookies:
        # The visitor's own secret, sent again (its expiry renewed), as Django does.
        assert SimpleCookie(fast.headers["set-cookie"])["csrftoken"].value == "a" * 32
    if extra_settings.get("RATE_LIMIT_ENABLED"):
        assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-policy"} <= set(fast.headers)
    if base_url.startswith("https"):
        assert fast.headers["strict-transport-security"] == "max-age=3600; includeSubDomains; preload"


def test_a_head_gets_the_headers_and_no_body(share):
    site = Site()
    site.answered_by_django(page_of(share))
    head = site.answered_fast(page_of(share), method="HEAD")
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) > 1000


def test_the_token_of_a_fast_page_unlocks_the_share(share):
    """The form on a page from the fast path works: its token matches the cookie it set."""
    site = Site()
    path = page_of(share)
    site.answered_by_django(path)
    first = site.answered_fast(path)
    token = TOKEN.search(first.text).group(1)
    cookie = SimpleCookie(first.headers["set-cookie"])["csrftoken"].value
    form = {"code": share.code, "csrfmiddlewaretoken": token}
    unlocked = site.request("POST", path, data=form, cookies={"csrftoken": cookie})
    assert unlocked.status_code == 302, unlocked.text[:300]
    refused = site.request("POST", path, data={**form, "csrfmiddlewaretoken": "b" * 64}, cookies={"csrftoken": cookie})
    assert refused.status_code == 403


def test_each_visitor_gets_a_token_of_their_own(share):
    site = Site()
    site.answered_by_django(page_of(share))
    tokens = {TOKEN.search(site.answered_fast(page_of(share)).text).group(1) for _ in range(3)}
    assert len(tokens) == 3


@pytest.mark.parametrize(
    "cookies,query,extra_headers",
    [
        pytest.param({"sessionid": "anything"}, "", {}, id="session"),
        pytest.param({"messages": "anything"}, "", {}, id="messages"),
        pytest.param({"csrftoken": "not-a-token"}, "", {}, id="malformed-csrf-cookie"),
        pytest.param(None, "?code=ABCD1234", {}, id="code-in-link"),
        pytest.param(None, "?x=1&code", {}, id="empty-code-in-link"),
        pytest.param(None, "", {"Origin": "https://elsewhere.example"}, id="origin"),
        pytest.param(None, "", {"Authorization": "Bearer pan_not-a-real-key"}, id="token"),
        pytest.param(None, "", {"Host": "evil.example"}, id="foreign-host"),
    ],
)
def test_whatever_the_kept_page_may_not_answer_goes_to_django(share, cookies, query, extra_headers):
    site = Site()
    site.answered_by_django(page_of(share))
    before = len(site.behind)
    response = site.get(page_of(share) + query, cookies=cookies, headers=extra_headers)
    assert len(site.behind) == before + 1, "the fast path answered"
    assert response.status_code in (200, 400)


def test_nothing_is_answered_before_a_render_kept_it(share):
    site = Site()
    assert site.answered_by_django(page_of(share)).status_code == 200
    assert site.answered_fast(page_of(share)).status_code == 200


@pytest.mark.parametrize("persona", ["dana", "alice", "bob", "charlie"])
def test_people_with_a_session_never_get_the_kept_page(share, persona, request):
    """The owner (not an admin), a manager, a member and a stranger each
    reach Django with their session, whatever the cache keeps for
    visitors without one; the owner sees the files, the others the
    locked page Django renders for them."""
    user = request.getfixturevalue(persona)
    site = Site()
    site.answered_by_django(page_of(share))  # kept for visitors without a session
    client = Client()
    client.force_login(user)
    session = {"sessionid": client.cookies["sessionid"].value}
    page = site.answered_by_django(page_of(share), cookies=session)
    assert page.status_code == 200
    assert (SECRET in page.text) == (persona in ("dana", "alice"))  # the owner and a manager see the files


def test_a_visitor_who_unlocked_the_share_is_not_given_the_locked_page(share):
    site = Site()
    site.answered_by_django(page_of(share))
    client = Client()
    assert client.post(page_of(share), {"code": share.code}).status_code == 302
    page = site.answered_by_django(page_of(share), cookies={"sessionid": client.cookies["sessionid"].value})
    assert SECRET in page.text


def test_a_revoked_share_is_410_from_django_not_the_kept_page(share):
    site = Site()
    site.answered_by_django(page_of(share))
    site.answered_fast(page_of(share))
    services.share_revoke(share=share)
    assert site.answered_by_django(page_of(share)).status_code == 410


def test_an_expired_share_is_410_from_django_not_the_kept_page(dana):
    incoming = [services.IncomingFile(io.BytesIO(b"twelve bytes"), SECRET)]
    share = services.share_create(owner=dana, files=incoming, title="Soon gone", expires_in=300)
    site = Site()
    site.answered_by_django(page_of(share))
    site.answered_fast(page_of(share))
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert site.answered_by_django(page_of(share)).status_code == 410


def test_the_rate_limit_counts_each_fast_visit_once_and_django_refuses_over_it(share):
    # (The rule book is built again when RATE_LIMITS changes: project/ratelimit.py.)
    with override_settings(RATE_LIMIT_ENABLED=True, RATE_LIMITS={"/f/": (3, 60), "default": (600, 60)}):
        site = Site()
        first = site.answered_by_django(page_of(share))  # counted by Django: 1
        fast = [site.answered_fast(page_of(share)) for _ in range(2)]  # 2, 3
        over = site.answered_by_django(page_of(share), headers={"Accept-Language": "zh-CN"})
    assert [r.headers["ratelimit-remaining"] for r in (first, *fast)] == ["2", "1", "0"]
    assert over.status_code == 429
    assert over.headers["retry-after"]
    assert "请求过多" in over.text or "太多" in over.text
    # Counted once: the refused visit's decision came with it, not a second count.
    assert over.headers["ratelimit-remaining"] == "0"


def test_the_fast_path_writes_one_access_log_line(share, caplog):
    site = Site()  # (django.setup() configures logging again: caplog's handler is attached after it)
    site.answered_by_django(page_of(share))
    logger = logging.getLogger("pan.access")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="pan.access"):
            site.answered_fast(page_of(share) + "?utm=secret")
    finally:
        logger.removeHandler(caplog.handler)
    (line,) = [record for record in caplog.records if record.name == "pan.access"]
    assert (line.client_address, line.method, line.path, line.status) == ("203.0.113.7", "GET", page_of(share), 200)
    assert "secret" not in line.getMessage()
