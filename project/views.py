"""Site-wide views: the home page and the error handlers (400, 404 and 500)."""

from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _

from project.lib.error_pages import error_page, unknown_path_page, wants_json
from project.lib.errors import BadRequest, error_body, request_limit_error


def home_page(request):
    return render(request, "home.html")


def page_not_found(request, exception=None):
    return unknown_path_page(request)


def bad_request(request, exception=None):
    """What Django answers itself with 400 (a SuspiciousOperation: a request
    limit, a bad Host, a file name it refuses): the API's error shape in
    the caller's language on API paths and for JSON clients, the site's
    error page elsewhere, never Django's English HTML."""
    return error_page(request, request_limit_error(exception) or BadRequest())


def server_error(request):
    if wants_json(request):
        return JsonResponse(error_body("server_error", _("Something went wrong on our side.")), status=500)
    # Not the error page: no layout, no context processors, no URL lookups
    # (templates/500.html), since whatever failed may fail again while rendering.
    return HttpResponseServerError(loader.get_template("500.html").render({"request": request}))
