"""Link statistics (shortener/stats.py): buffered in memory, flushed in
batches, exact per day and per client family; never an address, a whole
User-Agent or a whole referrer."""

import random
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from shortener import stats
from shortener.models import LinkStatsBatch, LinkVisitDay, ShortLink

pytestmark = pytest.mark.django_db

AGENTS = {
    "Firefox": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Chrome": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36"
    ),
    "Googlebot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl": "curl/8.5.0",
}
REFERRERS = ["https://news.example.org/post/1?utm=x", "http://Blog.Example.COM/a", None, "not a url"]


@pytest.fixture
def link(bob):
    return ShortLink.objects.create(key="statskey", target_url="https://example.com/", owner=bob)


@pytest.fixture(autouse=True)
def _empty_buffer():
    stats._buffer.clear()
    yield
    stats._buffer.clear()


def test_referrers_keep_only_their_host():
    assert stats.referrer_host("https://news.example.org/post/1?utm=x") == "news.example.org"
    assert stats.referrer_host("http://Blog.Example.COM/a") == "blog.example.com"
    assert stats.referrer_host("https://x/<script>alert(1)</script>") == "x"
    assert stats.referrer_host("not a url") == ""
    assert stats.referrer_host("javascript:alert(1)") == ""
    assert stats.referrer_host(None) == ""


def test_a_thousand_visits_are_exact_per_day_and_per_family(link):
    rng = random.Random(7)
    expected_days, expected_browsers, expected_referrers = Counter(), Counter(), Counter()
    start = timezone.now().replace(hour=12) - timedelta(days=3)
    with time_machine.travel(start, tick=False) as clock:
        for day in range(4):
            for _ in range(250):
                family = rng.choice(list(AGENTS))
                referer = rng.choice(REFERRERS)
                stats.visit_record(link_id=link.pk, user_agent=AGENTS[family], referer=referer, client="203.0.113.1")
                expected_days[(start + timedelta(days=day)).date().isoformat()] += 1
                expected_browsers[family] += 1
                expected_referrers[stats.referrer_host(referer)] += 1
            clock.shift(timedelta(days=1))
        assert LinkVisitDay.objects.count() == 0  # nothing written yet: the redirect path does no write
        assert stats.stats_flush() == 1000
    result = stats.link_stats(link=link)
    assert result["visits"] == 1000
    assert {row["day"]: row["visits"] for row in result["per_day"]} == dict(expected_days)
    assert {row["name"]: row["visits"] for row in result["browsers"]} == dict(expected_browsers)
    assert {row["name"]: row["visits"] for row in result["referrers"]} == dict(expected_referrers)
    assert result["bots"] == expected_browsers["Googlebot"] + expected_browsers["curl"]
    # A window of days.
    second = (start + timedelta(days=1)).date()
    window = stats.link_stats(link=link, since=second, until=second)
    assert window["visits"] == expected_days[second.isoformat()]


def test_flushes_add_up_and_nothing_stored_names_the_client(link):
    for _ in range(3):
        stats.visit_record(link_id=link.pk, user_agent=AGENTS["Firefox"], referer=None, client="198.51.100.23")
    stats.stats_flush()
    stats.visit_record(link_id=link.pk, user_agent=AGENTS["Firefox"], referer=None, client="198.51.100.23")
    stats.stats_flush()
    row = LinkVisitDay.objects.get()
    assert row.visits == 4
    stored = str(list(LinkVisitDay.objects.values()))
    assert "198.51.100.23" not in stored and "Gecko" not in stored


def test_a_failed_flush_keeps_the_visits_for_the_next(link, monkeypatch):
    stats.visit_record(link_id=link.pk, user_agent="curl/8", referer=None, client="x")

    def broken(*args, **kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(stats, "_upsert", broken)
    with pytest.raises(RuntimeError):
        stats.stats_flush()
    monkeypatch.undo()
    assert stats.stats_flush() == 1
    assert LinkVisitDay.objects.get().visits == 1


def test_visits_of_a_deleted_link_are_dropped_quietly(link):
    stats.visit_record(link_id=link.pk, user_agent="curl/8", referer=None, client="x")
    link.delete()
    assert stats.stats_flush() == 1
    assert not LinkVisitDay.objects.exists()


def test_recording_can_be_turned_off(link, settings):
    settings.SHORT_LINK_STATS = False
    stats.visit_record(link_id=link.pk, user_agent="curl/8", referer=None, client="x")
    assert stats.stats_flush() == 0


def test_csv_rows_escape_nothing_away_and_name_no_client(link):
    stats.visit_record(link_id=link.pk, user_agent="=cmd|' /C calc'!A0", referer="https://evil.example/x", client="x")
    stats.stats_flush()
    rows = list(stats.link_stats_rows(link=link))
    assert rows[0] == ["day", "referrer", "browser", "os", "bot", "country", "visits"]
    assert rows[1][1] == "evil.example" and rows[1][-1] == 1


@pytest.fixture
def _no_batch_in_doubt():
    stats._pending.clear()
    yield
    stats._pending.clear()


@pytest.mark.usefixtures("_no_batch_in_doubt")
def test_a_flush_whose_commit_went_unanswered_is_retried_and_counted_once(link, monkeypatch):
    """The write committed but the flush never learnt it (the commit's answer
    lost, the process stopped right then): the retry counts nothing twice."""
    for _ in range(5):
        stats.visit_record(link_id=link.pk, user_agent="curl/8", referer=None, client="x")

    def answer_lost():
        raise ConnectionError("the commit's answer never came")

    monkeypatch.setattr(stats, "_settled", answer_lost)
    with pytest.raises(ConnectionError):
        stats.stats_flush()
    monkeypatch.undo()
    assert LinkVisitDay.objects.get().visits == 5  # it was written
    stats.visit_record(link_id=link.pk, user_agent="curl/8", referer=None, client="x")
    assert stats.stats_flush() == 1  # the batch in doubt is found written and dropped
    assert LinkVisitDay.objects.get().visits == 6
    assert stats.stats_flush() == 0
    assert LinkVisitDay.objects.get().visits == 6


@pytest.mark.usefixtures("_no_batch_in_doubt")
def test_a_flush_that_failed_before_its_commit_is_written_on_retry_once(link, monkeypatch):
    stats.visit_record(link_id=link.pk, user_agent="curl/8", referer=None, client="x")
    real_upsert = stats._upsert

    def broken(*args, **kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(stats, "_upsert", broken)
    with pytest.raises(RuntimeError):
        stats.stats_flush()
    stats.visit_record(link_id=link.pk, user_agent="curl/8", referer=None, client="x")
    with pytest.raises(RuntimeError):
        stats.stats_flush()  # the first batch is looked up, not written, and joins the second
    monkeypatch.setattr(stats, "_upsert", real_upsert)
    assert stats.stats_flush() == 2
    assert LinkVisitDay.objects.get().visits == 2
    assert stats.stats_flush() == 0


@pytest.mark.usefixtures("_no_batch_in_doubt")
def test_written_batch_ids_are_kept_a_day(link):
    stats.visit_record(link_id=link.pk, user_agent="curl/8", referer=None, client="x")
    stats.stats_flush()
    assert LinkStatsBatch.objects.count() == 1
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        stats.visit_record(link_id=link.pk, user_agent="curl/8", referer=None, client="x")
        stats.stats_flush()
    assert LinkStatsBatch.objects.count() == 1  # the old one went
