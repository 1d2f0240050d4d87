"""Answers in front of Django's middleware: short-link redirects, kept share pages, plain link creation.

Three kinds of request need nothing from the middleware stack but what this
module gives them, and are most of what a busy site answers:

- **a successful short-link redirect** (`GET`/`HEAD` of `/s/<key>` and
  `/short/<key>`), answered by the same service the Django view calls
  (`shortener.services.short_link_visit`);
- **a kept share page** (`GET`/`HEAD` of `/f/<id>/` from a visitor without
  a session): the locked page every such visitor sees, as the view kept
  it in the cache (`pan.page_cache.kept_parts`), with this visitor's own
  CSRF token and cookie;
- **a plain short-link creation** (`POST /api/short` with a JSON body of
  only `{"url": "…"}`, from a client with no `Authorization` and no
  session: what scripts and the bench send), made by the same service the
  DRF view calls (`shortener.services.short_link_create`) and answered
  with the same JSON.

Passing through the stack cost about 60 % of the redirect's throughput,
half of the kept page's and more than half of creation's
(docs/performance.md). Each answer carries
the headers the stack would have added: the answer's own, the security
headers (the Content-Security-Policy too), the language and `Vary` of
the locale, CSRF and CORS middleware, the rate limiter's headers where a
rule applies, and the timing headers, metrics and access-log line of
`project.middleware` (shortener/tests/test_fast_path.py,
project/tests/test_fast_path_page.py and
project/tests/test_fast_path_create.py compare every header with Django's).

Everything else goes to Django unchanged: anything the services refuse
(404/410 pages and JSON in the caller's language come from the views), a
page not kept, a visitor with a session or a `?code=`, a host not in
ALLOWED_HOSTS, a plain-HTTP request that must be redirected to HTTPS, a
request with an `Origin` (CORS decides), a request over its rate limit
(Django's 429 page, counted once: the decision travels in the scope), and
a creation with anything more than a URL, a body that is not small JSON
(Django parses it, refuses it in the caller's language; the body read
here is handed on unchanged), and any path switched off
(`SHORT_LINK_FAST_PATH=false`, `SHARE_PAGE_FAST_PATH=false`,
`SHORT_LINK_CREATE_FAST_PATH=false`, or no kept pages:
`PAN_SHARE_PAGE_CACHE_SECONDS=0`).

Redirects run in `project.lib.request_context.outside_request_lifecycle`:
one thread of its own for the ORM's sync work, whatever context the request
inherited, whose database connection goes back to the pool before the
redirect is sent, as `request_finished` does for a view; creations too,
with the audit log told who is acting (`audit.middleware.serving`: an
anonymous client from its address), as AuditContextMiddleware tells it.
Before that
(issue 20, R5) it used asgiref's one shared thread, and on a pipelined
keep-alive connection under uvicorn a thread nothing ever finished: each
such redirect kept a pooled connection for good. A kept page asks only
the cache: in the event loop when the cache is this process's memory, in
one thread hop when it is Redis.

This is the site layer (it composes two apps), so it may call the
middleware's own functions rather than copies of them.
"""

import json
import logging
import re
import time
from functools import cache, cached_property
from types import SimpleNamespace
from urllib.parse import parse_qsl

from asgiref.sync import sync_to_async
from corsheaders.conf import conf as cors_conf
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.http.cookie import parse_cookie
from django.http.request import split_domain_port, validate_host
from django.middleware.csrf import (
    CsrfViewMiddleware,
    InvalidTokenFormat,
    _get_new_csrf_string,
    _mask_cipher_secret,
)
from django.urls import resolve, reverse
from django.utils import translation
from django.utils.encoding import iri_to_uri
from rest_framework.renderers import JSONRenderer

