"""Every Prometheus series Pan exports (SPEC §7), defined once.

Each is raised at the one place where its event happens:

    requests, latency        project/middleware.py TimingMiddleware (and the
                             fast path, project/fast_path.py, for the redirects
                             and kept pages it answers before the middleware)
    uploads                  pan/storing.py file_store
    downloads                project/lib/streaming.py tracked (sendfile bytes:
                             its ASGIHandler, once the server took them)
    completed downloads      pan/grants.py download_complete
    429s                     project/ratelimit.py (requests), project/lib/attempts.py (attempts)
    code-guessing failures   pan/access.py
    short-link visits        shortener/services.py short_link_visit
    cache errors             project/lib/optional_cache.py warn_cache_unreachable
    database errors          project/lib/errors.py database_unavailable_logged
    connections in use       database_connections_observe, after every
                             request (project/apps.py)

`GET /metrics` (project/metrics_view.py) serves them. With several server
processes (`make serve WORKERS=N`) prometheus-client's multi-process mode
is on: `PROMETHEUS_MULTIPROC_DIR` names a directory where every process
writes its values (the serve command empties it at start), and the scrape
adds them up, so any process answers for all.

Labels stay bounded: a route is the URL pattern (`/api/shares/<str:share_id>`),
never the raw path; a method outside the standard ones is `other`.
"""

import os
from functools import lru_cache

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "pan_http_requests",
    "HTTP requests answered, by route (URL pattern), method and status.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "pan_http_request_duration_seconds",
    "Time from the request entering Pan to its response (a streamed body flows on), by route.",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
UPLOADS = Counter("pan_uploads", "Files stored (uploads, import_files); texts live in the database, uncounted.")
UPLOAD_BYTES = Counter("pan_upload_bytes", "Bytes of the files stored.")
DOWNLOADS = Counter(
    "pan_downloads",
    "Responses that began streaming stored bytes (items, zips, previews, ranges, the video stream).",
)
DOWNLOAD_BYTES = Counter("pan_download_bytes", "Bytes of stored files handed to the server for sending.")
DOWNLOAD_BYTES_SENDFILE = Counter(
    "pan_download_bytes_sendfile",
    "Of those, bytes the server sent straight from the stored file (sendfile: daphne, local storage).",
)
DOWNLOADS_COMPLETED = Counter(
    "pan_downloads_completed",
    "Downloads counted against a share: a recipient was handed the last byte (SPEC §4.4).",
)
TOO_MANY_REQUESTS = Counter(
    "pan_too_many_requests",
    "429 answers, by limiter (requests, attempts) and limit (a rule's prefix, an attempt layer's kind).",
    ["limiter", "limit"],
)
CODE_GUESS_FAILURES = Counter(
    "pan_code_guess_failures",
    "Wrong share codes and share passwords (kind: code, password).",
    ["kind"],
)
SHORT_LINK_VISITS = Counter("pan_short_link_visits", "Short-link visits counted (GET redirects).")
CACHE_ERRORS = Counter("pan_cache_errors", "Cache calls or decisions that failed: the cache was unreachable.")
DATABASE_ERRORS = Counter("pan_database_errors", "Requests answered 503 because the database was unavailable.")

DATABASE_CONNECTIONS_IN_USE = Gauge(
    "pan_database_connections_in_use",
    "Database connections taken from the pool and not given back, as each process saw it when its last "
    "request finished (summed over live processes): 0 when idle; more means a path keeps a connection.",
    multiprocess_mode="livesum",
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in _METHODS else "other"


@lru_cache(maxsize=4096)
def _request_series(route: str, method: str, status: int):
    # `labels()` takes a lock and builds its key each time (about 4 µs);
    # the bound pair is reused. Routes, methods and statuses are few.
    return REQUESTS.labels(route, method_label(method), str(status)), REQUEST_SECONDS.labels(route)


def request_observe(route: str, method: str, status: int, seconds: float) -> None:
    """One answered request: its count and its time (about 2 µs)."""
    count, latency = _request_series(route, method, status)
    count.inc()
    latency.observe(seconds)


def database_connections_in_use() -> int:
    """Connections of the default database checked out of its pool now (0 without a pool)."""
    from django.db import connections

    wrapper = connections["default"]
    if wrapper.vendor == "sqlite":
        from project.sqlite.base import connections_in_use

        return connections_in_use()
    pool = getattr(wrapper, "pool", None)
    if pool is None:
        return 0
    stats = pool.get_stats()
    return stats.get("pool_size", 0) - stats.get("pool_available", 0)


def database_connections_observe(**_kwargs) -> None:
    """`request_finished` receiver, connected after Django's own, which has
    given the request's connection back by then."""
    DATABASE_CONNECTIONS_IN_USE.set(database_connections_in_use())


def metrics_exposition() -> tuple[bytes, str]:
    """The text a scrape gets, and its content type.

    In multi-process mode a fresh registry reads every process's files
    (prometheus-client's documented pattern); otherwise this process's own.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
