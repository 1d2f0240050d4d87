"""JWT classes: simplejwt's, plus the RFC 8725 claims it leaves optional."""

from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken


class _RequireIssuedAt:
    def verify(self):
        super().verify()
        if not isinstance(self.payload.get("iat"), int | float):
            raise TokenError(_("Token has no valid issued-at time"))


class PanAccessToken(_RequireIssuedAt, AccessToken):
    pass


class PanRefreshToken(_RequireIssuedAt, RefreshToken):
    access_token_class = PanAccessToken
