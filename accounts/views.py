from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from project.lib.error_pages import error_page, page_with_error
from project.lib.errors import ApplicationError
from project.lib.net import client_address

from . import oidc, services
from .cookies import device_cookie_read, device_cookie_set
from .errors import LocalPasswordsOff
from .factors import SecondFactorNeeded
from .forms import LoginForm, RegisterForm
from .models import API_KEY_SCOPES, User
from .views_factors import login_pending

# Role (Group) names are data and stay English in the database; pages show them translated.
ROLE_LABELS = {"admin": _("administrator"), "uploaders": _("uploader"), "users": _("user")}


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return "/welcome/"


def _form_error_response(request, template, form, exc: ApplicationError, extra: dict | None = None):
    """Show a service's error on the form, with the service's status."""
    for field, field_messages in exc.fields.items():
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)
    if not exc.fields:
        form.add_error(None, exc.message)
    # A 429 says how long, like the code pages (`retry_after`).
    return page_with_error(request, template, {"form": form, "next": _next_url(request), **(extra or {})}, exc)


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def login_page(request):
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            signed_in = services.user_login(
                **form.cleaned_data, client=client_address(request), device=device_cookie_read(request)
            )
        except ApplicationError as exc:
            return _form_error_response(request, "accounts/login.html", form, exc, _sso_context())
        if isinstance(signed_in, SecondFactorNeeded):
            return login_pending(request, signed_in, _next_url(request))
        login(request, signed_in.user, backend="django.contrib.auth.backends.ModelBackend")
        response = redirect(_next_url(request))
        device_cookie_set(response, request, signed_in.device)
        return response
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "next": _next_url(request),
        # Sent here by a page that needs an account (LOGIN_URL?next=): say so,
        # rather than a bare form that looks like the link went astray.
        "sign_in_needed": request.method == "GET" and "next" in request.GET and not request.user.is_authenticated,
    }
    return render(request, "accounts/login.html", {**context, **_sso_context()}, status=status)


def _sso_context() -> dict:
    # No network here: the button shows from settings; the provider is asked once it is pressed.
    if not oidc.oidc_enabled():
        return {}
    return {"sso_name": settings.OIDC_NAME, "local_passwords_off": services.local_passwords_off()}


@sensitive_post_parameters("password", "password2")
@require_http_methods(["GET", "POST"])
def register_page(request):
    if services.local_passwords_off():
        return error_page(request, LocalPasswordsOff())
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_register(
                username=form.cleaned_data["username"], password=form.cleaned_data["password"]
            )
        except ApplicationError as exc:
            return _form_error_response(request, "accounts/register.html", form, exc)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("welcome")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/register.html", {"form": form, "next": _next_url(request)}, status=status)


@require_POST
def logout_page(request):
    # Signed in through the provider: its logout too (RP-initiated logout), when it offers one.
    provider_logout = oidc.end_session_url(request, request.session.get(oidc.SESSION_ID_TOKEN))
    logout(request)
    # After the session is gone: the message travels in the messages cookie.
    messages.success(request, _("You are signed out."))
    return redirect(provider_logout) if provider_logout else redirect("home")


@login_required
@require_http_methods(["GET", "POST"])
def welcome_page(request):
    """`/welcome/`: the upload form for holders of `upload`; for everyone else a
    card saying what the account can do and whom to ask for more (SPEC §6)."""
    preferences_error = None
    if request.method == "POST" and request.POST.get("action") == "preferences":
        changes = {
            "email": request.POST.get("email", "").strip(),
            "receipts_by_email": request.POST.get("receipts_by_email") == "true",
            "language": request.POST.get("language", ""),
        }
        try:
            services.user_preferences_update(user=request.user, changes=changes)
        except ApplicationError as exc:
            preferences_error = exc
        else:
            messages.success(request, _("Saved."))
            return redirect("welcome")
    profile = services.user_profile(user=request.user)
    context = {
        "preferences_error": preferences_error,
        "profile": profile,
        "roles": [{"name": role, "label": ROLE_LABELS.get(role, role)} for role in profile["roles"]],
    }
    if "upload" in profile["permissions"]:
        # Shown on the upload form and checked there before anything is sent.
        context["upload_limits"] = {
            "file": settings.PAN_MAX_UPLOAD_SIZE,
            "share": settings.PAN_MAX_SHARE_SIZE,
            "items": settings.PAN_MAX_SHARE_ITEMS,
        }
    else:
        # Whom to ask: the people who can grant roles (active holders of admin), by name.
        admins = User.objects.filter(groups__name="admin", is_active=True).order_by("date_joined")
        context["admins"] = list(admins.values_list("username", flat=True)[:3])
    return render(request, "accounts/welcome.html", context)


# --- The account's pages -------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def account_page(request):
    """`/account/`: the account's pages, one link each."""
    return render(request, "accounts/account.html")


# The expiries the page offers (seconds; 0: no end).
KEY_EXPIRIES = [
    (0, _("No end")),
    (30 * 86400, _("30 days")),
    (90 * 86400, _("90 days")),
    (365 * 86400, _("1 year")),
]


@login_required
@require_http_methods(["GET", "POST"])
def keys_page(request):
    """`/account/keys/`: list, make (the key shown once, on this answer) and revoke API keys."""
    error, created = None, None
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "create":
                expires_in = request.POST.get("expires_in") or None
                key, raw = services.api_key_create(
                    owner=request.user,
                    name=request.POST.get("name"),
                    scopes=request.POST.getlist("scopes"),
                    expires_in=None if expires_in in (None, "0") else expires_in,
                )
                created = {"key": key, "raw": raw}
            elif action == "revoke":
                key_id = request.POST.get("id", "")
                key = services.api_key_get_owned(
                    owner=request.user,
                    key_id=int(key_id) if key_id.isascii() and key_id.isdigit() and len(key_id) <= 18 else None,
                )
                services.api_key_revoke(key=key, actor=request.user)
                messages.success(request, _("The key “%(name)s” is revoked.") % {"name": key.name})
                return redirect("account-keys")
            else:
                return redirect("account-keys")
        except ApplicationError as exc:
            error = exc
    context = {
        "keys": list(services.api_key_list(owner=request.user)),
        "scopes": [{"name": name, "label": label} for name, label in API_KEY_SCOPES.items()],
        "expiries": KEY_EXPIRIES,
        "created": created,
        "error": error,
        "form": request.POST if error else None,
        # What was chosen stays chosen after a refusal, to be corrected rather than redone.
        "chosen_scopes": request.POST.getlist("scopes") if error else [],
        "chosen_expiry": request.POST.get("expires_in", "") if error else "",
    }
    response = render(request, "accounts/keys.html", context, status=error.status_code if error else 200)
    if created:
        # The only page that ever shows the key: not kept by any cache.
        response["Cache-Control"] = "no-store"
    return response
