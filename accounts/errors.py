from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import status

from project.lib.errors import ApplicationError, Conflict, NotFound


class InvalidCredentials(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "invalid_credentials"
    # One message for an unknown user and a wrong password: no enumeration.
    default_message = _("The username or password is not correct.")


class InvalidToken(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "token_not_valid"
    default_message = _("The token is not valid or has expired.")


class UsernameTaken(Conflict):
    code = "username_taken"
    default_message = _("A user with that username already exists.")


class UnknownRole(NotFound):
    code = "unknown_role"
    default_message = _("No such role.")


class UnknownUser(NotFound):
    code = "unknown_user"
    default_message = _("No such user.")


# --- Single sign-on (accounts/oidc.py, docs/sign-in.md) ----------------------
# Each refusal names a `reason` for the audit log; the page says what to do, not
# which check failed (an attacker learns nothing from it, the log keeps it).


class SignInUnavailable(ApplicationError):
    """The provider is down, answers nonsense, or its discovery names another issuer."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "sso_unavailable"
    default_message = _("Single sign-on is not available right now.")

    def __init__(self, message=None, *, reason: str = "unavailable", **kwargs):
        self.reason = reason
        super().__init__(message, **kwargs)

    @property
    def page_message(self):
        return _("%(name)s cannot be reached right now, so signing in with it does not work.") % {
            "name": settings.OIDC_NAME
        }

    @property
    def hint(self):
        if settings.OIDC_ONLY:
            return _("Try again in a few minutes. If it stays so, tell the administrators.")
        return _("Try again in a few minutes, or sign in with your Pan username and password if you have one.")


class SignInRefused(ApplicationError):
    """What came back from the provider does not hold: a token that is not the
    provider's, not for Pan, expired, for another sign-in, or an account Pan refuses."""

    status_code = status.HTTP_403_FORBIDDEN
    code = "sso_refused"
    default_message = _("The sign-in was refused.")
    hint = _("Start again from the login page. If it happens again, tell the administrators.")

    def __init__(self, message=None, *, reason: str, **kwargs):
        self.reason = reason
        super().__init__(message, **kwargs)


class SignInStateInvalid(SignInRefused):
    """A callback this browser did not start, or one used before."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "sso_state_invalid"
    default_message = _("This sign-in was not started here, or it has been used already.")


class SignInOff(NotFound):
    code = "sso_off"
    default_message = _("Single sign-on is not set up on this site.")


class LocalPasswordsOff(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "local_passwords_off"

    @property
    def default_message(self):
        return _("Sign in with %(name)s: passwords of this site are turned off.") % {"name": settings.OIDC_NAME}


class ApiKeyNotValid(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "api_key_not_valid"
    # One message for a malformed, unknown, revoked or expired key and an inactive owner.
    default_message = _("The API key is not valid, was revoked or has expired.")


class ApiKeyLimitReached(Conflict):
    code = "api_key_limit"
    default_message = _("You have as many API keys as an account may have: revoke one first.")


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"
    default_message = _("No such API key.")
