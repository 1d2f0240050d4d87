"""Plain short-link creation answered in front of Django (project/fast_path.py).

An anonymous `POST /api/short` of `{"url": "…"}` is made by the service
the DRF view calls and must be answered as DRF answers it: same status,
every header (bar timings and what is left of the rate limit), the same
JSON bar the new key and its time, the same audit row, counted once by
the rate limiter. Everything else — more fields, bad JSON, a refused
target, a token, a session, an `Origin`, a body that vanishes — reaches
Django with the body untouched, and a refusal writes nothing.
"""

import asyncio
import json
import logging

import httpx
import pytest
from django.core.asgi import get_asgi_application
from django.test import Client, override_settings

from audit.models import Action, AuditEvent
from project.fast_path import FastPath
from project.tests.fast_path_site import Site, header_map
from shortener.models import ShortLink

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/api/short"
HTTPS_SETTINGS = {"SECURE_HSTS_SECONDS": 3600, "SECURE_HSTS_INCLUDE_SUBDOMAINS": True}


def same_but_the_new_link(answer: dict) -> dict:
    """The answer with what differs between any two new links (the key, the time) named, not valued."""
    key = answer["key"]
    shown = {name: (value.replace(key, "KEY") if isinstance(value, str) else value) for name, value in answer.items()}
    return {**shown, "key": "KEY", "created_at": "…"}


def create(site: Site, url: str, *, fast: bool, **kwargs) -> httpx.Response:
    answer = site.answered_fast if fast else site.answered_by_django
    return answer(PATH, method="POST", json={"url": url}, **kwargs)


@pytest.mark.parametrize(
    "headers,cookies,base_url,extra_settings",
    [
        pytest.param({}, None, "http://127.0.0.1", {}, id="plain"),
        pytest.param({"Accept-Language": "zh-CN,zh;q=0.9"}, None, "http://127.0.0.1", {}, id="zh"),
        pytest.param({}, {"django_language": "zh-hans", "csrftoken": "a" * 32}, "http://127.0.0.1", {}, id="cookies"),
        pytest.param({}, None, "https://127.0.0.1", HTTPS_SETTINGS, id="https-hsts"),
        pytest.param({}, None, "http://127.0.0.1", {"RATE_LIMIT_ENABLED": True}, id="rate-limited"),
    ],
)
def test_a_plain_creation_carries_every_header_and_field_django_would_send(headers, cookies, base_url, extra_settings):
    """A new link (201) and the same URL again (200: the plain link there is, SPEC §5), each both ways."""
    request = {"headers": headers, "cookies": cookies, "base_url": base_url}
    with override_settings(**extra_settings):
        site = Site()
        fast = create(site, "https://example.com/fast", fast=True, **request)
        again_fast = create(site, "https://example.com/fast", fast=True, **request)
        with override_settings(SHORT_LINK_CREATE_FAST_PATH=False):
            slow = create(site, "https://example.com/slow", fast=False, **request)
            again_slow = create(site, "https://example.com/fast", fast=False, **request)
    assert (fast.status_code, slow.status_code) == (201, 201)
    assert header_map(fast) == header_map(slow)
    assert same_but_the_new_link(fast.json()) == {
        **same_but_the_new_link(slow.json()),
        "url": "https://example.com/fast",
    }
    assert (again_fast.status_code, again_slow.status_code) == (200, 200)
    assert header_map(again_fast) == header_map(again_slow)
    assert again_fast.json() == again_slow.json() == fast.json()
    link = ShortLink.objects.get(key=fast.json()["key"])
    assert (link.target_url, link.owner, link.is_plain) == ("https://example.com/fast", None, True)
    assert fast.json()["short_url"] == f"{base_url}/s/{link.key}"
    if extra_settings.get("RATE_LIMIT_ENABLED"):
        remaining = [r.headers["ratelimit-remaining"] for r in (fast, again_fast, slow, again_slow)]
        assert remaining == ["59", "58", "57", "56"]


def test_the_audit_row_is_the_one_django_writes():
    site = Site()
    headers = {"X-Forwarded-For": "198.51.100.9"}
    with override_settings(TRUSTED_PROXIES=["203.0.113.0/24"]):
        fast = create(site, "https://example.com/a", fast=True, headers=headers)
        with override_settings(SHORT_LINK_CREATE_FAST_PATH=False):
            slow = create(site, "https://example.com/b", fast=False, headers=headers)
    rows = {row.object_id: row for row in AuditEvent.objects.filter(action=Action.LINK_CREATE)}
    made_fast, made_slow = rows[fast.json()["key"]], rows[slow.json()["key"]]
    fields = ("actor", "actor_name", "object_type", "client", "via", "detail")
    assert [getattr(made_fast, name) for name in fields] == [getattr(made_slow, name) for name in fields]
    assert made_fast.client == "198.51.100.9"  # the client behind the trusted proxy, as Django sees it


