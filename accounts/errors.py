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
