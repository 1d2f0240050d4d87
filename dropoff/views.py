"""Drop-off pages: `/r/<code>/` for senders (no account), its receipts, and
`/requests/` for requesters. Thin: every rule is in dropoff/services.py."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from accounts.permissions import user_has_pan_permission
from pan.errors import FileTooLarge
from pan.storing import IncomingFile
from project.lib.error_pages import error_page, page_with_error
from project.lib.errors import ApplicationError, Gone, NotFound, TooManyRequests
from project.lib.net import client_address
from project.lib.qr import qr_svg_inline
from project.lib.secrets import PasswordRejected, PasswordRequired, code_in

from . import selectors, services
from .errors import RequestFull
from .unlocks import request_unlock, request_unlocked


def _error_page(request, exc: ApplicationError, found):
    """A request that takes no more files: the error page; any other error
    (a wrong password, too many drops): the request's page again. Errors
    before a request is found (an unknown code, too many wrong codes: 429)
    are left to project.middleware.ServiceErrorMiddleware (error_page)."""
    if isinstance(exc, NotFound | Gone | RequestFull):
        return error_page(request, exc)
    return page_with_error(request, "dropoff/request.html", _context(request, found, error=exc.message), exc)


def _context(request, found, **extra) -> dict:
    unlocked = found is not None and (not found.password or request_unlocked(request.session, found))
    return {"drop_request": found, "unlocked": unlocked, **extra}


@require_http_methods(["GET", "POST"])
def request_page(request, code):
    """The sender's page: the password if there is one, then files, name and note."""
    canonical = code_in(code)
    if canonical is not None and canonical != code:
        return redirect("request-page", code=canonical)
    client = client_address(request)
    found = services.request_by_code(code=code, client=client)
    services.request_raise_if_closed(found)
    if request.method == "POST" and "password" in request.POST and not request.FILES:
        try:
            services.request_password_check(request=found, password=request.POST["password"], client=client)
        except (PasswordRequired, PasswordRejected, TooManyRequests) as exc:
            return _error_page(request, exc, found)
        request_unlock(request.session, found)
        return redirect(found.get_absolute_url())
    if found.password and not request_unlocked(request.session, found):
        return render(request, "dropoff/request.html", _context(request, found))
    if request.method == "POST":
        return _drop(request, found, client)
    return render(request, "dropoff/request.html", _context(request, found))


# The form's own POST (without JavaScript) is a small body (project/lib/bodies.py);
# over it, a file too large.
request_page.body_refusal = FileTooLarge


def _drop(request, found, client):
    try:
        drop = services.drop_receive(
            request=found,
            files=[IncomingFile.from_upload(upload) for upload in request.FILES.getlist("file")],
            name=request.POST.get("name"),
            note=request.POST.get("note"),
            client=client,
        )
    except ApplicationError as exc:
        return _error_page(request, exc, found)
    return redirect("request-receipt", code=found.code, receipt_key=drop.receipt_key)


def receipt_page(request, code, receipt_key):
    """What a sender keeps: the files received, with sizes and SHA-256."""
    found = services.request_by_code(code=code, client=client_address(request))
    drop = services.drop_by_receipt(request=found, receipt_key=receipt_key)
    items = list(drop.share.items.order_by("position", "id"))
    return render(request, "dropoff/receipt.html", {"drop_request": found, "drop": drop, "items": items})


@login_required
@require_http_methods(["GET", "POST"])
def my_requests_page(request):
    """The requester's list: make a request, see what arrived, close, reopen, delete."""
    may_request = user_has_pan_permission(request.user, "upload")
    error = None
    if request.method == "POST":
        action, unique_name = request.POST.get("action", ""), request.POST.get("id", "")
        try:
            if action == "create" and may_request:
                services.request_create(
                    owner=request.user,
                    title=request.POST.get("title"),
                    message=request.POST.get("message"),
                    expires_in=request.POST.get("expires_in"),
                    max_files=request.POST.get("max_files"),
                    max_bytes=_megabytes(request.POST.get("max_megabytes")),
                    password=request.POST.get("password"),
                )
            elif action in ("close", "reopen", "delete"):
                found = selectors.request_get_managed(user=request.user, unique_name=unique_name)
                {"close": services.request_close, "reopen": services.request_reopen, "delete": services.request_delete}[
                    action
                ](request=found)
            return redirect("my-requests")
        except ApplicationError as exc:
            error = exc
    requests = list(selectors.request_list_managed(user=request.user).prefetch_related("drops__share__items"))
    for found in requests:
        found.full_url = request.build_absolute_uri(found.get_absolute_url())
        # segno's own SVG markup from our own URL: nothing user-written in it.
        found.qr_svg = mark_safe(qr_svg_inline(found.full_url))  # noqa: S308
    context = {"requests": requests, "may_request": may_request, "error": error, **counter_words()}
    return render(request, "dropoff/requests.html", context, status=error.status_code if error else 200)


def counter_words() -> dict:
    """The counter's words in both plural forms (the catalogue's own, with
    `{count}` for the number), for the script that keeps it current with
    live events. Chinese has one form, so both are the same there."""
    one, other = ({"counter": "{count}"} for _ in range(2))
    return {
        "msg_received_one": ngettext("%(counter)s file received", "%(counter)s files received", 1) % one,
        "msg_received_other": ngettext("%(counter)s file received", "%(counter)s files received", 2) % other,
    }


def _megabytes(value):
    if value in (None, ""):
        return None
    try:
        return int(float(value) * 1024 * 1024)
    except (TypeError, ValueError, OverflowError):
        return value  # the service answers what is wrong with it
