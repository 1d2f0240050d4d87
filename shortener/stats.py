"""Short-link statistics, recorded without slowing the redirect (SPEC §5).

The redirect (`short_link_visit`) already counts each visit in the link's
row, atomically: that count is what `max_visits` is judged on, and it is
never buffered. What it records here is only for the statistics: the day,
the referrer's host, browser and OS families, a bot flag and a country
(`project.lib.clients`), added to a buffer in this process's memory — no
database write, no network round trip. A background thread flushes the
buffer every `SHORT_LINK_STATS_FLUSH_SECONDS` (default 2) in one
transaction of upserts into `LinkVisitDay`, and once more when the server
stops normally (SIGTERM of daphne or uvicorn: `project.lib.stopping`), so
a normal stop loses nothing. A process killed (SIGKILL) loses at most that
interval's statistics; the visit counts and limits are unaffected. A flush
is idempotent (`stats_flush`). `SHORT_LINK_STATS=false` turns recording off.
"""

import logging
import threading
import uuid
from collections import Counter
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connections, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from project.lib.clients import client_summary
from project.lib.stopping import on_stop

from .models import LinkStatsBatch, LinkVisitDay, ShortLink

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_buffer: Counter = Counter()
# Batches whose write failed, by id: maybe committed, maybe not (stats_flush).
_pending: list[tuple[str, Counter]] = []
_flush_lock = threading.Lock()
# How long the ids of written batches are kept to answer "was it written?".
BATCH_IDS_KEPT = timedelta(days=1)
_flusher: threading.Thread | None = None
_wake = threading.Event()


def referrer_host(referer: str | None) -> str:
    """The host of a `Referer` value, lower-case, or "" (none, or not a URL)."""
    if not referer:
        return ""
    try:
        host = urlsplit(referer[:2048].strip()).hostname or ""
    except ValueError:
        return ""
    host = host.lower()
    # A host name is letters, digits, dots, hyphens (and IDNA); anything else is not kept.
    if not host or len(host) > 255 or any(not (ch.isalnum() or ch in ".-_:[]") for ch in host):
        return ""
    return host


def visit_record(*, link_id: int, user_agent: str | None, referer: str | None, client: str | None) -> None:
    """Add one visit to this process's buffer (cheap; no I/O)."""
    if not settings.SHORT_LINK_STATS:
        return
    summary = client_summary(user_agent, client)
    key = (
        link_id,
        timezone.now().date(),
        referrer_host(referer),
        summary.browser,
        summary.os,
        summary.bot,
        summary.country or "",
    )
    with _lock:
        _buffer[key] += 1
    _ensure_flusher()


def _ensure_flusher() -> None:
    global _flusher
    if _flusher is not None and _flusher.is_alive():
        return
    with _lock:
        if _flusher is not None and _flusher.is_alive():
            return
        _flusher = threading.Thread(target=_flush_forever, name="pan-link-stats", daemon=True)
        _flusher.start()


def _flush_forever() -> None:
    while True:
        _wake.wait(settings.SHORT_LINK_STATS_FLUSH_SECONDS)
        _wake.clear()
        try:
            stats_flush()
        except Exception:  # noqa: BLE001 - the database may be down: keep the counts for the next round
            logger.warning("link statistics: could not write the buffered visits; retrying", exc_info=True)
        finally:
            close_old_connections()


def stats_flush() -> int:
    """Write the buffered visits (and any batch whose write is in doubt);
    return how many visits were written.

    Idempotent: each write is one transaction that also inserts a
    `LinkStatsBatch` row with the batch's id. When a flush fails, its batch
    is kept with that id (the commit may have happened without the answer
    arriving); the next flush looks the id up and drops the batch if its
    row is there, or writes its visits with the new ones if not. So a flush
    interrupted and retried counts each visit once."""
    global _buffer
    with _flush_lock:  # one flush at a time: the flusher thread, a stop, a test
        with _lock:
            taken, _buffer = _buffer, Counter()
        if not taken and not _pending:
            return 0
        batch_id = uuid.uuid4().hex
        counts = None
        try:
            with transaction.atomic():
                counts = _unwritten(taken)
                if counts:
                    now = timezone.now()
                    LinkStatsBatch.objects.create(pk=batch_id, written_at=now)
                    # Links deleted since their visits: dropped (a link deleted during the
                    # flush fails the batch at commit; it is retried, and dropped then).
                    link_ids = {key[0] for key in counts}
                    alive = set(ShortLink.objects.filter(pk__in=link_ids).values_list("pk", flat=True))
                    for (link_id, day, referrer, browser, os_family, bot, country), visits in counts.items():
                        if link_id in alive:
                            _upsert(link_id, day, referrer, browser, os_family, bot, country, visits)
                    LinkStatsBatch.objects.filter(written_at__lt=now - BATCH_IDS_KEPT).delete()
            _settled()
        except BaseException:
            if counts is None:  # the earlier batches are still undecided: keep them apart
                if taken:
                    _pending.append((batch_id, taken))
            elif counts:  # written or not, all of it is under this batch's id now
                _pending[:] = [(batch_id, counts)]
            else:
                _pending.clear()
            raise
        return sum(counts.values())