@pytest.mark.parametrize(
    "body,content_type",
    [
        pytest.param({"url": "https://example.com/{n}", "slug": "my-slug-{n}"}, None, id="slug"),
        pytest.param({"url": "https://example.com/{n}", "password": "pw"}, None, id="password"),
        pytest.param({"url": "https://example.com/{n}", "max_visits": 3}, None, id="max-visits"),
        pytest.param({"url": "https://example.com/{n}", "expires_at": None}, None, id="expires-null"),
        pytest.param("url=https://example.com/{n}", "application/x-www-form-urlencoded", id="form"),
        pytest.param('{{"url": "https://example.com/{n}"', "application/json", id="broken-json"),
        pytest.param('{{"url": "https://example.com/{n}\\ud800"}}', "application/json", id="lone-surrogate"),
        pytest.param({"url": "https://example.com/{n}\x00"}, None, id="nul"),
        pytest.param({"url": 7}, None, id="not-a-string"),
        pytest.param(b'{"url": "https://example.com/{n}"}', "utf-16", id="utf-16"),
        pytest.param({"url": ""}, None, id="empty"),
        pytest.param(["https://example.com/{n}"], None, id="a-list"),
        pytest.param({"url": "https://example.com/{n}" + "x" * 17000}, None, id="too-large-to-read-here"),
    ],
)
def test_anything_but_a_plain_url_reaches_django_with_its_body(body, content_type):
    """Django parses the same bytes (bar the URL's number, so both make a new link) and answers as it always does."""
    site = Site()
    answers = []
    for n, fast_path in ((1, True), (2, False)):
        if content_type == "utf-16":  # JSON as json.loads would read it and DRF's parser does not
            content, headers = (
                body.decode().replace("{n}", str(n)).encode("utf-16"),
                {"Content-Type": "application/json"},
            )
        else:
            content = json.dumps(body).replace("{n}", str(n)) if content_type is None else body.format(n=n)
            content, headers = content.encode(), {"Content-Type": content_type or "application/json"}
        with override_settings(SHORT_LINK_CREATE_FAST_PATH=fast_path):
            answers.append(site.answered_by_django(PATH, method="POST", content=content, headers=headers))
    answer, reference = answers
    assert answer.status_code == reference.status_code
    assert answer.status_code in (201, 400)
    if answer.status_code == 400:
        assert answer.json() == reference.json()  # the same errors, from the same parser and serializer