from audit.middleware import serving
from pan import page_cache
from project.lib.bodies import request_language
from project.lib.converters import UniqueNameConverter
from project.lib.csp import csp_headers
from project.lib.errors import DATABASE_UNAVAILABLE_ERRORS, ApplicationError, database_unavailable_logged
from project.lib.metrics import request_observe
from project.lib.net import client_address_of, client_key, connection_is_secure
from project.lib.optional_cache import cache_is_local
from project.lib.request_context import outside_request_lifecycle
from project.middleware import database_unavailable_page, log_access, timing_headers
from project.ratelimit import CACHE_ERRORS, RATE_LIMIT_DECISION, rate_limit_hit, rulebook, warn_cache_unreachable
from project.ratelimit import cache_is_local as limits_are_local
from shortener import services as short_links
from shortener.models import KEY_PATTERN
from shortener.serializers import short_link_body
from shortener.views import REDIRECT_REFERRER_POLICY

SHORT_LINK_PREFIXES = ("/s/", "/short/")
SHARE_PAGE = re.compile(rf"/f/({UniqueNameConverter.regex})/")
CREATE_PATH = "/api/short"

logger = logging.getLogger(__name__)
# The JSON bodies a plain creation is read as here: anything else is DRF's to parse.
CREATE_CONTENT_TYPES = (b"application/json", b"application/json; charset=utf-8", b"application/json;charset=utf-8")
CREATE_MAX_BODY = 16 * 1024  # a URL of TARGET_MAX_LENGTH in JSON, escaped, fits


def _short_link_key(path: str) -> str | None:
    for prefix in SHORT_LINK_PREFIXES:
        if path.startswith(prefix):
            key = path[len(prefix) :]
            return key if KEY_PATTERN.match(key) else None
    return None


@cache
def _route(path: str) -> str:
    """The metrics route of `path`'s pattern, as TimingMiddleware names it
    when Django answers (callers pass one sample path per pattern)."""
    return "/" + resolve(path).route


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


class Visit:
    """One request the fast path may answer, parsed once."""

    def __init__(self, scope, *, route: str):
        self.scope = scope
        self.method = scope["method"]
        self.path = scope["path"]
        self.route = route
        self.headers = dict(scope.get("headers") or [])
        self.started = time.perf_counter()

    def header(self, name: bytes) -> str:
        return self.headers.get(name, b"").decode("latin-1")

    @cached_property
    def secure(self) -> bool:
        return _is_secure(self.scope, self.headers)

    def for_django(self) -> bool:
        """A host Django refuses, an HTTPS redirect to make, or CORS to decide: Django's to answer."""
        domain, _port = split_domain_port(self.header(b"host"))
        return (
            not domain
            or not validate_host(domain, _allowed_hosts())
            or (settings.SECURE_SSL_REDIRECT and not self.secure)
            or b"origin" in self.headers
        )

    @cached_property
    def cookies(self) -> dict[str, str]:
        return parse_cookie(self.header(b"cookie"))

    @cached_property
    def language(self) -> str:
        """The language LocaleMiddleware would activate: its cookie, then Accept-Language."""
        request = SimpleNamespace(COOKIES=self.cookies, META={"HTTP_ACCEPT_LANGUAGE": self.header(b"accept-language")})
        return translation.get_language_from_request(request, check_path=False)

    @cached_property
    def client(self) -> str:
        peer_host, _peer_port = self.scope.get("client") or ("", None)
        return client_address_of(peer_host, self.header(b"x-forwarded-for"))

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def security_headers(self, *, referrer_policy: str | None = None) -> list[tuple[bytes, bytes]]:
        """What SecurityMiddleware, XFrameOptionsMiddleware and the
        Content-Security-Policy middleware add (`referrer_policy`: the
        answer's own, which SecurityMiddleware leaves alone)."""
        headers = []
        if referrer_policy := referrer_policy or settings.SECURE_REFERRER_POLICY:
            headers.append((b"referrer-policy", referrer_policy.encode()))
        if settings.SECURE_CONTENT_TYPE_NOSNIFF:
            headers.append((b"x-content-type-options", b"nosniff"))
        if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
            headers.append((b"cross-origin-opener-policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()))
        if self.secure and settings.SECURE_HSTS_SECONDS:
            hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
            if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
                hsts += "; includeSubDomains"
            if settings.SECURE_HSTS_PRELOAD:
                hsts += "; preload"
            headers.append((b"strict-transport-security", hsts.encode()))
        headers.append((b"x-frame-options", settings.X_FRAME_OPTIONS.encode()))
        headers += csp_headers()
        return headers

    def vary(self, *first: str, last: tuple[str, ...] = ()) -> bytes:
        """`Vary` as `first` (the CSRF cookie's), LocaleMiddleware, CorsMiddleware
        and `last` (the session's, for an API view that looked for a user) leave it."""
        vary = [*first, "Accept-Language"]
        if re.match(cors_conf.CORS_URLS_REGEX, self.path):
            vary.append("origin")
        return ", ".join([*vary, *last]).encode()

    async def send(self, send, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> None:
        """The answer, with the timing headers, metrics and access-log line of TimingMiddleware."""
        seconds = self.elapsed()
        if settings.TIMING_ENABLED:
            headers = headers + [(name.lower().encode(), value.encode()) for name, value in timing_headers(seconds)]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if self.method == "HEAD" else body})
        self.observe(status, seconds)

    def observe(self, status: int, seconds: float) -> None:
        if not settings.TIMING_ENABLED:
            return
        request_observe(_route(self.route), self.method, status, seconds)
        if settings.ACCESS_LOG_ENABLED:
            _peer_host, peer_port = self.scope.get("client") or ("", None)
            log_access(self.client, peer_port, self.method, self.path, status, seconds)


async def _send_database_unavailable(visit: Visit, send, exc: Exception) -> None:
    error = database_unavailable_logged(exc)
    with translation.override(request_language(visit.header(b"accept-language"))):
        body = database_unavailable_page(error).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"5"),
                *csp_headers(),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
    visit.observe(error.status_code, 0.0)


