"""`MFA_REQUIRED_FOR_ADMINS`: an admin without a second factor is sent to set one up.

A signed-in holder of `admin` with no TOTP app and no passkey is redirected
from every page to `/account/security/`, except that page, signing out,
the language switch and static files. The API is guarded by
accounts/authentication.py (403 `mfa_setup_required`). Off by default: the
middleware then does nothing, not even a query. A session signed in through
the OpenID provider is not held (its factors are the provider's:
`factors.user_must_set_up_factor`); a local sign-in of the same account is.
"""

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.shortcuts import redirect
from django.urls import reverse

from project.lib.hybrid import HybridMiddleware

from .factors import SSO_BACKEND, session_by_sso, user_must_set_up_factor

_SETUP = "account-security"


def _exempt(path: str) -> bool:
    allowed = (reverse(_SETUP), reverse("logout"), reverse("set_language"), settings.STATIC_URL, "/api/")
    return any(path.startswith(prefix) for prefix in allowed) or path in ("/favicon.ico", "/server-status", "/metrics")


class SecondFactorSetupMiddleware(HybridMiddleware):
    def handle(self, request):
        if settings.MFA_REQUIRED_FOR_ADMINS and not _exempt(request.path):
            if user_must_set_up_factor(user=request.user, sso=session_by_sso(request.session)):
                return redirect(_SETUP)
        return self.get_response(request)

    async def __acall__(self, request):
        if settings.MFA_REQUIRED_FOR_ADMINS and not _exempt(request.path):
            user = await request.auser()
            sso = user.is_authenticated and await request.session.aget(BACKEND_SESSION_KEY) == SSO_BACKEND
            if user.is_authenticated and await sync_to_async(user_must_set_up_factor)(user=user, sso=sso):
                return redirect(_SETUP)
        return await self.get_response(request)
