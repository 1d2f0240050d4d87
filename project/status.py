"""`GET /server-status?token=…` for uptime monitors (Uptime Kuma and the like).

With the right token: 200 and `{"status": "ok", "database": "ok", "cache":
"ok", "channel_layer": "ok"}`, or 503 with an error string in place of each
"ok" that failed. Without it: the site's ordinary 404, so the page cannot
be told apart from one that does not exist. A plain Django view, not DRF:
it stays out of the OpenAPI schema.
"""

import asyncio
import hmac
import secrets

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers

from project.views import page_not_found


def _probe_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone()[0] != 1:
            raise RuntimeError("SELECT 1 did not return 1")


def _probe_cache() -> None:
    cache = caches["default"]
    key, value = f"server-status:{secrets.token_hex(8)}", secrets.token_hex(8)
    cache.set(key, value, 10)
    try:
        if cache.get(key) != value:
            raise RuntimeError("the value read back differs from the one written")
    finally:
        cache.delete(key)


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


async def _outcome(probe) -> str:
    try:
        await asyncio.wait_for(probe, timeout=settings.SERVER_STATUS_PROBE_TIMEOUT)
    except TimeoutError:
        return f"timed out after {settings.SERVER_STATUS_PROBE_TIMEOUT:g}s"
    except Exception as exc:  # any failure is a state to report, not a crash
        return f"{type(exc).__name__}: {exc}"[:300]
    return "ok"


def _token_matches(request) -> bool:
    given = request.GET.get("token", "")
    expected = settings.SERVER_STATUS_TOKEN
    return bool(given and expected) and hmac.compare_digest(given.encode(), expected.encode())


async def server_status(request):
    # Any other method is a 404 too: a 405 would tell that the path exists.
    if request.method not in ("GET", "HEAD") or not _token_matches(request):
        return await sync_to_async(page_not_found)(request)
    database, cache, channel_layer = await asyncio.gather(
        _outcome(sync_to_async(_probe_database, thread_sensitive=True)()),
        _outcome(sync_to_async(_probe_cache, thread_sensitive=False)()),
        _outcome(_probe_channel_layer()),
    )
    checks = {"database": database, "cache": cache, "channel_layer": channel_layer}
    healthy = all(state == "ok" for state in checks.values())
    response = JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)
    # Only here: a Cache-Control on the 404 would set it apart from other 404s.
    add_never_cache_headers(response)
    return response
