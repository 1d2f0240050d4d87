"""How the API's authentication classes appear in the OpenAPI document.

drf-spectacular knows simplejwt's and DRF's own classes, not Pan's
subclasses of them (accounts/authentication.py) nor API keys: without
these, every operation lists no security and `check --deploy` warns
(drf_spectacular.W001). Imported by `AccountsConfig.ready()`.
"""

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_requirement(self, auto_schema):
        # Listed only where a key gets in: the operation declares its scope.
        # Where the class is there to refuse keys (login, logout, keys), it is no way in.
        from .authentication import api_key_scope_required

        if api_key_scope_required(auto_schema.view, auto_schema.method) is None:
            return None
        return {self.name: []}

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "pan_…",
            "description": "An API key (`Authorization: Bearer pan_…`), within its scopes (docs/api-keys.md).",
        }


class PanJWTScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.PanJWTAuthentication"


class PanSessionScheme(SessionScheme):
    target_class = "accounts.authentication.PanSessionAuthentication"
