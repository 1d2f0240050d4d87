"""Service errors as pages, written once.

A page view that cannot go on because a service raised an `ApplicationError`
(project/lib/errors.py) answers `error_page(request, exc)`:

- the error's status and its headers (`Retry-After` of a 429 comes from the
  error, never set by hand);
- the site layout and one template, templates/error.html: a plain sentence
  first (the error's `page_message`, else its `message`), what to do next
  (its `hint`, if any), how long to wait (a 429), a way back home, and
  "Error 410" small at the end (issue 19);
- for a client that asks for JSON (API paths, `Accept: application/json`
  without HTML), the API's own JSON error instead, with the same status
  and headers.

A page that shows its own form again with the error on it (a wrong code or
password, a locked login, a full drop-off) is not an error page: it renders
its template through `page_with_error`, which gives it the error's status,
headers and the seconds to wait (`retry_after` in the context, shown by
templates/_retry_after.html).

Here in project/lib rather than project/views.py: every app's views use it,
and so do the rate limiter (project/middleware.py) and the hidden operator
endpoints (project/lib/hidden.py); a helper they share sits below them all,
where importing it pulls in no app's URLs or views.
"""

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from project.lib.errors import ApplicationError, NotFound, TooManyRequests, error_body

# The tab's title by status; one sentence for people is in the page itself.
TITLES = {
    403: _("Not allowed"),
    404: _("Not found"),
    410: _("No longer available"),
    429: _("Too many requests"),
}
DEFAULT_TITLE = _("Could not be done")


class UnknownPath(NotFound):
    """What an address that leads nowhere answers (handler404 and the hidden endpoints)."""

    page_message = _("There is nothing at this address.")


def wants_json(request) -> bool:
    """API paths and clients that ask for JSON get JSON errors."""
    accept = request.headers.get("Accept", "")
    return request.path.startswith("/api/") or ("application/json" in accept and "text/html" not in accept)


def _with_headers(response: HttpResponse, exc: ApplicationError) -> HttpResponse:
    for name, value in exc.headers.items():
        response[name] = value
    return response


def page_with_error(request, template: str, context: dict, exc: ApplicationError) -> HttpResponse:
    """`template` rendered with `context` as the answer to `exc`: its status and
    headers, and for a 429 `retry_after` (seconds) in the context."""
    if isinstance(exc, TooManyRequests):
        context = {**context, "retry_after": exc.retry_after}
    return _with_headers(render(request, template, context, status=exc.status_code), exc)


def error_page(request, exc: ApplicationError) -> HttpResponse:
    """`exc` as the site's error page (or the API's JSON error for a JSON client)."""
    if wants_json(request):
        response = JsonResponse(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
        return _with_headers(response, exc)
    context = {
        "title": TITLES.get(exc.status_code, DEFAULT_TITLE),
        "message": exc.page_message or exc.message,
        "hint": exc.hint,
        "status": exc.status_code,
        "reason": exc.code,
    }
    return page_with_error(request, "error.html", context, exc)


def unknown_path_page(request) -> HttpResponse:
    """The 404 of an address that leads nowhere."""
    return error_page(request, UnknownPath())
