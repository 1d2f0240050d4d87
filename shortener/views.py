"""The short-link redirect (async, the hot path) and the `/short/` page."""

from urllib.parse import urlsplit, urlunsplit

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.encoding import uri_to_iri
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from project.lib.csp import csp_replace_on
from project.lib.error_pages import error_page, page_with_error, wants_json
from project.lib.errors import ApplicationError, TooManyRequests, ValidationFailed
from project.lib.net import client_address
from project.lib.secrets import PasswordRejected, PasswordRequired

from . import selectors, services
from .errors import LinkNotFound, LinkPasswordRequired
from .forms import ShortenForm
from .models import KEY_PATTERN, ShortLink

# The target learns nothing about where the link was clicked or that it was
# a Pan short link; the redirect itself is never stored by shared caches.
REDIRECT_REFERRER_POLICY = "no-referrer"
# The password page's form is answered with a redirect to the link's target
# (any http(s) site), which browsers check against the page's form-action.
PASSWORD_PAGE_FORM_ACTION = {"form-action": ["'self'", "https:", "http:"]}


def target_for_display(url: str) -> str:
    """A stored target as people read it (an IRI): percent-encoded UTF-8 and
    punycode host labels decoded. For display only; the redirect uses the URL."""
    parts = urlsplit(uri_to_iri(url))
    labels = []
    for label in (parts.hostname or "").split("."):
        try:
            labels.append(label.encode("ascii").decode("idna") if label.startswith("xn--") else label)
        except UnicodeError:
            labels.append(label)
    if not parts.hostname:
        return urlunsplit(parts)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else ".".join(labels)
    netloc = parts.netloc.rsplit("@", 1)
    at = netloc[0] + "@" if len(netloc) == 2 else ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{at}{host}{port}"))


async def _password_page(request, key: str, exc: ApplicationError):
    error = None if isinstance(exc, LinkPasswordRequired) or request.method != "POST" else exc.message
    context = {"key": key, "error": error}
    # Templates touch the session (user, messages): render in a thread.
    response = await sync_to_async(page_with_error)(request, "shortener/link_password.html", context, exc)
    response["Cache-Control"] = "private, no-store"
    return csp_replace_on(response, PASSWORD_PAGE_FORM_ACTION)


def visitor_of(request) -> services.Visitor:
    return services.Visitor(
        user_agent=request.headers.get("User-Agent", ""),
        referer=request.headers.get("Referer", ""),
        client=client_address(request),
    )


@require_http_methods(["GET", "HEAD", "POST"])
async def short_link_redirect(request, key: str):
    """GET /s/<key> and /short/<key>: 302 to the target, counting the visit.

    HEAD answers the same without counting. 404 unknown, 410 expired, paused
    or over its visit limit: a page for browsers, JSON for API clients. A
    link with a password shows a small form (401) that POSTs here; the
    right password redirects (and counts), within the guessing limits of
    share codes. The password never travels in a URL.
    """
    password_checked = False
    try:
        if not KEY_PATTERN.match(key):
            raise LinkNotFound()
        if request.method == "POST":
            link = await ShortLink.objects.filter(key=key).afirst()
            if link is None:
                raise LinkNotFound()
            if not link.password:
                return HttpResponseNotAllowed(["GET", "HEAD"])  # only the password form posts here
            await sync_to_async(services.short_link_password_check)(
                link=link, password=request.POST.get("password", ""), client=client_address(request)
            )
            password_checked = True
        target = await services.short_link_visit(
            key=key,
            count=request.method != "HEAD",
            visitor=visitor_of(request),
            password_checked=password_checked,
        )
    except (LinkPasswordRequired, PasswordRequired, PasswordRejected, TooManyRequests) as exc:
        if wants_json(request) and isinstance(exc, LinkPasswordRequired):
            return await sync_to_async(error_page)(request, exc)  # the API's JSON error
        return await _password_page(request, key, exc)
    except ApplicationError as exc:
        return await sync_to_async(error_page)(request, exc)
    response = HttpResponseRedirect(target)
    response["Cache-Control"] = "private, max-age=0"
    response["Referrer-Policy"] = REDIRECT_REFERRER_POLICY
    return response


@require_http_methods(["GET", "POST"])
def shorten_page(request):
    """/short/: shorten a URL in the browser; the result comes with a copy button and a QR code."""
    form = ShortenForm(request.POST or None)
    context = {"form": form}
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            delta = form.expires_delta()
            try:
                link, _created = services.short_link_create(
                    url=form.cleaned_data["url"],
                    slug=form.cleaned_data["slug"] or None,
                    expires_at=timezone.now() + delta if delta else None,
                    max_visits=form.cleaned_data["max_visits"],
                    owner=request.user,
                    request_host=request.get_host(),
                )
            except ApplicationError as exc:
                for field, field_messages in exc.fields.items():
                    for message in field_messages:
                        form.add_error(field if field in form.fields else None, message)
                if not exc.fields:
                    form.add_error(None, exc.message)
                status = exc.status_code
            else:
                short_url = services.short_link_url(key=link.key, base_url=request.build_absolute_uri("/"))
                context["result"] = {
                    "link": link,
                    "short_url": short_url,
                    # segno's own SVG markup from our own short URL: nothing user-written in it.
                    "qr_svg": mark_safe(services.short_link_qr_svg(short_url=short_url)),  # noqa: S308
                }
                context["form"] = ShortenForm()
                status = 200
    if "result" in context:
        context["result"]["target_iri"] = target_for_display(context["result"]["link"].target_url)
    if request.user.is_authenticated:
        # Targets are shown as people read them: percent-encoded UTF-8 decoded (an IRI).
        context["links"] = [
            {"link": link, "target_iri": target_for_display(link.target_url)}
            for link in selectors.short_links_of(user=request.user)[:20]
        ]
        context["base_url"] = services.short_link_url(key="", base_url=request.build_absolute_uri("/"))
    return render(request, "shortener/shorten.html", context, status=status)


@login_required
@require_POST
def short_link_manage(request, key: str):
    """`/short/<key>/manage`: the `/short/` page's edit, pause, resume and
    delete, through the same services as the API; owners and `manage` only
    (anyone else gets the 404 of an unknown key)."""
    try:
        link = selectors.short_link_get_for(user=request.user, key=key)
        action = request.POST.get("action", "")
        if action == "delete":
            services.short_link_delete(link=link)
            messages.success(request, _("The short link was deleted."))
        elif action in ("pause", "resume"):
            services.short_link_update(link=link, paused=action == "pause")
            messages.success(request, _("Paused.") if action == "pause" else _("Resumed."))
        elif action == "edit":
            changes = {"url": request.POST.get("url", ""), "max_visits": _visits(request.POST.get("max_visits", ""))}
            if request.POST.get("clear_password"):
                changes["password"] = ""
            elif request.POST.get("password"):
                changes["password"] = request.POST["password"]
            services.short_link_update(link=link, request_host=request.get_host(), **changes)
            messages.success(request, _("Saved."))
        else:
            raise ValidationFailed(_("Unknown action."))
    except LinkNotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, " ".join(str(m) for ms in exc.fields.values() for m in ms) or exc.message)
    return redirect("shorten")


def _visits(value: str):
    value = value.strip()
    if not value:
        return None
    if not value.isdigit():
        raise ValidationFailed(_("The visit limit must be a whole number of at least 1."))
    return int(value)
