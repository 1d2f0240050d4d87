"""Service errors become pages in one place (project/lib/error_pages.py):
every page view's error is templates/error.html in the site layout, with the
error's status, its `Retry-After`, its sentence in the reader's language, a
way back home and the status small at the end."""

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from dropoff.services import request_close, request_create
from pan import services as pan_services
from shortener.models import ShortLink
from shortener.services import short_link_create, short_link_update

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
JSON = {"HTTP_ACCEPT": "application/json"}


def revoked_share(owner) -> str:
    share = pan_services.share_create(owner=owner, files=[pan_services.IncomingFile(io.BytesIO(b"hello"), "hello.txt")])
    pan_services.share_revoke(share=share)
    return f"/f/{share.unique_name}/"


def closed_request(owner) -> str:
    drop_request = request_create(owner=owner, title="Scans")
    request_close(request=drop_request)
    return f"/r/{drop_request.code}/"


def paused_link(owner) -> str:
    link, _created = short_link_create(url="https://example.com/", owner=owner)
    short_link_update(link=link, paused=True)
    return f"/s/{link.key}"


def expired_link(owner) -> str:
    link, _created = short_link_create(url="https://example.org/", owner=owner)
    ShortLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    return f"/s/{link.key}"


# (what makes the address, status, the page's sentence, the hint or None)
CASES = {
    "unknown path": (lambda owner: "/nothing-here/", 404, "There is nothing at this address.", None),
    "unknown share": (
        lambda owner: "/f/AAAAAAAAAAAAAAAAAAAAAA/",
        404,
        "There is nothing shared at this address. Check the link you were given.",
        None,
    ),
    "revoked share": (
        revoked_share,
        410,
        "The owner has stopped sharing this.",
        "Ask the person who sent you the link to share it again.",
    ),
    "unknown request": (
        lambda owner: "/r/ABCD2345/",
        404,
        "There is no drop-off request with this code. Check the code you were given.",
        None,
    ),
    "closed request": (closed_request, 410, "This drop-off request was closed by its owner.", None),
    "unknown short link": (lambda owner: "/s/no-such-link", 404, "There is no short link with this name.", None),
    "paused short link": (paused_link, 410, "This short link is paused by its owner.", None),
    "expired short link": (expired_link, 410, "This short link has expired.", None),
    "unknown video": (lambda owner: "/videos/999999/", 404, "There is no such video.", None),
    "unknown post": (lambda owner: "/post/999999/", 404, "There is nothing at this address.", None),
}


def section(html: str) -> str:
    found = re.search(r'<section class="error-page".*?</section>', html, re.S)
    assert found, "not the error page"
    return found.group(0)


def heading(html: str) -> str:
    return re.search(r"<h1[^>]*>(.*?)</h1>", section(html), re.S).group(1).strip()


@pytest.mark.parametrize("case", CASES)
def test_every_page_error_is_the_one_error_page(case, dana):
    make_address, status, sentence, hint = CASES[case]
    address = make_address(dana)
    page = Client().get(address, **EN)
    assert page.status_code == status
    assert [template.name for template in page.templates][:2] == ["error.html", "base.html"]
    html = page.content.decode()
    assert f'data-status="{status}"' in section(html)
    # A plain sentence first, then what to do, a way back, the status small at the end.
    assert heading(html) == sentence
    assert (hint in section(html)) if hint else ('class="error-hint"' not in html)
    assert '<a href="/">Back to the home page</a>' in section(html)
    assert f'<p class="status-code">Error {status}</p>' in section(html)
    # The reader's language, the site's layout (its header and language switch).
    chinese = Client().get(address, **ZH).content.decode()
    assert '<html lang="zh-hans">' in chinese and 'class="lang-switch"' in chinese
    assert heading(chinese) != sentence and re.search(r"[\u4e00-\u9fff]", heading(chinese))
    assert "返回首页" in section(chinese)


def test_a_json_client_of_a_page_gets_the_api_error(dana):
    answer = Client().get(revoked_share(dana), **JSON, **EN)
    assert answer.status_code == 410
    assert answer.json() == {"error": {"code": "file_revoked", "message": "The owner has stopped sharing this."}}


def test_a_429_page_takes_retry_after_from_the_error_and_counts_it_down(settings):
    settings.PAN_CODE_CLIENT_ALL_LIMIT = 3
    client = Client(REMOTE_ADDR="198.51.100.78")
    answers = [client.get("/r/ABCD2345/", **EN) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [404, 404, 404, 429]
    refused = answers[-1]
    seconds = int(refused["Retry-After"])
    assert seconds > 0
    html = refused.content.decode()
    assert [template.name for template in refused.templates][:2] == ["error.html", "base.html"]
    assert f'data-retry-after="{seconds}"' in section(html)
    assert "You can try again" in section(html)
    assert 'class="status-code">Error 429<' in html


APPS = ("accounts", "audit", "dropoff", "events", "pan", "project", "shortener", "uploads")


def _sources():
    for app in APPS:
        for source in sorted((Path(settings.BASE_DIR) / app).rglob("*.py")):
            if "tests" not in source.parts and "migrations" not in source.parts:
                yield source


# Where an error's status and Retry-After may be written out: the page helper,
# the API's exception handler (JSON) and the rate limiter's own headers.
ANSWERS_ERRORS = {"project/lib/error_pages.py", "project/lib/errors.py", "project/ratelimit.py"}


def test_no_view_turns_an_error_into_a_page_by_hand():
    """Retry-After and an error's status reach a page only through
    project/lib/error_pages.py (the error carries its headers)."""
    by_hand = re.compile(r"""\[["']Retry-After["']\]\s*=|status=exc\.status_code""")
    found = [
        f"{name}:{number}"
        for source in _sources()
        if (name := str(source.relative_to(settings.BASE_DIR))) not in ANSWERS_ERRORS
        for number, line in enumerate(source.read_text().splitlines(), 1)
        if by_hand.search(line)
    ]
    assert found == []
