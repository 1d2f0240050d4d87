"""WebSocket routes (Channels) and the checks in front of them. Consumers: project/consumers.py.

Every refusal here is a plain ASGI answer: no consumer, no channel layer,
no traceback. A handshake is refused with the ASGI "websocket.http.response"
extension where the server offers it (uvicorn: the status below) and by
closing before accepting elsewhere (daphne turns that into 403).
"""

from urllib.parse import urlparse

from channels.security.websocket import OriginValidator
from django.conf import settings
from django.urls import path, re_path

from events.consumers import EventsConsumer
from project.consumers import EchoConsumer


async def refuse_handshake(scope, receive, send, *, status: int = 403) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return  # the client left first
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await send({"type": "websocket.http.response.start", "status": status, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b""})
    else:
        await send({"type": "websocket.close"})


async def no_such_route(scope, receive, send) -> None:
    """Any path without a WebSocket route: 404 (or daphne's 403), where Channels would raise (a 500)."""
    await refuse_handshake(scope, receive, send, status=404)


websocket_urlpatterns = [
    path("ws/echo/", EchoConsumer.as_asgi()),
    path("ws/events/", EventsConsumer.as_asgi()),
    re_path(r"^", no_such_route),  # last: whatever nothing above matched
]


class OriginCheck(OriginValidator):
    """Channels' origin check, except that a handshake without `Origin` passes (SPEC §7).

    Browsers send `Origin` on every WebSocket handshake (RFC 6455 §4.1), so
    its absence means a non-browser client (websocat, a script), which no
    other site's page can drive: there is no cross-site request to stop.
    A foreign origin, `null`, or more than one `Origin` is still refused.
    """

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("OriginCheck guards WebSocket connections only")
        origins = [value for name, value in scope.get("headers", []) if name == b"origin"]
        if not origins or (len(origins) == 1 and self.valid_origin(urlparse(origins[0].decode("latin-1")))):
            return await self.application(scope, receive, send)
        # Channels' own WebsocketDenier is a consumer and would need the channel layer.
        return await refuse_handshake(scope, receive, send, status=403)


def origin_checked(application) -> OriginCheck:
    """`OriginCheck` against ALLOWED_HOSTS, as Channels' AllowedHostsOriginValidator builds it."""
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = ["localhost", "127.0.0.1", "[::1]"]
    return OriginCheck(application, allowed_hosts)