# --- the CSRF token of a kept page ----------------------------------------

_CSRF = CsrfViewMiddleware(lambda request: None)


def _csrf_token_and_cookie(visit: Visit) -> tuple[str, list[tuple[bytes, bytes]]] | None:
    """The form token and the `Set-Cookie` that `get_token` and
    CsrfViewMiddleware give a page that uses the token: the visitor's
    secret, or a new one, sent again either way (Django renews its expiry
    on every use). None for a cookie Django would refuse: Django answers."""
    request = SimpleNamespace(COOKIES=visit.cookies, META={})
    try:
        secret = _CSRF._get_secret(request)
    except InvalidTokenFormat:
        return None
    request.META["CSRF_COOKIE"] = secret or _get_new_csrf_string()
    response = HttpResponse()
    _CSRF._set_csrf_cookie(request, response)
    cookies = [(b"set-cookie", morsel.output(header="").strip().encode()) for morsel in response.cookies.values()]
    return _mask_cipher_secret(request.META["CSRF_COOKIE"]), cookies


def _kept_page_for_anyone(visit: Visit) -> bool:
    """As `pan.page_cache.keepable`, from the raw request: no session, no
    messages, no `?code=`; and no token, which the rate limiter would count
    as its user's rather than by address."""
    cookies = visit.cookies
    if settings.SESSION_COOKIE_NAME in cookies or "messages" in cookies or settings.CSRF_USE_SESSIONS:
        return False
    if b"authorization" in visit.headers:
        return False
    query = visit.scope.get("query_string", b"").decode("latin-1")
    return not any(name == "code" for name, _value in parse_qsl(query, keep_blank_values=True))


