"""Pan's own middleware: timing, access log and request metrics, and rate limiting.

Both are plain classes that run natively in either mode: under ASGI with
async views they take no thread hop of their own (see STYLE.md and
PERFORMANCE-FACTS.md). Settings: see the "Middleware" section of
`project/settings.py`; behaviour is written down in docs/middleware.md.
"""

import logging
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from project.lib.error_pages import error_page, wants_json
from project.lib.errors import (
    DATABASE_UNAVAILABLE_ERRORS,
    ApplicationError,
    TooManyRequests,
    database_unavailable_logged,
    error_body,
)
from project.lib.hybrid import HybridMiddleware
from project.lib.metrics import request_observe
from project.lib.net import client_address, client_key, forwarded_proto_believed
from project.ratelimit import (
    CACHE_ERRORS,
    RATE_LIMIT_DECISION,
    cache_is_local,
    rate_limit_hit,
    rulebook,
    warn_cache_unreachable,
)

access_log = logging.getLogger("pan.access")


class TimingMiddleware(HybridMiddleware):
    """`X-Process-Time` and `Server-Timing` on every response, and one access-log line.

    Placed first in MIDDLEWARE, it sees the response Django made from any
    exception below it (404, 500 pages), and the 429s of the rate limiter.
    The time is until the response object exists: a streamed body keeps
    flowing after it.
    """

    def __init__(self, get_response):
        if not settings.TIMING_ENABLED:
            raise MiddlewareNotUsed
        self.log_enabled = settings.ACCESS_LOG_ENABLED
        super().__init__(get_response)

    def handle(self, request):
        started = request.started_at = time.perf_counter()
        response = self.get_response(request)
        self._finish(request, response, time.perf_counter() - started)
        return response

    async def __acall__(self, request):
        # `started_at` lets a view with a deadline count what the middleware
        # below already spent (project/status.py).
        started = request.started_at = time.perf_counter()
        response = await self.get_response(request)
        self._finish(request, response, time.perf_counter() - started)
        return response

    def _finish(self, request, response, seconds: float) -> None:
        for name, value in timing_headers(seconds):
            response[name] = value
        request_observe(route_label(request, response.status_code), request.method, response.status_code, seconds)
        if self.log_enabled:
            port = request.META.get("REMOTE_PORT")
            log_access(client_address(request), port, request.method, request.path, response.status_code, seconds)


class ForwardedProtoMiddleware(HybridMiddleware):
    """`X-Forwarded-Proto` counts only from a proxy in `TRUSTED_PROXIES` (D13).

    With `BEHIND_TLS_PROXY` Django believes `X-Forwarded-Proto: https`
    (SECURE_PROXY_SSL_HEADER) for `request.is_secure()`: the HTTPS redirect,
    HSTS, absolute URLs. From any other peer the header is removed here,
    before anything asks, so a client that reaches the server directly over
    plain HTTP is treated as plain HTTP whatever it claims.
    """

    def handle(self, request):
        self._forget_untrusted(request)
        return self.get_response(request)

    async def __acall__(self, request):
        self._forget_untrusted(request)
        return await self.get_response(request)

    @staticmethod
    def _forget_untrusted(request) -> None:
        if "HTTP_X_FORWARDED_PROTO" in request.META and not forwarded_proto_believed(
            request.META.get("REMOTE_ADDR", "")
        ):
            del request.META["HTTP_X_FORWARDED_PROTO"]


def route_label(request, status: int) -> str:
    """The URL pattern of the request (`/api/shares/<unique:unique_name>`),
    never the raw path: metrics labels must stay few.

    A middleware that answered before Django resolved the URL (the rate
    limiter's 429, the database's 503) leaves no match: the path is resolved
    here then. Static files (WhiteNoise, before any resolving) are one label;
    paths that match nothing another.
    """
    match = request.resolver_match
    if match is None:
        if request.path.startswith(settings.STATIC_URL):
            return "(static)"
        if status == 404:
            return "(unmatched)"  # Django's own resolving failed: no need to try again
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return "(unmatched)"
    return "/" + match.route


