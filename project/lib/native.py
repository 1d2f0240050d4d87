"""Django's standard middleware, django-csp's and WhiteNoise, run in the event loop.

Under ASGI, Django runs every hook of a `MiddlewareMixin` middleware through
`sync_to_async`: a thread hand-off each (about 70 µs here, and they
serialise), twelve or more per page with the standard stack. WhiteNoise's
middleware is sync-only, which puts everything outside it in a thread and
everything inside it back on the event loop. These subclasses keep each
middleware's own hooks and settings and only change where they run: in the
event loop, which is right because the hooks do no I/O — except in the
cases named below, which still go to a thread, and only when they happen:

- a session this request modified is saved (SessionMiddleware);
- messages this request used or added are stored, which may touch the
  session (MessageMiddleware);
- the CSRF check of an unsafe request reads its form body (CsrfViewMiddleware);
- a static file is opened (StaticFilesMiddleware).

So a page takes one thread hand-off: its (sync) view, which does its
queries and renders its template in that one thread. See
docs/performance.md for what it measured.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from csp import middleware as csp
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.core import checks
from django.http import HttpResponse
from django.middleware import clickjacking, common, csrf, locale, security
from django.test.utils import override_settings
from whitenoise.middleware import WhiteNoiseMiddleware

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class InlineHooks:
    """Mixed in before a `MiddlewareMixin` class: its `process_request` and
    `process_response` run in the event loop; `needs_thread` says when the
    response hook must not (it does I/O then)."""

    async def __acall__(self, request):
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            if self.needs_thread(request, response):
                return await sync_to_async(self.process_response)(request, response)
            return self.process_response(request, response)
        return response

    def needs_thread(self, request, response) -> bool:
        return False


class SecurityMiddleware(InlineHooks, security.SecurityMiddleware):
    pass


class CommonMiddleware(InlineHooks, common.CommonMiddleware):
    pass


class LocaleMiddleware(InlineHooks, locale.LocaleMiddleware):
    pass


class AuthenticationMiddleware(InlineHooks, auth.AuthenticationMiddleware):
    """Sets the lazy `request.user` and `request.auser`: no query until used."""


class XFrameOptionsMiddleware(InlineHooks, clickjacking.XFrameOptionsMiddleware):
    pass


class CSPMiddleware(InlineHooks, csp.CSPMiddleware):
    """django-csp's: a lazy `request.csp_nonce` on the way in, the policy
    header (with the nonce if a template used it) on the way out."""


class SessionMiddleware(InlineHooks, sessions.SessionMiddleware):
    """The session store is lazy; only saving a modified session does I/O."""

    def needs_thread(self, request, response) -> bool:
        session = request.session
        return session.modified or (settings.SESSION_SAVE_EVERY_REQUEST and session.accessed)


class MessageMiddleware(InlineHooks, messages.MessageMiddleware):
    """Storing messages happens only when the request used or added some."""

    def needs_thread(self, request, response) -> bool:
        storage = getattr(request, "_messages", None)
        return storage is not None and (storage.used or storage.added_new)


class CsrfViewMiddleware(InlineHooks, csrf.CsrfViewMiddleware):
    """The token check of an unsafe request may read the request's form body
    (a file on disk under ASGI): in a thread then. Safe requests are only
    marked (and get the cookie on the way out) in the event loop."""

    async def process_view(self, request, callback, callback_args, callback_kwargs):
        view = super().process_view
        if request.method in SAFE_METHODS or getattr(callback, "csrf_exempt", False):
            return view(request, callback, callback_args, callback_kwargs)
        return await sync_to_async(view)(request, callback, callback_args, callback_kwargs)


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, async-capable: a path that is no static file passes on
    without leaving the event loop; a static file is read in one thread
    hand-off (WhiteNoise's file response would take a second: Django reads
    a sync iterator whole in a thread of its own under ASGI anyway)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, **kwargs):
        super().__init__(get_response, **kwargs)
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.async_mode:
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request):
        if self.autorefresh:  # development: files are looked up on disk
            static_file = await sync_to_async(self.find_file)(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is None:
            return await self.get_response(request)
        return await sync_to_async(self.serve_whole)(static_file, request)

    @staticmethod
    def serve_whole(static_file, request) -> HttpResponse:
        """WhiteNoise's answer (headers, ranges, 304s, compressed variants), its body read here."""
        answer = static_file.get_response(request.method, request.META)
        body = b""
        if answer.file is not None:
            with answer.file as handle:
                body = handle.read()
        response = HttpResponse(body, status=int(answer.status))
        del response["Content-Type"]
        for name, value in answer.headers:
            response[name] = value
        return response


# Django's deploy checks look for its own dotted paths in MIDDLEWARE, so
# with these subclasses they would report three middleware missing
# (security.W001-W003, silenced in project/settings.py) and skip every check
# that needs one (HSTS, SSL redirect, nosniff, X-Frame-Options, referrer
# and opener policies, secure and HttpOnly cookies). The check below runs
# exactly those against MIDDLEWARE with Django's paths in place of ours.
STANDARD_PATHS = {
    f"{__name__}.SecurityMiddleware": "django.middleware.security.SecurityMiddleware",
    f"{__name__}.SessionMiddleware": "django.contrib.sessions.middleware.SessionMiddleware",
    f"{__name__}.CsrfViewMiddleware": "django.middleware.csrf.CsrfViewMiddleware",
    f"{__name__}.XFrameOptionsMiddleware": "django.middleware.clickjacking.XFrameOptionsMiddleware",
}
SILENCED = ("security.W001", "security.W002", "security.W003")


@checks.register(checks.Tags.security, deploy=True)
def check_standard_middleware_security(app_configs, **kwargs):
    from django.core.checks.security import base, csrf, sessions

    gated = [
        base.check_security_middleware,
        base.check_xframe_options_middleware,
        base.check_sts,
        base.check_sts_include_subdomains,
        base.check_sts_preload,
        base.check_content_type_nosniff,
        base.check_ssl_redirect,
        base.check_xframe_deny,
        base.check_referrer_policy,
        base.check_cross_origin_opener_policy,
        csrf.check_csrf_middleware,
        csrf.check_csrf_cookie_secure,
        sessions.check_session_cookie_secure,
        sessions.check_session_cookie_httponly,
    ]
    standard = [STANDARD_PATHS.get(path, path) for path in settings.MIDDLEWARE]
    found = []
    with override_settings(MIDDLEWARE=standard):
        for check in gated:
            found += check(app_configs)
    # The silenced IDs, when they really apply, are reported under ours.
    return [
        type(message)(message.msg, hint=message.hint, id=f"pan.{message.id}") if message.id in SILENCED else message
        for message in found
    ]