@pytest.mark.parametrize(
    "url,refusal",
    [
        pytest.param("javascript:alert(1)", "http", id="scheme"),
        pytest.param("http://127.0.0.1/admin/", "private", id="private"),
        pytest.param("http://127.0.0.1/s/abc", "private", id="own-redirect"),
    ],
)
def test_a_target_the_service_refuses_is_djangos_400_in_the_callers_language_and_writes_nothing(url, refusal):
    site = Site()
    before = ShortLink.objects.count(), AuditEvent.objects.count()
    refused = create(site, url, fast=False, headers={"Accept-Language": "zh-CN"})
    assert refused.status_code == 400
    assert refused.headers["content-language"] == "zh-hans"
    assert any("\u4e00" <= char <= "\u9fff" for char in json.dumps(refused.json(), ensure_ascii=False))
    assert (ShortLink.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.parametrize(
    "headers,cookies",
    [
        pytest.param({"Authorization": "Bearer pan_not-a-real-key"}, None, id="api-key"),
        pytest.param({"Origin": "https://elsewhere.example"}, None, id="origin"),
        pytest.param({"Host": "evil.example"}, None, id="foreign-host"),
        pytest.param({}, {"sessionid": "anything"}, id="session-cookie"),
    ],
)
def test_a_caller_the_api_might_know_or_must_check_goes_to_django(headers, cookies):
    site = Site()
    answer = create(site, "https://example.com/x", fast=False, headers=headers, cookies=cookies)
    assert answer.status_code in (201, 400, 401)


@pytest.mark.parametrize("persona", ["dana", "alice", "bob", "charlie"])
@pytest.mark.parametrize("by", ["token", "session"])
def test_signed_in_people_reach_django_and_own_their_link(persona, by, request, token_for):
    """The owner who is not an admin, a manager, a member and a stranger:
    each with a token or a session reaches the DRF view and owns the link
    made; an anonymous client's link (the fast path's) has no owner."""
    user = request.getfixturevalue(persona)
    site = Site()
    if by == "token":
        auth = {"headers": {"Authorization": f"Bearer {token_for(user)}"}}
    else:
        client = Client()
        client.force_login(user)
        session = client.cookies["sessionid"].value
        # A session's POST needs the CSRF pair, as a page's script sends it.
        auth = {"cookies": {"sessionid": session, "csrftoken": "a" * 32}, "headers": {"X-CSRFToken": "a" * 32}}
    mine = create(site, f"https://example.com/{persona}", fast=False, **auth)
    assert mine.status_code == 201, mine.text
    assert mine.json()["owner"] == persona
    assert ShortLink.objects.get(key=mine.json()["key"]).owner == user
    anonymous = create(site, f"https://example.com/{persona}", fast=True)
    assert anonymous.json()["owner"] is None
    assert anonymous.json()["key"] != mine.json()["key"]


def test_the_rate_limit_counts_each_fast_creation_once_and_django_refuses_over_it():
    with override_settings(RATE_LIMIT_ENABLED=True, RATE_LIMITS={"/api/short": (3, 60), "default": (600, 60)}):
        site = Site()
        first = create(site, "https://example.com/1", fast=False, headers={"Content-Type": "text/plain"})
        made = [create(site, f"https://example.com/{n}", fast=True) for n in (2, 3)]
        over = create(site, "https://example.com/4", fast=False, headers={"Accept-Language": "zh-CN"})
    assert first.status_code == 415  # counted by Django too: a wrong media type is still a request
    assert [r.headers["ratelimit-remaining"] for r in (first, *made)] == ["2", "1", "0"]
    assert over.status_code == 429
    assert over.headers["ratelimit-remaining"] == "0"  # counted once: the decision came with it
    assert over.headers["content-language"] == "zh-hans"
    assert not ShortLink.objects.filter(target_url="https://example.com/4").exists()


def test_a_refused_fast_creation_is_counted_once_too():
    """Counted before the service refused it: Django reads that decision, not a second count."""
    with override_settings(RATE_LIMIT_ENABLED=True, RATE_LIMITS={"/api/short": (3, 60), "default": (600, 60)}):
        site = Site()
        refused = create(site, "javascript:alert(1)", fast=False)
        made = create(site, "https://example.com/ok", fast=True)
    assert refused.status_code == 400
    assert [refused.headers["ratelimit-remaining"], made.headers["ratelimit-remaining"]] == ["2", "1"]


def test_switched_off_every_creation_goes_to_django():
    site = Site()
    with override_settings(SHORT_LINK_CREATE_FAST_PATH=False):
        assert create(site, "https://example.com/x", fast=False).status_code == 201


def test_twenty_creations_at_once_make_twenty_links_and_twenty_audit_rows():
    site = Site()

    async def burst():
        transport = httpx.ASGITransport(app=site.app, client=("203.0.113.7", 50123))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            urls = [f"https://example.com/burst/{n}" for n in range(20)]
            return await asyncio.gather(*(client.post(PATH, json={"url": url}) for url in urls))

    answers = asyncio.run(burst())
    assert [answer.status_code for answer in answers] == [201] * 20
    assert site.behind == []
    keys = {answer.json()["key"] for answer in answers}
    assert ShortLink.objects.filter(key__in=keys).count() == 20
    assert AuditEvent.objects.filter(action=Action.LINK_CREATE, object_id__in=keys).count() == 20


@pytest.mark.parametrize("sent", [0, 10, 30])
def test_a_client_that_vanishes_mid_body_or_on_the_last_byte_makes_nothing(sent):
    """The body announced as 31 bytes; the client leaves after `sent` of them."""
    body = json.dumps({"url": "https://example.com/"}).encode()
    assert len(body) == 31
    behind: list[str] = []

    async def django(scope, receive, send):
        behind.append(scope["path"])
        return await get_asgi_application()(scope, receive, send)

    async def vanish():
        messages = [{"type": "http.request", "body": body[:sent], "more_body": True}] if sent else []
        messages.append({"type": "http.disconnect"})
        sent_back = []

        async def receive():
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message):
            sent_back.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": PATH,
            "raw_path": PATH.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [
                (b"host", b"127.0.0.1"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
            "client": ("203.0.113.7", 50123),
            "server": ("127.0.0.1", 80),
        }
        await FastPath(django)(scope, receive, send)
        return sent_back

    before = ShortLink.objects.count(), AuditEvent.objects.count()
    asyncio.run(vanish())
    assert behind == [PATH]  # Django saw the same partial body and the disconnect
    assert (ShortLink.objects.count(), AuditEvent.objects.count()) == before


def test_the_fast_creation_writes_one_access_log_line_without_the_body(caplog):
    site = Site()
    logger = logging.getLogger("pan.access")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="pan.access"):
            create(site, "https://example.com/private-target", fast=True)
    finally:
        logger.removeHandler(caplog.handler)
    (line,) = [record for record in caplog.records if record.name == "pan.access"]
    assert (line.client_address, line.method, line.path, line.status) == ("203.0.113.7", "POST", PATH, 201)
    assert "private-target" not in line.getMessage()
