"""`GET /server-status?token=…` for uptime monitors (Uptime Kuma and the like).

With the right token: 200 and `{"status": "ok", "database": "ok", "cache":
"ok", "limits": "ok", "channel_layer": "ok", "storage": "ok", "tasks": "ok"}`, or 503 with
an error string in place of each "ok" that failed. A probe that works but
warns (the limits' store: Redis's `maxmemory-policy` is not `noeviction`, or
the in-process store is full) answers a string starting with "warning:", and
the whole answer is 200 with `"status": "degraded"` (docs/middleware.md,
"Status endpoint"). The probes run at once and the answer
waits for none of them longer than SERVER_STATUS_PROBE_TIMEOUT: a probe
still running then is reported as timed out and left to finish in its
worker thread, whose own timeouts (database connect, pool and answer,
Redis socket, S3 client) end it soon after. The whole answer keeps to
that bound: time the middleware spent before the view (the rate limiter
meeting a frozen Redis, at most one Redis timeout) is taken from the
probes' share.

Without the token, and for any method but GET and HEAD: exactly what an
unknown path answers (the site's 404), so the page cannot be told apart
from one that does not exist (`project.lib.hidden`, shared with
`/metrics`). A plain Django view, not DRF: it stays out of the OpenAPI
schema.
"""

import asyncio
import hmac
import secrets
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import caches
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers

from jobs.metrics import tasks_status
from project.lib.hidden import unknown_path_unless
from project.lib.limit_store import LimitStore, limits_cache, redis_eviction_policy, redis_eviction_warning

WARNING = "warning:"

# Seconds kept back from the probes for building and sending the answer.
_ANSWER_MARGIN = 0.05


def _probe_database() -> None:
    # A connection of its own, opened and closed in this worker thread. The
    # request's connection belongs to the request's one sync thread, where
    # a probe stuck on an unreachable server would hold up everything queued
    # behind it (the request_finished signal included) past any timeout here.
    probe = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with probe.cursor() as cursor:
            cursor.execute("SELECT 1")
            if cursor.fetchone()[0] != 1:
                raise RuntimeError("SELECT 1 did not return 1")
    finally:
        probe.close()


def _probe_cache(alias: str = "default") -> None:
    cache = caches[alias]
    key, value = f"server-status:{secrets.token_hex(8)}", secrets.token_hex(8)
    cache.set(key, value, 10)
    try:
        if cache.get(key) != value:
            raise RuntimeError("the value read back differs from the one written")
    finally:
        cache.delete(key)


def _probe_limits() -> str | None:
    """The limits' store works, and keeps every live window: None, or a warning."""
    store = limits_cache()
    if isinstance(store, LimitStore):
        if store.is_full():
            return f"{WARNING} the limit store is full ({store.max_entries} live windows); new windows are refused"
        _probe_cache("limits")
        return None
    _probe_cache("limits")
    try:
        policy = redis_eviction_policy()
    except Exception as exc:  # CONFIG may be renamed or refused (managed Redis): say so, do not fail
        return f"{WARNING} cannot read Redis maxmemory-policy ({type(exc).__name__}: {exc})"[:300]
    return redis_eviction_warning(policy)


def _probe_storage() -> None:
    # Written where uploads go (items/), so if the delete fails, purge_expired
    # removes the object as one no item refers to (pan/leftovers.py).
    name, content = f"items/server-status-{secrets.token_urlsafe(16)}", secrets.token_bytes(16)
    saved = default_storage.save(name, ContentFile(content))
    try:
        with default_storage.open(saved, "rb") as handle:
            if handle.read() != content:
                raise RuntimeError("the bytes read back differ from the ones written")
    finally:
        default_storage.delete(saved)


def _probe_tasks() -> str:
    try:
        return tasks_status()
    finally:
        connections[DEFAULT_DB_ALIAS].close()  # this worker thread's own connection


async def _probe_channel_layer() -> None:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel()
    message = {"type": "server.status", "nonce": secrets.token_hex(8)}
    await layer.send(channel, message)
    if await layer.receive(channel) != message:
        raise RuntimeError("the message received differs from the one sent")


def _outcome(task: asyncio.Task, timeout: float) -> str:
    if not task.done():
        task.cancel()
        return f"timed out after {timeout:g}s"
    exc = task.exception()
    if exc is not None:  # any failure is a state to report, not a crash
        return f"{type(exc).__name__}: {exc}"[:300]
    return task.result() or "ok"


async def _probe_all(seconds: float) -> dict[str, str]:
    """Every probe's state, in at most `seconds`."""
    # Blocking clients run in the loop's worker threads (thread_sensitive=False).
    probes = {
        "database": sync_to_async(_probe_database, thread_sensitive=False)(),
        "cache": sync_to_async(_probe_cache, thread_sensitive=False)(),
        "limits": sync_to_async(_probe_limits, thread_sensitive=False)(),
        "channel_layer": _probe_channel_layer(),
        "storage": sync_to_async(_probe_storage, thread_sensitive=False)(),
        "tasks": sync_to_async(_probe_tasks, thread_sensitive=False)(),
    }
    tasks = {name: asyncio.ensure_future(probe) for name, probe in probes.items()}
    await asyncio.wait(tasks.values(), timeout=seconds)
    # Reported against the setting: the answer's bound, whatever the middleware took of it.
    return {name: _outcome(task, settings.SERVER_STATUS_PROBE_TIMEOUT) for name, task in tasks.items()}


def _token_matches(request) -> bool:
    given = request.GET.get("token", "")
    expected = settings.SERVER_STATUS_TOKEN
    return bool(given and expected) and hmac.compare_digest(given.encode(), expected.encode())


@unknown_path_unless(_token_matches)
async def server_status(request):
    # The whole answer within SERVER_STATUS_PROBE_TIMEOUT: what the middleware
    # spent before this view (the rate limiter meeting a frozen Redis) is
    # taken from the probes' time.
    started = getattr(request, "started_at", None)
    spent = 0.0 if started is None else time.perf_counter() - started
    checks = await _probe_all(max(0.1, settings.SERVER_STATUS_PROBE_TIMEOUT - spent - _ANSWER_MARGIN))
    if any(state != "ok" and not state.startswith(WARNING) for state in checks.values()):
        status, code = "error", 503
    elif any(state != "ok" for state in checks.values()):
        status, code = "degraded", 200  # works, but something needs an operator's attention
    else:
        status, code = "ok", 200
    response = JsonResponse({"status": status, **checks}, status=code)
    # Only here: a Cache-Control on the 404 would set it apart from other 404s.
    add_never_cache_headers(response)
    return response
