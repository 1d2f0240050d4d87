"""WebSocket routes (Channels) and the checks in front of them. Consumers: project/consumers.py.

Every refusal here is a plain ASGI answer: no consumer, no channel layer,
no traceback. A handshake is refused with the ASGI "websocket.http.response"
extension where the server offers it (uvicorn: the status below) and by
closing before accepting elsewhere (daphne turns that into 403).
"""

from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.http.request import split_domain_port, validate_host
from django.urls import path, re_path

from accounts.authentication import api_key_in_header, api_key_websocket_owner
from accounts.errors import ApiKeyNotValid
from events.consumers import EventsConsumer
from project.consumers import EchoConsumer
from project.lib.errors import DATABASE_UNAVAILABLE_ERRORS, database_unavailable_logged
from project.lib.net import client_address_of, connection_is_secure


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


DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_key(value: str) -> tuple[str, str, int] | None:
    """An origin as (scheme, host, port), the port spelled out; None for
    anything that is not an http(s) origin (`null`, a path, user info)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.username is not None:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    return scheme, parts.hostname.lower().rstrip("."), port or DEFAULT_PORTS[scheme]


def _trusted_origin_matches(origin: tuple[str, str, int], trusted: str) -> bool:
    """One CSRF_TRUSTED_ORIGINS entry: exactly this scheme, host and port, or
    Django's `https://*.example.com` for any subdomain (same scheme and port)."""
    wildcard = "://*." in trusted
    key = origin_key(trusted.replace("://*.", "://", 1) if wildcard else trusted)
    if key is None:
        return False
    scheme, host, port = origin
    if wildcard:
        return (scheme, port) == (key[0], key[2]) and host.endswith("." + key[1])
    return origin == key


def _allowed_hosts() -> list[str]:
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        return ["localhost", "127.0.0.1", "[::1]"]
    return settings.ALLOWED_HOSTS


def own_origin(scope) -> tuple[str, str, int] | None:
    """The origin the handshake itself came to: its `Host` (a host in
    ALLOWED_HOSTS) with the scheme it came in on (wss, or `X-Forwarded-Proto:
    https` from a proxy in TRUSTED_PROXIES with BEHIND_TLS_PROXY) and that
    scheme's default port when `Host` names none."""
    headers = dict(scope.get("headers") or [])
    domain, port = split_domain_port(headers.get(b"host", b"").decode("latin-1"))
    if not domain or not validate_host(domain, _allowed_hosts()):
        return None
    peer_host, _peer_port = scope.get("client") or ("", None)
    secure = connection_is_secure(
        scheme=scope.get("scheme", "ws"),
        remote=peer_host,
        forwarded_proto=headers.get(b"x-forwarded-proto", b"").decode("latin-1"),
    )
    scheme = "https" if secure else "http"
    return scheme, domain.strip("[]").rstrip("."), int(port) if port else DEFAULT_PORTS[scheme]


def origin_allowed(scope, origin: str) -> bool:
    """`Origin` names this site: scheme, host and port all equal to the
    handshake's own origin (`own_origin`), or to a CSRF_TRUSTED_ORIGINS entry."""
    key = origin_key(origin)
    if key is None:
        return False
    if key == own_origin(scope):
        return True
    return any(_trusted_origin_matches(key, trusted) for trusted in settings.CSRF_TRUSTED_ORIGINS)


class OriginCheck:
    """Only pages of this site may open a WebSocket with a browser's cookies (SPEC §7).

    `Origin` must be this site's origin as scheme + host + port, compared
    whole (G8: Channels' check compared the host only, so a page on
    `http://127.0.0.1:9999` could read a signed-in victim's events): the
    origin the handshake came to (`own_origin`), or an entry of
    CSRF_TRUSTED_ORIGINS. A handshake without `Origin` passes: browsers
    send it on every WebSocket handshake (RFC 6455 §4.1), so its absence
    means a non-browser client (websocat, a script), which no other site's
    page can drive. A foreign origin, `null`, or more than one `Origin` is
    refused.
    """

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("OriginCheck guards WebSocket connections only")
        origins = [value for name, value in scope.get("headers", []) if name == b"origin"]
        if not origins or (len(origins) == 1 and origin_allowed(scope, origins[0].decode("latin-1"))):
            return await self.application(scope, receive, send)
        # Channels' own WebsocketDenier is a consumer and would need the channel layer.
        return await refuse_handshake(scope, receive, send, status=403)


class ApiKeyHandshake:
    """`Authorization: Bearer pan_…` on a WebSocket handshake (docs/api-keys.md).

    Inside Channels' `AuthMiddlewareStack`: the key's owner replaces the
    session's user when the consumer the path routes to allows the key
    (`api_key_scopes["GET"]`, accounts/authentication.py). A bad key is
    refused with 401, a key outside its scopes (or on a route that declares
    none) with 403; daphne, which lacks the ASGI `websocket.http.response`
    extension, answers both with 403. No key header: nothing changes.
    """

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        header = b", ".join(value for name, value in scope.get("headers") or [] if name == b"authorization")
        try:
            raw = api_key_in_header(header) if header else None
        except ApiKeyNotValid:
            return await refuse_handshake(scope, receive, send, status=401)
        if raw is None:
            return await self.application(scope, receive, send)
        try:
            owner = await sync_to_async(_handshake_owner)(raw, scope)
        except ApiKeyNotValid:
            return await refuse_handshake(scope, receive, send, status=401)
        except DATABASE_UNAVAILABLE_ERRORS as exc:
            database_unavailable_logged(exc)
            return await refuse_handshake(scope, receive, send, status=503)
        if owner is None:
            return await refuse_handshake(scope, receive, send, status=403)
        return await self.application({**scope, "user": owner}, receive, send)


def _route_consumer(path: str):
    """The consumer class a WebSocket path routes to (None for the catch-all)."""
    for route in websocket_urlpatterns:
        if route.pattern.match(path.lstrip("/")):
            return getattr(route.callback, "consumer_class", None)
    return None


def _handshake_owner(raw: str, scope):
    headers = dict(scope.get("headers") or [])
    peer_host, _peer_port = scope.get("client") or ("", None)
    client = client_address_of(peer_host, headers.get(b"x-forwarded-for", b"").decode("latin-1"))
    close_old_connections()
    try:
        return api_key_websocket_owner(raw, client=client, consumer=_route_consumer(scope.get("path", "")))
    finally:
        close_old_connections()


def api_key_handshakes(application) -> ApiKeyHandshake:
    """`application` (the WebSocket router) behind `ApiKeyHandshake`."""
    return ApiKeyHandshake(application)


def origin_checked(application) -> OriginCheck:
    """`application` behind `OriginCheck`."""
    return OriginCheck(application)
