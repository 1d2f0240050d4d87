"""`/account/webhooks/`: the owner's endpoints — add (the secret shown once), delete, recent deliveries."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from project.lib.errors import ApplicationError

from . import services
from .models import Event


@login_required
@require_http_methods(["GET", "POST"])
def webhooks_page(request):
    error, created, form = None, None, {"url": "", "events": []}
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "create":
                form = {"url": request.POST.get("url", ""), "events": request.POST.getlist("events")}
                created = services.endpoint_create(owner=request.user, url=form["url"], events=form["events"])
                form = {"url": "", "events": []}
            elif action == "delete":
                endpoint = services.endpoint_get_own(user=request.user, unique_name=request.POST.get("id", ""))
                services.endpoint_delete(endpoint=endpoint, actor=request.user)
                messages.success(request, _("The webhook to %(url)s is deleted.") % {"url": endpoint.url})
                return redirect("account-webhooks")
            else:
                return redirect("account-webhooks")
        except ApplicationError as exc:
            error = exc
    endpoints = list(services.endpoints_of(user=request.user))
    for endpoint in endpoints:
        endpoint.recent = services.deliveries_recent(endpoint=endpoint)
    context = {
        "endpoints": endpoints,
        "created": created,
        "error": error,
        "form": form,
        "event_choices": Event.choices,
    }
    # The secret is on this answer only: never cached, and a reload does not post again silently.
    response = render(request, "webhooks/webhooks.html", context, status=error.status_code if error else 200)
    response["Cache-Control"] = "no-store"
    return response
