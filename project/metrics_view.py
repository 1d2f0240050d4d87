"""`GET /metrics`: Pan's series in Prometheus text format (project/lib/metrics.py).

Only for a scraper that sends `Authorization: Bearer <METRICS_TOKEN>` or
connects from one of `METRICS_ALLOWED_NETWORKS` (the client address as the
rate limiter sees it: `X-Forwarded-For` only from `TRUSTED_PROXIES`).
Everyone else, with any method, gets exactly what an unknown path answers
(`project.lib.hidden`, as `/server-status`). Not DRF: it stays out of the
OpenAPI schema.
"""

import hmac
import ipaddress
import logging
from functools import lru_cache

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.urls import path
from django.utils.cache import add_never_cache_headers

from jobs.metrics import tasks_exposition
from project.lib.hidden import unknown_path_unless
from project.lib.metrics import metrics_exposition
from project.lib.net import client_address

logger = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _allowed_networks(networks: tuple[str, ...]):
    return tuple(ipaddress.ip_network(network, strict=False) for network in networks)


def _token_matches(request) -> bool:
    expected = settings.METRICS_TOKEN
    scheme, _sep, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    given = given.strip()
    if not (expected and given) or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def _from_allowed_network(request) -> bool:
    networks = _allowed_networks(tuple(settings.METRICS_ALLOWED_NETWORKS))
    if not networks:
        return False
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def metrics_allowed(request) -> bool:
    return _token_matches(request) or _from_allowed_network(request)


def _tasks_series() -> bytes:
    # The queue's series come from the database: one that does not answer leaves them out.
    try:
        return tasks_exposition()
    except DatabaseError:
        logger.warning("metrics: the task queue's series are left out (the database did not answer)", exc_info=True)
        return b""
    finally:
        connection.close()  # this worker thread's own connection


@unknown_path_unless(metrics_allowed)
async def metrics(request):
    # In multi-process mode this reads every process's files: off the event loop.
    body, content_type = await sync_to_async(metrics_exposition, thread_sensitive=False)()
    body += await sync_to_async(_tasks_series, thread_sensitive=False)()
    response = HttpResponse(body, content_type=content_type)
    # Only here: a Cache-Control on the 404 would set it apart from other 404s.
    add_never_cache_headers(response)
    return response


# Included from project/urls.py as `path("metrics", include("project.metrics_view"))`.
urlpatterns = [path("", metrics, name="metrics")]
