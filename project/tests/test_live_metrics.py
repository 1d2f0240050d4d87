"""`/metrics` scraped from a real server after a scripted run (SPEC §7).

A fresh daphne process (its counters start at zero) does a known number of
uploads, downloads, short-link visits, wrong codes and refused requests;
the scrape must show exactly those numbers. Then a server whose Redis is a
closed port: it keeps serving, and the cache error counter says why.
"""

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import PASSWORD
from project.testing import LiveServer, refusing_port

pytestmark = pytest.mark.live

TOKEN = "metrics-token-for-the-live-test-0123456789"
SCRAPE = {"Authorization": f"Bearer {TOKEN}"}


def scrape(url: str) -> dict[tuple, float]:
    """{(sample name, sorted label pairs): value} of one scrape."""
    answer = httpx.get(f"{url}/metrics", headers=SCRAPE, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_scripted_run_shows_exactly_its_counts():
    env = {
        "METRICS_TOKEN": TOKEN,
        "RATE_LIMITS": "/ws-echo/=2/3600",
        # Four wrong codes per client and share, the fifth attempt is refused.
        "PAN_CODE_CLIENT_LIMIT": "4",
    }
    with LiveServer(extra_env=env) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        server.register("metrics-admin", PASSWORD)
        login = client.post("/api/login", json={"username": "metrics-admin", "password": PASSWORD})
        owner = {"Authorization": f"Bearer {login.json()['access']}"}

        # Uploads: two files, 1000 + 2345 bytes, in one share.
        files = [("file", ("one.bin", b"1" * 1000)), ("file", ("two.bin", b"2" * 2345))]
        share = client.post("/api/shares", files=files, headers=owner).json()
        first, second = (item["id"] for item in share["items"])
        content = f"/api/shares/{share['id']}/items/{{item}}/content"
        code = {"X-Share-Code": share["code"]}

        # Downloads by a recipient's tool: the first counts (completed), the
        # second item is free for the same grant, a short range counts nothing.
        assert client.get(content.format(item=first), headers=code).content == b"1" * 1000
        assert client.get(content.format(item=second), headers=code).content == b"2" * 2345
        ranged = client.get(content.format(item=first), headers={**code, "Range": "bytes=0-99"})
        assert ranged.status_code == 206 and len(ranged.content) == 100
        # The owner's HEAD streams nothing.
        assert client.head(content.format(item=first), headers=owner).status_code == 200

        # Wrong codes: four rejected, the fifth attempt refused by the client-share layer.
        wrong = {"X-Share-Code": "AAAA-AAAA"}
        statuses = [client.get(content.format(item=first), headers=wrong).status_code for _ in range(5)]
        assert statuses == [403, 403, 403, 403, 429]

        # Short-link visits: three through the fast path, one through Django
        # (an Origin header sends it there), a HEAD that counts nothing.
        key = client.post("/api/short", json={"url": "https://example.com/metrics"}).json()["key"]
        for _ in range(3):
            assert client.get(f"/s/{key}").status_code == 302
        assert client.get(f"/s/{key}", headers={"Origin": server.url}).status_code == 302
        assert client.head(f"/s/{key}").status_code == 302

        # The request limiter: two pass, the third is refused.
        assert [client.get("/ws-echo/").status_code for _ in range(3)] == [200, 200, 429]

        samples = scrape(server.url)

    assert value(samples, "pan_uploads_total") == 2
    assert value(samples, "pan_upload_bytes_total") == 1000 + 2345
    assert value(samples, "pan_downloads_total") == 3
    assert value(samples, "pan_download_bytes_total") == 1000 + 2345 + 100
    assert value(samples, "pan_downloads_completed_total") == 1
    assert value(samples, "pan_code_guess_failures_total", kind="code") == 4
    assert value(samples, "pan_code_guess_failures_total", kind="password") == 0
    assert value(samples, "pan_too_many_requests_total", limiter="attempts", limit="code:client-share") == 1
    assert value(samples, "pan_too_many_requests_total", limiter="requests", limit="/ws-echo/") == 1
    assert value(samples, "pan_short_link_visits_total") == 4
    assert value(samples, "pan_cache_errors_total") == 0
    assert value(samples, "pan_database_errors_total") == 0

    # Requests by route (the URL pattern, never the raw path) and status.
    requests = "pan_http_requests_total"
    redirect = "/s/<str:key>"
    assert value(samples, requests, route=redirect, method="GET", status="302") == 4
    assert value(samples, requests, route=redirect, method="HEAD", status="302") == 1
    assert value(samples, requests, route="/ws-echo/", method="GET", status="200") == 2
    assert value(samples, requests, route="/ws-echo/", method="GET", status="429") == 1
    item_route = "/api/shares/<unique:unique_name>/items/<int:item_id>/content"
    item_statuses = {
        labels: count
        for (name, labels), count in samples.items()
        if name == requests and dict(labels)["route"] == item_route
    }
    assert sorted((dict(labels)["method"], dict(labels)["status"], n) for labels, n in item_statuses.items()) == [
        ("GET", "200", 2),
        ("GET", "206", 1),
        ("GET", "403", 4),
        ("GET", "429", 1),
        ("HEAD", "200", 1),
    ]
    assert not any(share["id"] in dict(labels).get("route", "") for _name, labels in samples)
    # Latency histograms per route: one observation per request.
    assert value(samples, "pan_http_request_duration_seconds_count", route="/ws-echo/") == 3
    assert value(samples, "pan_http_request_duration_seconds_count", route=redirect) == 5
    assert value(samples, "pan_http_request_duration_seconds_bucket", route=redirect, le="+Inf") == 5


def test_with_redis_on_a_closed_port_the_cache_error_counter_rises():
    env = {"REDIS_URL": f"redis://127.0.0.1:{refusing_port()}/0", "METRICS_TOKEN": TOKEN}
    with LiveServer(extra_env=env) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        before = value(scrape(server.url), "pan_cache_errors_total")
        key = client.post("/api/short", json={"url": "https://example.com/redis-down"}).json()["key"]
        # Each visit reads the cache (a miss, then the database) and writes it back.
        assert [client.get(f"/s/{key}").status_code for _ in range(3)] == [302, 302, 302]
        after = value(scrape(server.url), "pan_cache_errors_total")
    assert after >= before + 3