def timing_headers(seconds: float) -> list[tuple[str, str]]:
    return [("X-Process-Time", f"{seconds:.6f}"), ("Server-Timing", f"app;dur={seconds * 1000:.3f}")]


def log_access(address: str, port, method: str, path: str, status: int, seconds: float) -> None:
    """One access-log line. The path only: query strings carry share codes and tokens."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    port = "-" if port is None else port
    access_log.info(
        "%s:%s %s %s %s %.3fms",
        address,
        port,
        method,
        path,
        status,
        seconds * 1000,
        extra={
            "client_address": address,
            "client_port": port,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": seconds * 1000,
        },
    )


class RateLimitMiddleware(HybridMiddleware):
    """Per-prefix limits per user (signed in) or per client address (anyone else).

    One counter per request: a signed-in user is counted as that user only,
    so people behind one NAT do not share a budget, and an anonymous client
    by its address (IPv6 by /64). See project/ratelimit.py for the window.
    """

    def __init__(self, get_response):
        if not settings.RATE_LIMIT_ENABLED:
            raise MiddlewareNotUsed
        super().__init__(get_response)

    # --- who is asking ----------------------------------------------------

    @staticmethod
    def _authorization(request) -> bytes:
        return request.META.get("HTTP_AUTHORIZATION", "").encode("latin-1")

    @classmethod
    def _bearer_user_id(cls, request) -> str | None:
        """The user id of a valid JWT access token (checked without the database) or
        API key (one indexed query: accounts/authentication.py). A `pan_` token is
        never handed to simplejwt; an invalid key counts by the client's address."""
        from accounts.authentication import api_key_attempted, api_key_owner_id
        from project.lib.bodies import bearer_user_id

        authorization = cls._authorization(request)
        if api_key_attempted(authorization):
            try:
                return api_key_owner_id(authorization)
            except DATABASE_UNAVAILABLE_ERRORS:
                return None  # counted by address; the view answers 503 (DatabaseUnavailableMiddleware)
        return bearer_user_id(authorization)

    @classmethod
    async def _abearer_user_id(cls, request) -> str | None:
        from accounts.authentication import api_key_attempted, api_key_owner_id
        from project.lib.bodies import bearer_user_id

        authorization = cls._authorization(request)
        if api_key_attempted(authorization):
            try:
                return await sync_to_async(api_key_owner_id)(authorization)
            except DATABASE_UNAVAILABLE_ERRORS:
                return None
        return bearer_user_id(authorization)

    @staticmethod
    def _has_session(request) -> bool:
        return settings.SESSION_COOKIE_NAME in request.COOKIES and hasattr(request, "user")

    def _identity(self, request) -> str:
        user_id = self._bearer_user_id(request)
        if user_id is None and self._has_session(request) and request.user.is_authenticated:
            user_id = str(request.user.pk)
        return f"user:{user_id}" if user_id is not None else f"addr:{client_key(client_address(request))}"

    async def _aidentity(self, request) -> str:
        user_id = await self._abearer_user_id(request)
        if user_id is None and self._has_session(request):
            user = await request.auser()
            if user.is_authenticated:
                user_id = str(user.pk)
        return f"user:{user_id}" if user_id is not None else f"addr:{client_key(client_address(request))}"

    # --- the two paths ----------------------------------------------------

    @staticmethod
    def _taken(request):
        """The decision the fast path took before it left this request to Django (project/fast_path.py)."""
        return getattr(request, "scope", {}).get(RATE_LIMIT_DECISION)

    def handle(self, request):
        rule = rulebook().rule_for(request.path, request.method)
        if rule is None:
            return self.get_response(request)
        decision = self._taken(request)
        try:
            if decision is None:
                decision = rate_limit_hit(rule=rule, identity=self._identity(request))
        except CACHE_ERRORS as exc:
            warn_cache_unreachable(exc)
            return self.get_response(request)
        response = self.get_response(request) if decision.allowed else self._refusal(request, decision)
        return self._stamp(response, decision)

    async def __acall__(self, request):
        rule = rulebook().rule_for(request.path, request.method)
        if rule is None:
            return await self.get_response(request)
        decision = self._taken(request)
        if decision is None:
            identity = await self._aidentity(request)
            try:
                if cache_is_local():
                    # A dict behind a lock: cheaper than any thread hand-off.
                    decision = rate_limit_hit(rule=rule, identity=identity)
                else:
                    # Network I/O: off the event loop, in one hop for all round trips.
                    decision = await sync_to_async(rate_limit_hit, thread_sensitive=False)(rule=rule, identity=identity)
            except CACHE_ERRORS as exc:
                warn_cache_unreachable(exc)
                return await self.get_response(request)
        if decision.allowed:
            response = await self.get_response(request)
        else:
            # The page's context processors may touch the session and user.
            response = await sync_to_async(self._refusal)(request, decision)
        return self._stamp(response, decision)

    # --- answers ----------------------------------------------------------

    @staticmethod
    def _refusal(request, decision):
        message = _("Too many requests. Please slow down and try again shortly.")
        return error_page(request, TooManyRequests(message, retry_after=decision.retry_after))

    @staticmethod
    def _stamp(response, decision):
        # A view that reports a tighter limit of its own (share codes, logins)
        # keeps its headers: the client should see the limit nearest to biting.
        for name, value in decision.headers().items():
            response.setdefault(name, value)
        return response