class FastPath:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["method"] == "POST" and scope["path"] == CREATE_PATH and settings.SHORT_LINK_CREATE_FAST_PATH:
            visit = Visit(scope, route=CREATE_PATH)
            if not visit.for_django() and _anonymous_json(visit):
                return await self._create(visit, scope, receive, send)
            return await self.app(scope, receive, send)
        if scope["method"] not in ("GET", "HEAD"):
            return await self.app(scope, receive, send)
        path = scope["path"]
        if settings.SHORT_LINK_FAST_PATH and (key := _short_link_key(path)) is not None:
            prefix = next(prefix for prefix in SHORT_LINK_PREFIXES if path.startswith(prefix))
            visit = Visit(scope, route=f"{prefix}key")
            if not visit.for_django():
                return await self._redirect(visit, key, scope, receive, send)
        elif (
            settings.SHARE_PAGE_FAST_PATH
            and settings.PAN_SHARE_PAGE_CACHE_SECONDS > 0
            and (match := SHARE_PAGE.fullmatch(path)) is not None
        ):
            visit = Visit(scope, route="/f/x/")
            if not visit.for_django() and _kept_page_for_anyone(visit):
                return await self._share_page(visit, match.group(1), scope, receive, send)
        return await self.app(scope, receive, send)

    async def _redirect(self, visit: Visit, key: str, scope, receive, send):
        counted = visit.method == "GET"
        visitor = None
        if counted:
            visitor = short_links.Visitor(
                user_agent=visit.header(b"user-agent"), referer=visit.header(b"referer"), client=visit.client
            )
        try:
            async with outside_request_lifecycle():
                target = await short_links.short_link_visit(key=key, count=counted, visitor=visitor)
        except ApplicationError:
            return await self.app(scope, receive, send)  # the view renders it in the caller's language
        except DATABASE_UNAVAILABLE_ERRORS as exc:
            # Down, not restarting: Django would wait out the same timeouts again. 503 now.
            return await _send_database_unavailable(visit, send, exc)
        except Exception:  # noqa: BLE001 - e.g. a database restart: let Django answer, with a fresh connection
            return await self.app(scope, receive, send)
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", b"0"),
            (b"location", iri_to_uri(target).encode("latin-1")),
            (b"cache-control", b"private, max-age=0"),
            (b"vary", visit.vary()),
            (b"content-language", visit.language.encode()),
            *visit.security_headers(referrer_policy=REDIRECT_REFERRER_POLICY),
        ]
        await visit.send(send, 302, headers)

    async def _share_page(self, visit: Visit, unique_name: str, scope, receive, send):
        language = visit.language
        if cache_is_local():
            parts = page_cache.kept_parts(unique_name=unique_name, language=language, path=visit.path)
        else:
            # Network I/O: off the event loop, both reads in one hop.
            parts = await sync_to_async(page_cache.kept_parts, thread_sensitive=False)(
                unique_name=unique_name, language=language, path=visit.path
            )
        csrf = _csrf_token_and_cookie(visit) if parts is not None else None
        if csrf is None:
            return await self.app(scope, receive, send)
        limit_headers = []
        if settings.RATE_LIMIT_ENABLED and (rule := rulebook().rule_for(visit.path, visit.method)) is not None:
            decision = await _rate_limit_hit(rule, f"addr:{client_key(visit.client)}")
            if decision is not None and not decision.allowed:
                return await self.app({**scope, RATE_LIMIT_DECISION: decision}, receive, send)
            if decision is not None:
                limit_headers = [(name.lower().encode(), value.encode()) for name, value in decision.headers().items()]
        token, cookie_headers = csrf
        body = token.join(parts).encode()
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"vary", visit.vary("Cookie")),
            (b"content-language", language.encode()),
            *cookie_headers,
            *limit_headers,
            *visit.security_headers(),
        ]
        await visit.send(send, 200, headers, body)

    async def _create(self, visit: Visit, scope, receive, send):
        body, receive = await _body_and_replay(receive, int(visit.header(b"content-length")))
        url = _plain_url(body)
        if url is None:
            return await self.app(scope, receive, send)  # DRF parses it and answers, in the caller's language
        limit_headers = []
        if settings.RATE_LIMIT_ENABLED and (rule := rulebook().rule_for(visit.path, visit.method)) is not None:
            decision = await _rate_limit_hit(rule, f"addr:{client_key(visit.client)}")
            if decision is not None:
                # Counted once: whoever answers from here on reads this decision.
                scope = {**scope, RATE_LIMIT_DECISION: decision}
                if not decision.allowed:
                    return await self.app(scope, receive, send)
                limit_headers = [(name.lower().encode(), value.encode()) for name, value in decision.headers().items()]
        host = visit.header(b"host")
        made = None
        try:
            async with outside_request_lifecycle():
                made = await sync_to_async(_create_plain)(url=url, host=host, visit=visit)
        except Exception:  # noqa: BLE001 - a refusal or the database (nothing written): the view answers it
            if made is None:
                return await self.app(scope, receive, send)
            logger.warning("giving a creation's connection back failed", exc_info=True)
        link, created = made
        base = f"{'https' if visit.secure else 'http'}://{host}"
        answer = short_link_body(
            link,
            short_url=short_links.short_link_url(key=link.key, base_url=f"{base}/"),
            qr_svg_url=base + reverse("api-short-link-qr-svg", kwargs={"key": link.key}),
            qr_png_url=base + reverse("api-short-link-qr-png", kwargs={"key": link.key}),
        )
        content = JSONRenderer().render(answer)
        headers = [
            (b"content-type", b"application/json"),
            (b"allow", b"GET, POST, HEAD, OPTIONS"),
            (b"content-length", str(len(content)).encode()),
            (b"vary", visit.vary(last=("Cookie",))),
            (b"content-language", visit.language.encode()),
            *limit_headers,
            *visit.security_headers(),
        ]
        await visit.send(send, 201 if created else 200, headers, content)


