"""The short-link redirect (async, the hot path) and the `/short/` page."""

from asgiref.sync import sync_to_async
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from project.lib.errors import ApplicationError, error_body
from project.views import wants_json

from . import selectors, services
from .errors import LinkNotFound
from .forms import ShortenForm
from .models import KEY_PATTERN

# The target learns nothing about where the link was clicked or that it was
# a Pan short link; the redirect itself is never stored by shared caches.
REDIRECT_REFERRER_POLICY = "no-referrer"


async def _error_response(request, exc: ApplicationError):
    if wants_json(request):
        return JsonResponse(error_body(exc.code, exc.message), status=exc.status_code)
    # Templates touch the session (user, messages): render in a thread.
    return await sync_to_async(render)(
        request, "shortener/link_error.html", {"error": exc, "status": exc.status_code}, status=exc.status_code
    )


@require_http_methods(["GET", "HEAD"])
async def short_link_redirect(request, key: str):
    """GET /s/<key> and /short/<key>: 302 to the target, counting the visit.

    HEAD answers the same without counting. 404 unknown, 410 expired or over
    its visit limit: a page for browsers, JSON for API clients.
    """
    try:
        if not KEY_PATTERN.match(key):
            raise LinkNotFound()
        target = await services.short_link_visit(key=key, count=request.method == "GET")
    except ApplicationError as exc:
        return await _error_response(request, exc)
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
                for field, messages in exc.fields.items():
                    for message in messages:
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
    if request.user.is_authenticated:
        context["links"] = selectors.short_links_of(user=request.user)[:20]
        context["base_url"] = services.short_link_url(key="", base_url=request.build_absolute_uri("/"))
    return render(request, "shortener/shorten.html", context, status=status)