def _unwritten(taken: Counter) -> Counter:
    """`taken` plus the visits of the batches in doubt whose row is not there."""
    counts = Counter(taken)
    if _pending:
        in_doubt = [batch for batch, _ in _pending]
        written = set(LinkStatsBatch.objects.filter(pk__in=in_doubt).values_list("pk", flat=True))
        for batch, visits in _pending:
            if batch not in written:
                counts.update(visits)
    return counts


def _settled() -> None:
    """The commit answered: no batch is in doubt any more."""
    _pending.clear()


def _upsert(link_id, day, referrer, browser, os_family, bot, country, visits) -> None:
    fields = {
        "link_id": link_id,
        "day": day,
        "referrer": referrer,
        "browser": browser,
        "os": os_family,
        "bot": bot,
        "country": country,
    }
    if LinkVisitDay.objects.filter(**fields).update(visits=F("visits") + visits):
        return
    try:
        with transaction.atomic():
            LinkVisitDay.objects.create(visits=visits, **fields)
    except IntegrityError:
        # Another process created the row meanwhile.
        LinkVisitDay.objects.filter(**fields).update(visits=F("visits") + visits)


def _flush_at_stop() -> None:
    """The last write of this process's buffer, when the server stops normally
    (project/lib/stopping.py: uvicorn's lifespan shutdown, or atexit under daphne)."""
    try:
        written = stats_flush()
    except Exception:  # noqa: BLE001 - nothing more can be done while stopping
        logger.warning("link statistics: could not write the last buffered visits while stopping", exc_info=True)
    else:
        if written:
            logger.info("link statistics: wrote the last %d buffered visits while stopping", written)
    finally:
        connections.close_all()  # this thread's connections


on_stop(_flush_at_stop)


# --- Reading -------------------------------------------------------------------

TOP = 10


def link_stats(*, link, since=None, until=None) -> dict:
    """Visits per day, top referrers, browsers and OS, and the bot share of a link, `since`/`until` days inclusive."""
    rows = LinkVisitDay.objects.filter(link=link)
    if since is not None:
        rows = rows.filter(day__gte=since)
    if until is not None:
        rows = rows.filter(day__lte=until)

    def top(field: str) -> list[dict]:
        grouped = rows.values(field).annotate(total=Sum("visits")).order_by("-total", field)[:TOP]
        return [{"name": row[field], "visits": row["total"]} for row in grouped]

    totals = rows.aggregate(total=Sum("visits"), bots=Sum("visits", filter=Q(bot=True)))
    per_day = rows.values("day").annotate(total=Sum("visits")).order_by("day")
    return {
        "visits": totals["total"] or 0,
        "bots": totals["bots"] or 0,
        "per_day": [{"day": row["day"].isoformat(), "visits": row["total"]} for row in per_day],
        "referrers": top("referrer"),
        "browsers": top("browser"),
        "os": top("os"),
        "countries": top("country"),
    }


def link_stats_rows(*, link, since=None, until=None):
    """CSV rows (header first): one per stored day and client kind."""
    rows = LinkVisitDay.objects.filter(link=link).order_by("day", "-visits", "referrer", "browser", "os")
    if since is not None:
        rows = rows.filter(day__gte=since)
    if until is not None:
        rows = rows.filter(day__lte=until)
    yield ["day", "referrer", "browser", "os", "bot", "country", "visits"]
    for row in rows.iterator(chunk_size=1000):
        yield [
            row.day.isoformat(),
            row.referrer,
            row.browser,
            row.os,
            "yes" if row.bot else "no",
            row.country,
            row.visits,
        ]
