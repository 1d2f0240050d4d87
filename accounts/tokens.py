"""JWT classes: simplejwt's, plus the RFC 8725 claims it leaves optional."""

import re

from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

# The largest primary key of a BigAutoField (PostgreSQL bigint, SQLite INTEGER).
_MAX_USER_ID = 2**63 - 1
_DECIMAL = re.compile(r"[1-9][0-9]{0,18}")  # ASCII only: str.isdigit() also takes "١٢"


def user_id_claim_valid(value) -> bool:
    """True for a user id as Pan's tokens carry it: a primary key, in bigint range.

    simplejwt's `for_user` writes the key as text ("42"); tokens from before
    that carried the int. A correctly signed token with anything else (a
    list, letters, a bool, a number past bigint) would otherwise reach the
    user lookup and fail there with a 500 instead of a 401. `bool` is refused
    too: `True == 1` would name the first user.
    """
    if type(value) is str and _DECIMAL.fullmatch(value):
        value = int(value)
    return type(value) is int and 0 < value <= _MAX_USER_ID


class _RequireClaims:
    def verify(self):
        super().verify()
        if not isinstance(self.payload.get("iat"), int | float):
            raise TokenError(_("Token has no valid issued-at time"))
        if not user_id_claim_valid(self.payload.get(api_settings.USER_ID_CLAIM)):
            raise TokenError(_("Token has no valid user id"))


class PanAccessToken(_RequireClaims, AccessToken):
    pass


class PanRefreshToken(_RequireClaims, RefreshToken):
    access_token_class = PanAccessToken
