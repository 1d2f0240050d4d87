"""A link's statistics page, JSON, CSV and QR files (SPEC §5): owner and
managers only; hostile referrers and user agents come out inert."""

import csv
import io

import pytest
from django.test import Client

from shortener import stats
from shortener.models import ShortLink

pytestmark = pytest.mark.django_db

HOSTILE_UA = '"><script>alert(1)</script><img src=x onerror=alert(2)>=cmd|calc'


@pytest.fixture
def link(dana):
    made = ShortLink.objects.create(key="dana-link", target_url="https://example.com/x", owner=dana)
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    for _ in range(4):
        Client(HTTP_USER_AGENT=firefox, HTTP_REFERER="https://news.example.org/p").get("/s/dana-link")
    Client(HTTP_USER_AGENT=HOSTILE_UA, HTTP_REFERER="https://x/<script>alert(3)</script>").get("/s/dana-link")
    Client(HTTP_USER_AGENT='=HYPERLINK("http://evil")', HTTP_REFERER="https://=evil.example/").get("/s/dana-link")
    stats.stats_flush()
    return made


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_owner_and_a_manager_read_the_statistics(link, dana, alice):
    for user in (dana, alice):
        data = signed_in(user).get("/api/short/dana-link/stats").json()
        assert data["visits"] == 6
        assert {row["name"]: row["visits"] for row in data["referrers"]}["news.example.org"] == 4
        assert {row["name"]: row["visits"] for row in data["browsers"]}["Firefox"] == 4


@pytest.mark.parametrize("who", ["bob", "charlie"])
def test_members_and_strangers_get_the_404_of_an_unknown_key(link, request, who):
    client = signed_in(request.getfixturevalue(who))
    for path in (
        "/api/short/dana-link/stats",
        "/api/short/dana-link/stats.csv",
        "/short/dana-link/stats",
    ):
        assert client.get(path).status_code == 404, path
    assert Client().get("/api/short/dana-link/stats").status_code == 401


def test_the_page_escapes_what_strangers_sent(link, dana):
    page = signed_in(dana).get("/short/dana-link/stats")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<script>alert" not in html and "onerror=alert" not in html
    assert "news.example.org" in html and "<svg" in html and 'class="bar"' in html


def test_the_csv_keeps_formulas_inert(link, dana):
    response = signed_in(dana).get("/api/short/dana-link/stats.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["day", "referrer", "browser", "os", "bot", "country", "visits"]
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), row
    assert sum(int(row[-1]) for row in rows[1:]) == 6


def test_a_date_window_and_bad_dates(link, dana):
    client = signed_in(dana)
    assert client.get("/api/short/dana-link/stats", {"from": "2000-01-01", "to": "2000-01-02"}).json()["visits"] == 0
    for bad in ({"from": "yesterday"}, {"from": "2026-02-30"}, {"from": "2026-05-02", "to": "2026-05-01"}):
        answer = client.get("/api/short/dana-link/stats", bad, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert answer.status_code == 400, bad
        assert answer.json()["error"]["code"] == "invalid"


def test_qr_files_in_svg_and_png(link, dana):
    client = signed_in(dana)
    svg = client.get("/api/short/dana-link/qr.svg")
    assert svg["Content-Type"] == "image/svg+xml" and svg.content.startswith(b"<?xml")
    png = client.get("/api/short/dana-link/qr.png")
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert "attachment" in png["Content-Disposition"]


@pytest.mark.parametrize("who", ["dana", "alice", "bob", "charlie", "anonymous"])
def test_a_links_qr_code_is_anyones_and_holds_only_the_short_url(link, request, who):
    """The QR encodes the public short URL, nothing else: anyone may fetch it (an
    anonymous creator gets the QR of the link just made), in any state of the link."""
    client = Client() if who == "anonymous" else signed_in(request.getfixturevalue(who))
    ShortLink.objects.filter(key="dana-link").update(paused=True, password="x")  # nothing of this shows
    svg = client.get("/api/short/dana-link/qr.svg")
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    assert b"<title>http://testserver/s/dana-link</title>" in svg.content
    assert svg["Cache-Control"] == "public, max-age=86400"
    assert client.get("/api/short/dana-link/qr.png").status_code == 200


@pytest.mark.parametrize("who", ["dana", "anonymous"])
def test_the_qr_code_of_an_unknown_or_malformed_key_is_a_404(link, request, who):
    client = Client() if who == "anonymous" else signed_in(request.getfixturevalue(who))
    for path in ("/api/short/no-such-link/qr.svg", "/api/short/bad%00key/qr.png", f"/api/short/{'x' * 65}/qr.svg"):
        answer = client.get(path)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "link_not_found", path


def test_the_chart_has_labelled_axes_and_no_scale_without_visits(link, dana):
    from django.utils import timezone

    html = signed_in(dana).get("/short/dana-link/stats", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'class="axis-label y-zero"' in html and ">6</text>" in html  # 0 and the highest day
    assert f">{timezone.now().date().isoformat()}</text>" in html  # the last day on the x axis
    assert "at most 6 visits in a day" in html and "the highest bar" not in html
    quiet = ShortLink.objects.create(key="dana-quiet", target_url="https://example.com/q", owner=dana)
    for language, words in (("en", "No visits yet"), ("zh-hans", "还没有访问")):
        page = signed_in(dana).get(f"/short/{quiet.key}/stats", HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert words in page and 'class="chart"' not in page and 'class="bar"' not in page
    window = signed_in(dana).get("/short/dana-link/stats", {"from": "2000-01-01", "to": "2000-01-02"})
    assert "No visits from 1999-12-04 to 2000-01-02." in window.content.decode()


@pytest.mark.parametrize("who", ["bob", "charlie"])
def test_a_quiet_links_page_is_still_hidden_from_others(dana, request, who):
    ShortLink.objects.create(key="dana-quiet", target_url="https://example.com/q", owner=dana)
    assert signed_in(request.getfixturevalue(who)).get("/short/dana-quiet/stats").status_code == 404
