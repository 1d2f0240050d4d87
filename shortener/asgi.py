"""The short-link redirect's fast path, in front of Django's middleware.

A successful redirect needs nothing from the middleware stack: no session,
user, CSRF, messages, locale, CORS or static files. Passing through it cost
about 60 % of the redirect's throughput (docs/performance.md), and every
request that touched the database opened a new connection in a new thread.
So `GET`/`HEAD` of `/s/<key>` and `/short/<key>` are answered here, by the
same service the Django view calls (`short_link_visit`), with the headers
the stack would have added: the redirect's own, the security headers (the
Content-Security-Policy too), the language and `Vary` of the locale and CORS middleware, and the timing
headers and access-log line of `project.middleware`
(shortener/tests/test_fast_path.py compares every header with Django's).

Everything else goes to Django unchanged: any error (404/410 pages and JSON
in the caller's language come from the view), a host not in
ALLOWED_HOSTS, a plain-HTTP request that must be redirected to HTTPS, a
request with an `Origin` (CORS decides), and the fast path switched off
(`SHORT_LINK_FAST_PATH=false`).

It runs in `project.lib.request_context.outside_request_lifecycle`: one
thread of its own for the ORM's sync work, whatever context the request
inherited, whose database connection goes back to the pool before the
redirect is sent, as `request_finished` does for a view. Before that
(issue 20, R5) it used asgiref's one shared thread, and on a pipelined
keep-alive connection under uvicorn a thread nothing ever finished: each
such redirect kept a pooled connection for good.
"""

import re
import time
from functools import cache
from types import SimpleNamespace

from corsheaders.conf import conf as cors_conf
from django.conf import settings
from django.http.cookie import parse_cookie
from django.http.request import split_domain_port, validate_host
from django.urls import resolve
from django.utils import translation
from django.utils.encoding import iri_to_uri

from project.lib.bodies import request_language
from project.lib.csp import csp_headers
from project.lib.errors import DATABASE_UNAVAILABLE_ERRORS, ApplicationError, database_unavailable_logged
from project.lib.metrics import request_observe
from project.lib.net import client_address_of, connection_is_secure
from project.lib.request_context import outside_request_lifecycle
from project.middleware import database_unavailable_page, log_access, timing_headers

from . import services
from .models import KEY_PATTERN
from .views import REDIRECT_REFERRER_POLICY

PREFIXES = ("/s/", "/short/")


def _key_of(path: str) -> str | None:
    for prefix in PREFIXES:
        if path.startswith(prefix):
            key = path[len(prefix) :]
            return key if KEY_PATTERN.match(key) else None
    return None


def _prefix_of(path: str) -> str:
    return next(prefix for prefix in PREFIXES if path.startswith(prefix))


@cache
def _route(prefix: str) -> str:
    """The metrics route of a redirect under `prefix`, as TimingMiddleware
    names it when Django answers (resolved once per prefix)."""
    return "/" + resolve(f"{prefix}key").route


def _allowed_hosts() -> list[str]:
    if settings.ALLOWED_HOSTS or not settings.DEBUG:
        return settings.ALLOWED_HOSTS
    return [".localhost", "127.0.0.1", "[::1]"]  # what Django allows in DEBUG


def _is_secure(scope, headers: dict) -> bool:
    """As `request.is_secure()` after ForwardedProtoMiddleware: X-Forwarded-Proto only from TRUSTED_PROXIES."""
    peer_host, _peer_port = scope.get("client") or ("", None)
    return connection_is_secure(
        scheme=scope.get("scheme", ""),
        remote=peer_host,
        forwarded_proto=headers.get(b"x-forwarded-proto", b"").decode("latin-1"),
    )