class DatabaseUnavailableMiddleware(HybridMiddleware):
    """503, not 500, when the database cannot be reached (SPEC §8).

    With the connect and pool timeouts of project/settings.py that comes
    within seconds. DRF views get the same answer from the API's exception
    handler (project/lib/errors.py); this covers page views and async views
    (`process_exception`), and a request with a session cookie, whose user
    is looked up here, before the rate limiter below would look it up and
    fail (an error raised inside another middleware never reaches
    `process_exception`: Django turns it into its 500 page first). The
    lookup is cached on the request, so it costs no extra query.

    JSON on API paths and for JSON clients, else a page built like
    templates/500.html: no base layout and no context processors, whose
    session user would ask the database again.
    """

    def handle(self, request):
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            try:
                request.user.is_authenticated  # noqa: B018 - loads the session and its user
            except DATABASE_UNAVAILABLE_ERRORS as exc:
                return self._unavailable(request, exc)
        return self.get_response(request)

    async def __acall__(self, request):
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            try:
                await request.auser()
            except DATABASE_UNAVAILABLE_ERRORS as exc:
                return self._unavailable(request, exc)
        return await self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_UNAVAILABLE_ERRORS):
            return None
        return self._unavailable(request, exception)

    @staticmethod
    def _unavailable(request, exc: Exception) -> HttpResponse:
        error = database_unavailable_logged(exc)
        if wants_json(request):
            return JsonResponse(error_body(error.code, error.message), status=error.status_code)
        return HttpResponse(database_unavailable_page(error), status=error.status_code)


class ServiceErrorMiddleware(HybridMiddleware):
    """A service error no page view answered itself becomes its answer, in one place.

    `ApplicationError`s (project/lib/errors.py) that leave a page view (a
    code over the guessing limits: `CodeGuessingLimited`, 429 with
    `Retry-After`; a request that is gone; ...) are `error_page(request, exc)`:
    the site's error page, or the API's JSON error shape for API paths and
    JSON clients, never Django's 500. DRF views answer their own errors
    (project/lib/errors.py `api_exception_handler`); views that show their
    own form again with the error still catch it and use `page_with_error`.
    """

    def process_exception(self, request, exception):
        if not isinstance(exception, ApplicationError):
            return None
        return error_page(request, exception)


def database_unavailable_page(error) -> str:
    """The 503 page, built without the layout (which would ask the database
    for the session's user again), in the active language."""
    return format_html(
        '<!DOCTYPE html>\n<html lang="{}">\n<head><meta charset="utf-8"><title>{}</title>'
        '<link rel="stylesheet" href="{}css/site.css"></head>\n'
        '<body><main class="content"><section class="error-page">\n'
        '  <h1>{}</h1>\n  <p>{}</p>\n  <p><a href="/">{}</a></p>\n</section></main></body>\n</html>\n',
        get_language(),
        error.status_code,
        settings.STATIC_URL,
        error.status_code,
        error.message,
        _("Back to the home page"),
    )
