"""Site-wide views: the home page and the error pages."""

from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _

from project.lib.errors import error_body


def wants_json(request) -> bool:
    """API paths and clients that ask for JSON get JSON errors."""
    accept = request.headers.get("Accept", "")
    return request.path.startswith("/api/") or ("application/json" in accept and "text/html" not in accept)


def home_page(request):
    return render(request, "home.html")


def page_not_found(request, exception=None):
    if wants_json(request):
        return JsonResponse(error_body("not_found", _("Not found.")), status=404)
    return render(request, "404.html", status=404)


def server_error(request):
    if wants_json(request):
        return JsonResponse(error_body("server_error", _("Something went wrong on our side.")), status=500)
    # No context processors: whatever failed may fail again while rendering.
    return HttpResponseServerError(loader.get_template("500.html").render({"request": request}))