def _security_headers(secure: bool) -> list[tuple[bytes, bytes]]:
    """What SecurityMiddleware, XFrameOptionsMiddleware and the
    Content-Security-Policy middleware add to a redirect."""
    headers = []
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append((b"x-content-type-options", b"nosniff"))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append((b"cross-origin-opener-policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()))
    if secure and settings.SECURE_HSTS_SECONDS:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        headers.append((b"strict-transport-security", hsts.encode()))
    headers.append((b"x-frame-options", settings.X_FRAME_OPTIONS.encode()))
    headers += csp_headers()
    return headers


def _language_headers(path: str, headers: dict) -> list[tuple[bytes, bytes]]:
    """What LocaleMiddleware and CorsMiddleware add to a redirect: the
    language Django would have activated (its cookie, then Accept-Language)
    and the `Vary` that says the answer depends on them."""
    request = SimpleNamespace(
        COOKIES=parse_cookie(headers.get(b"cookie", b"").decode("latin-1")),
        META={"HTTP_ACCEPT_LANGUAGE": headers.get(b"accept-language", b"").decode("latin-1")},
    )
    language = translation.get_language_from_request(request, check_path=False)
    vary = ["Accept-Language"]
    if re.match(cors_conf.CORS_URLS_REGEX, path):
        vary.append("origin")
    return [(b"vary", ", ".join(vary).encode()), (b"content-language", language.encode())]


async def _send_database_unavailable(scope, headers: dict, send, exc: Exception) -> None:
    error = database_unavailable_logged(exc)
    with translation.override(request_language(headers.get(b"accept-language", b"").decode("latin-1"))):
        body = database_unavailable_page(error).encode()
    response_headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", b"5"),
        *csp_headers(),
    ]
    await send({"type": "http.response.start", "status": error.status_code, "headers": response_headers})
    await send({"type": "http.response.body", "body": body})
    if settings.TIMING_ENABLED:
        request_observe(_route(_prefix_of(scope["path"])), scope["method"], error.status_code, 0.0)
    if settings.ACCESS_LOG_ENABLED:
        peer_host, peer_port = scope.get("client") or ("", None)
        address = client_address_of(peer_host, headers.get(b"x-forwarded-for", b"").decode("latin-1"))
        log_access(address, peer_port, scope["method"], scope["path"], error.status_code, 0.0)


class ShortLinkFastPath:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or not settings.SHORT_LINK_FAST_PATH:
            return await self.app(scope, receive, send)
        key = _key_of(scope["path"])
        if key is None:
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        domain, _port = split_domain_port(headers.get(b"host", b"").decode("latin-1"))
        secure = _is_secure(scope, headers)
        if (
            not domain
            or not validate_host(domain, _allowed_hosts())
            or (settings.SECURE_SSL_REDIRECT and not secure)
            or b"origin" in headers
        ):
            return await self.app(scope, receive, send)

        started = time.perf_counter()
        counted = scope["method"] == "GET"
        visitor = None
        if counted:
            peer_host, _peer_port = scope.get("client") or ("", None)
            visitor = services.Visitor(
                user_agent=headers.get(b"user-agent", b"").decode("latin-1"),
                referer=headers.get(b"referer", b"").decode("latin-1"),
                client=client_address_of(peer_host, headers.get(b"x-forwarded-for", b"").decode("latin-1")),
            )
        try:
            async with outside_request_lifecycle():
                target = await services.short_link_visit(key=key, count=counted, visitor=visitor)
        except ApplicationError:
            return await self.app(scope, receive, send)  # the view renders it in the caller's language
        except DATABASE_UNAVAILABLE_ERRORS as exc:
            # Down, not restarting: Django would wait out the same timeouts again. 503 now.
            return await _send_database_unavailable(scope, headers, send, exc)
        except Exception:  # noqa: BLE001 - e.g. a database restart: let Django answer, with a fresh connection
            return await self.app(scope, receive, send)
        seconds = time.perf_counter() - started

        response_headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", b"0"),
            (b"location", iri_to_uri(target).encode("latin-1")),
            (b"cache-control", b"private, max-age=0"),
            (b"referrer-policy", REDIRECT_REFERRER_POLICY.encode()),
            *_language_headers(scope["path"], headers),
            *_security_headers(secure),
        ]
        if settings.TIMING_ENABLED:
            response_headers += [(name.lower().encode(), value.encode()) for name, value in timing_headers(seconds)]
        await send({"type": "http.response.start", "status": 302, "headers": response_headers})
        await send({"type": "http.response.body", "body": b""})
        if settings.TIMING_ENABLED:
            # As TimingMiddleware counts the requests Django answers.
            request_observe(_route(_prefix_of(scope["path"])), scope["method"], 302, seconds)
        if settings.TIMING_ENABLED and settings.ACCESS_LOG_ENABLED:
            peer_host, peer_port = scope.get("client") or ("", None)
            address = client_address_of(peer_host, headers.get(b"x-forwarded-for", b"").decode("latin-1"))
            log_access(address, peer_port, scope["method"], scope["path"], 302, seconds)
