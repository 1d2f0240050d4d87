"""Link statistics across the stops of a real server (issue 23).

A normal stop (SIGTERM) of daphne (`make run`) or uvicorn (`make serve`)
writes every buffered visit; a SIGKILL loses at most the visits of the last
flush interval (shortener/stats.py, docs/short-links.md "Statistics").
"""

import signal
import threading
import time

import httpx
import pytest

from project.testing import LiveServer, wait_until

pytestmark = pytest.mark.live

VISITS = 1000
SERVERS = ["daphne", "uvicorn"]
# daphne exits with 0; uvicorn, once its graceful shutdown is done, raises
# the SIGTERM again with the default handler and dies by it.
STOPPED = {"daphne": 0, "uvicorn": -signal.SIGTERM}


def _create_link(server: LiveServer) -> str:
    printed = server.manage("shorten", "https://example.com/counted").stdout.strip()
    return printed.rsplit("/", 1)[1]


def _counts(server: LiveServer, key: str) -> tuple[int, int]:
    """(visits in the statistics, the link's own visit count), read from the database."""
    code = (
        "from django.db.models import Sum; from shortener.models import LinkVisitDay, ShortLink; "
        f"link = ShortLink.objects.get(key={key!r}); "
        "print(LinkVisitDay.objects.filter(link=link).aggregate(s=Sum('visits'))['s'] or 0, link.visit_count)"
    )
    recorded, counted = server.manage("shell", "-v0", "-c", code).stdout.split()
    return int(recorded), int(counted)


def _visit(client: httpx.Client, key: str, count: int) -> None:
    for _ in range(count):
        assert client.get(f"/s/{key}").status_code == 302


@pytest.mark.parametrize("kind", SERVERS)
def test_a_sigterm_writes_every_buffered_visit(kind):
    # Nothing is flushed on the way: only the stop can write these visits.
    with LiveServer(extra_env={"SHORT_LINK_STATS_FLUSH_SECONDS": "3600"}, server=kind) as server:
        key = _create_link(server)
        with httpx.Client(base_url=server.url, timeout=20, headers={"User-Agent": "Firefox/128.0"}) as client:
            _visit(client, key, VISITS)
        assert _counts(server, key) == (0, VISITS)  # all still in the process's buffer
        proc = server.procs[0]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == STOPPED[kind], server.log()
        assert _counts(server, key) == (VISITS, VISITS), server.log()


@pytest.mark.parametrize("kind", SERVERS)
def test_a_sigterm_in_the_middle_of_visits_loses_none_that_were_answered(kind):
    """Visits still arriving while the server stops: each one redirected is in the statistics."""
    with LiveServer(extra_env={"SHORT_LINK_STATS_FLUSH_SECONDS": "3600"}, server=kind) as server:
        key = _create_link(server)
        redirected = [0] * 4
        stop = threading.Event()

        def visitor(slot: int) -> None:
            with httpx.Client(base_url=server.url, timeout=20) as client:
                while not stop.is_set():
                    try:
                        response = client.get(f"/s/{key}")
                    except httpx.HTTPError:
                        return  # the server is gone
                    if response.status_code != 302:
                        return
                    redirected[slot] += 1

        threads = [threading.Thread(target=visitor, args=(slot,)) for slot in range(len(redirected))]
        for thread in threads:
            thread.start()
        try:
            wait_until(lambda: sum(redirected) >= 300, timeout=60, message="300 visits")
            server.procs[0].send_signal(signal.SIGTERM)
            assert server.procs[0].wait(timeout=30) == STOPPED[kind], server.log()
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
        recorded, counted = _counts(server, key)
        assert recorded == counted >= sum(redirected), server.log()


@pytest.mark.parametrize("kind", SERVERS)
def test_a_sigkill_loses_at_most_the_last_flush_interval(kind):
    interval = 1.0
    with LiveServer(extra_env={"SHORT_LINK_STATS_FLUSH_SECONDS": str(interval)}, server=kind) as server:
        key = _create_link(server)
        answered: list[float] = []  # when each redirect came back
        with httpx.Client(base_url=server.url, timeout=20) as client:
            started = time.monotonic()
            while time.monotonic() - started < 4 * interval:  # bounded: four flush intervals of visits
                assert client.get(f"/s/{key}").status_code == 302
                answered.append(time.monotonic())
            server.procs[0].kill()
            killed = time.monotonic()
            server.procs[0].wait(timeout=10)
        recorded, counted = _counts(server, key)
        assert counted == len(answered)
        # A flush takes the buffer every `interval` seconds and writes it at
        # once; what it had not taken when the process died is lost. The
        # margin covers a late wake-up and the write itself on a busy machine.
        margin = 1.0
        recent = sum(1 for moment in answered if moment > killed - interval - margin)
        assert 0 < recorded <= counted
        assert counted - recorded <= recent, (counted, recorded, recent)
        # The visits it wrote stay written across the restart.
        server.restart()
        assert _counts(server, key) == (recorded, counted)
