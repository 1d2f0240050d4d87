"""Pages of the second factor: the sign-in's second step and `/account/security/`.

Thin: every rule is `accounts.factors`'s (docs/second-factor.md).
"""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from webauthn import base64url_to_bytes
from webauthn.helpers import bytes_to_base64url

from project.lib.error_pages import error_page, page_with_error
from project.lib.errors import ApplicationError
from project.lib.net import client_address
from project.lib.qr import qr_svg_inline

from . import factors
from .cookies import device_cookie_set
from .errors import LocalPasswordsOff
from .models import Passkey, TotpDevice

# Session keys: the sign-in awaiting its second step (before any login), and
# the set-ups in progress on the security page.
PENDING_LOGIN = "pan_mfa_login"
_TOTP_SECRET = "pan_mfa_totp_secret"  # noqa: S105 - a session key's name
_PASSKEY_CHALLENGE = "pan_mfa_passkey_challenge"


def where_of(request) -> factors.WebOrigin:
    return factors.web_origin(scheme=request.scheme, host=request.get_host())


def login_pending(request, needed: factors.SecondFactorNeeded, next_url: str):
    """After a right password for an account with a factor: remember the
    challenge in the (still anonymous) session and go to the second step."""
    request.session[PENDING_LOGIN] = {"challenge": needed.challenge, "next": next_url}
    return redirect("login-verify")


@never_cache
@sensitive_post_parameters("code", "passkey")
@require_http_methods(["GET", "POST"])
def login_verify_page(request):
    pending = request.session.get(PENDING_LOGIN)
    if not isinstance(pending, dict) or not pending.get("challenge"):
        return redirect("login")
    where = where_of(request)
    error = None
    if request.method == "POST":
        passkey = request.POST.get("passkey") or None
        try:
            signed_in = factors.login_second_step(
                challenge=pending["challenge"],
                client=client_address(request),
                code=request.POST.get("code", ""),
                passkey=passkey,
                where=where,
            )
        except factors.ChallengeInvalid as exc:
            request.session.pop(PENDING_LOGIN, None)
            messages.error(request, exc.message)
            return redirect("login")
        except LocalPasswordsOff as exc:
            # OIDC_ONLY since the password step: this sign-in is over (docs/sign-in.md).
            request.session.pop(PENDING_LOGIN, None)
            return error_page(request, exc)
        except ApplicationError as exc:
            error = exc
        else:
            request.session.pop(PENDING_LOGIN, None)
            login(request, signed_in.user, backend="django.contrib.auth.backends.ModelBackend")
            response = redirect(pending.get("next") or "/welcome/")
            device_cookie_set(response, request, signed_in.device)
            return response
    options = factors.login_passkey_options(challenge=pending["challenge"], where=where)
    context = {"passkey_options": json.loads(options) if options else None, "error": error}
    if error is not None:
        return page_with_error(request, "accounts/login_verify.html", context, error)
    return render(request, "accounts/login_verify.html", context)


_ACTIONS = {"totp_add", "totp_remove", "passkey_add", "passkey_remove", "recovery_renew"}


def _security_act(request, action: str):
    """Run one action; returns new recovery codes or None."""
    user, client = request.user, client_address(request)
    password = request.POST.get("password", "")
    if action == "totp_add":
        codes = factors.totp_add(user=user, password=password, secret=request.session.get(_TOTP_SECRET, ""),
                                 code=request.POST.get("code", ""), client=client)  # fmt: skip
        request.session.pop(_TOTP_SECRET, None)
        messages.success(request, _("The authenticator app is set up."))
        return codes
    if action == "totp_remove":
        factors.totp_remove(user=user, password=password, client=client)
        messages.success(request, _("The authenticator app is removed."))
        return None
    if action == "passkey_add":
        challenge = request.session.pop(_PASSKEY_CHALLENGE, "")
        codes = factors.passkey_add(
            user=user,
            password=password,
            name=request.POST.get("name", ""),
            credential=request.POST.get("credential", ""),
            challenge=base64url_to_bytes(challenge) if challenge else None,
            where=where_of(request),
            client=client,
        )
        messages.success(request, _("The passkey is added."))
        return codes
    if action == "passkey_remove":
        factors.passkey_remove(user=user, password=password, passkey_id=request.POST.get("passkey"), client=client)
        messages.success(request, _("The passkey is removed."))
        return None
    codes = factors.recovery_codes_renew(user=user, password=password, client=client)
    messages.success(request, _("New recovery codes are made; the old ones no longer work."))
    return codes


@never_cache
@login_required
@sensitive_post_parameters("password", "code", "credential")
@require_http_methods(["GET", "POST"])
def account_security_page(request):
    """`/account/security/`: the second factors of the signed-in account."""
    user = request.user
    sso_session = factors.session_by_sso(request.session)
    sso_name = settings.OIDC_NAME if sso_session or user.external_identities.exists() else ""
    if not user.has_usable_password():
        # Signed in only through the provider: every change here needs a password
        # it does not have, and the provider asks for its own factors (SPEC §3).
        return render(request, "accounts/security.html", {"no_password": True, "sso_name": sso_name})
    error, failed_action, new_codes = None, None, None
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action in _ACTIONS:
            try:
                new_codes = _security_act(request, action)
            except ApplicationError as exc:
                error, failed_action = exc, action
            else:
                if new_codes is None:
                    return redirect("account-security")
    totp_on = TotpDevice.objects.filter(user=user).exists()
    context = {
        "totp_on": totp_on,
        "passkeys": list(Passkey.objects.filter(user=user)),
        "recovery_left": factors.recovery_codes_left(user=user),
        "has_factor": factors.user_has_factor(user=user),
        "must_set_up": factors.user_must_set_up_factor(user=user, sso=sso_session),
        "sso_session": sso_session,
        "sso_name": sso_name,
        "new_codes": new_codes,
        "error": error,
        "failed_action": failed_action,
    }
    if not totp_on:
        secret = request.session.get(_TOTP_SECRET) or factors.totp_secret_new()
        request.session[_TOTP_SECRET] = secret
        uri = factors.totp_provisioning_uri(user=user, secret=secret)
        # segno's own SVG markup of our otpauth address: nothing user-written is markup in it.
        context["totp_qr"] = mark_safe(qr_svg_inline(uri))  # noqa: S308
        context["totp_secret"] = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    options, challenge = factors.passkey_registration_options(user=user, where=where_of(request))
    request.session[_PASSKEY_CHALLENGE] = bytes_to_base64url(challenge)
    context["passkey_options"] = json.loads(options)
    if error is not None:
        return page_with_error(request, "accounts/security.html", context, error)
    return render(request, "accounts/security.html", context)