def _anonymous_json(visit: Visit) -> bool:
    """A small JSON body announced by its length, from a client the API would see as anonymous:
    no token (API key, JWT) and no session cookie (whose user DRF would look up)."""
    if b"authorization" in visit.headers or settings.SESSION_COOKIE_NAME in visit.cookies:
        return False
    if visit.headers.get(b"content-type", b"").lower() not in CREATE_CONTENT_TYPES:
        return False
    length = visit.header(b"content-length")
    return length.isdigit() and 0 < int(length) <= CREATE_MAX_BODY and b"transfer-encoding" not in visit.headers


async def _body_and_replay(receive, length: int):
    """The request's body (at most `length` bytes are waited for), and a
    `receive` that hands Django the same messages again, then the rest."""
    messages, size = [], 0
    while size < length:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = b"".join(message.get("body", b"") for message in messages if message["type"] == "http.request")

    async def replay():
        return messages.pop(0) if messages else await receive()

    return body, replay


def _plain_url(body: bytes) -> str | None:
    """The URL of `{"url": "…"}` and nothing else; None for anything DRF
    should parse and judge (other fields, not a string, bad JSON, not
    UTF-8 — which DRF's parser refuses where `json.loads` would guess —,
    NUL or a lone surrogate, which its field refuses with its own message)."""
    try:
        data = json.loads(body.decode())
    except ValueError:  # UnicodeDecodeError too
        return None
    if not isinstance(data, dict) or data.keys() != {"url"} or not isinstance(data["url"], str):
        return None
    url = data["url"]
    try:
        url.encode()
    except UnicodeEncodeError:
        return None
    return url if url and "\x00" not in url else None


def _create_plain(*, url: str, host: str, visit: Visit):
    """`short_link_create` for an anonymous client, with the audit log told who acts (as AuditContextMiddleware)."""
    request = HttpRequest()
    request.user = AnonymousUser()
    peer_host, _peer_port = visit.scope.get("client") or ("", None)
    request.META = {"REMOTE_ADDR": peer_host, "HTTP_X_FORWARDED_FOR": visit.header(b"x-forwarded-for")}
    with serving(request):
        return short_links.short_link_create(url=url, owner=None, request_host=host)


async def _rate_limit_hit(rule, identity: str):
    """RateLimitMiddleware's decision for an anonymous visitor; None while the cache is down (let through)."""
    try:
        if limits_are_local():
            return rate_limit_hit(rule=rule, identity=identity)
        return await sync_to_async(rate_limit_hit, thread_sensitive=False)(rule=rule, identity=identity)
    except CACHE_ERRORS as exc:
        warn_cache_unreachable(exc)
        return None
