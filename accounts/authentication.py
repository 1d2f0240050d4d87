"""API keys as credentials: `Authorization: Bearer pan_…` (docs/api-keys.md).

One mechanism decides what a key may reach: the view it arrives at declares,
per method, the scope a key needs, in an `api_key_scopes` attribute:

    class ShareListApi(GenericAPIView):
        api_key_scopes = {"GET": "shares:read", "POST": "shares:write"}

(a DRF view's class attribute; a function view's attribute, set after it is
defined; a Channels consumer's class attribute, "GET" for the handshake).
`ANY_SCOPE` lets any key in. HEAD and OPTIONS need what GET needs. A method
with no entry, or a view with no `api_key_scopes`, refuses keys with 403: a
new endpoint is closed to keys until it says otherwise, and what only the
person may do (their keys, logout, token refresh) says nothing.

`ApiKeyAuthentication` applies it to every DRF view (first in
`DEFAULT_AUTHENTICATION_CLASSES`, so a `pan_` token never reaches simplejwt,
and it leaves anything else, a JWT included, to the next class);
`bearer_user` to the places that read `Authorization` outside DRF (body
allowances), `api_key_owner_id` to the rate limiter's key, and
`api_key_websocket_owner` to WebSocket handshakes (project/routing.py).

A key signs in as its owner: every permission check after it is the
owner's. Keys never appear in logs or errors: only their prefix.

Under `MFA_REQUIRED_FOR_ADMINS`, a holder of `admin` without a second factor
gets 403 `mfa_setup_required` from every API operation, with a session or a
JWT alike (`PanSessionAuthentication`, `PanJWTAuthentication`), until one is
set up on `/account/security/` (docs/second-factor.md). An API key is its own
factor: `ApiKeyAuthentication` does not ask.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework_simplejwt.authentication import JWTAuthentication

# `services` and `errors` are imported where used: DRF imports this module
# while reading its settings, which `project.lib.errors` (below both) does.

_REFUSED_HERE = _("API keys cannot be used here: sign in as the person.")
_OUTSIDE_SCOPES = _("This API key's scopes do not allow this request (it needs %(scope)s).")

# Longer than any key we issue with its scheme (`Bearer ` + `pan_` + 64): not a key.
_HEADER_MAX = 128


def api_key_scope_required(view, method: str) -> str | None:
    """The scope a key needs for `method` on `view` (see the module); None: keys are refused."""
    declared = getattr(view, "api_key_scopes", None) or {}
    method = (method or "").upper()
    if method in declared:
        return declared[method]
    if method in ("HEAD", "OPTIONS"):
        return declared.get("GET")
    return None


def api_key_in_header(authorization: bytes | str) -> str | None:
    """The key an `Authorization` value carries, or None when it carries none
    (no header, a JWT, another scheme).

    Raises `ApiKeyNotValid` for a value that tries to be a key and is not
    one: `pan_…` as the credentials of any spelling of `bearer`, or alone,
    but not exactly `Bearer <key>` (lower-case `bearer`, extra words, `pan_`
    alone, non-ASCII or invisible characters, an over-long value).
    """
    from . import services
    from .errors import ApiKeyNotValid

    if isinstance(authorization, str):
        authorization = authorization.encode("utf-8", "surrogateescape")
    words = authorization.split()
    if not words:
        return None
    lowered = [word.lower() for word in words[:2]]
    attempt = lowered[0].startswith(b"pan_") or (
        lowered[0] == b"bearer" and len(lowered) > 1 and lowered[1].startswith(b"pan_")
    )
    if not attempt:
        return None
    if len(authorization) > _HEADER_MAX or len(words) != 2 or words[0] != b"Bearer":
        raise ApiKeyNotValid()
    try:
        raw = words[1].decode("ascii")
    except UnicodeDecodeError:
        raise ApiKeyNotValid() from None
    if not services.API_KEY_PATTERN.fullmatch(raw):
        raise ApiKeyNotValid()
    return raw


def api_key_refusal(key, view, method: str) -> exceptions.PermissionDenied | None:
    """The 403 for `key` on `view` and `method`, or None when its scopes allow it."""
    from . import services

    scope = api_key_scope_required(view, method)
    if services.api_key_allows(key=key, scope=scope):
        return None
    if scope is None:
        return exceptions.PermissionDenied(_REFUSED_HERE, code="api_key_refused")
    return exceptions.PermissionDenied(_OUTSIDE_SCOPES % {"scope": scope}, code="api_key_scope")


class ApiKeyAuthentication(BaseAuthentication):
    """DRF: `Authorization: Bearer pan_…` signs in as the key's owner, within its scopes.

    Anything that is not a key attempt is left to the next class (None).
    A bad key: 401; a key on a view or method outside its scopes: 403.
    `request.auth` is the `ApiKey`.
    """

    def authenticate(self, request):
        from project.lib.net import client_address

        from . import services
        from .errors import ApiKeyNotValid

        try:
            raw = api_key_in_header(request.META.get("HTTP_AUTHORIZATION", ""))
            if raw is None:
                return None
            key = services.api_key_authenticate(raw=raw, client=client_address(request._request))
        except ApiKeyNotValid as exc:
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from None
        view = (getattr(request, "parser_context", None) or {}).get("view")
        refusal = api_key_refusal(key, view, request.method)
        if refusal is not None:
            raise refusal
        return key.owner, key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


# --- outside DRF ---------------------------------------------------------------


def bearer_user(authorization: bytes, *, view, method: str):
    """The user a Bearer credential signs in as, or None: an API key allowed
    on `view` and `method` (nothing recorded: the view records the use), or a
    JWT access token as DRF verifies it (signature, expiry, type, audience,
    issuer, an existing active user). For checks that run before the view
    (body allowances); the view authenticates again."""
    from rest_framework_simplejwt.exceptions import InvalidToken

    from . import services
    from .errors import ApiKeyNotValid

    try:
        raw = api_key_in_header(authorization)
        if raw is not None:
            key = services.api_key_check(raw=raw)
            return key.owner if api_key_refusal(key, view, method) is None else None
    except ApiKeyNotValid:
        return None
    authentication = JWTAuthentication()
    try:
        token = authentication.get_raw_token(authorization)
        if token is None:
            return None
        return authentication.get_user(authentication.get_validated_token(token))
    except (exceptions.AuthenticationFailed, InvalidToken):
        return None


def api_key_attempted(authorization: bytes | str) -> bool:
    """Does the value try to be an API key (valid or not)? No database."""
    from .errors import ApiKeyNotValid

    try:
        return api_key_in_header(authorization) is not None
    except ApiKeyNotValid:
        return True


def api_key_owner_id(authorization: bytes | str) -> str | None:
    """The owner id of the live key in `authorization`, or None (the rate
    limiter's key; one indexed query, nothing written)."""
    from . import services
    from .errors import ApiKeyNotValid

    try:
        raw = api_key_in_header(authorization)
        if raw is None:
            return None
        return str(services.api_key_check(raw=raw).owner_id)
    except ApiKeyNotValid:
        return None


def api_key_websocket_owner(raw: str, *, client: str, consumer):
    """For a WebSocket handshake (project/routing.py): the owner of key `raw` when
    `consumer` allows it (`api_key_scopes["GET"]`), its use recorded.
    Raises `ApiKeyNotValid` (401) or returns None for a key outside its scopes (403)."""
    from . import services

    key = services.api_key_authenticate(raw=raw, client=client)
    return key.owner if api_key_refusal(key, consumer, "GET") is None else None


# --- a second factor required (docs/second-factor.md) ------------------------


def _checked(result, session=None):
    # Imported here: DRF reads this class while project.lib.errors (which
    # factors needs) may itself be importing DRF's settings.
    from .factors import SecondFactorSetupRequired, session_by_sso, user_must_set_up_factor

    if result is not None and user_must_set_up_factor(user=result[0], sso=session_by_sso(session)):
        raise SecondFactorSetupRequired()
    return result


class PanJWTAuthentication(JWTAuthentication):
    # JWTs come only from a local sign-in (POST /api/login[/mfa]): always held.
    def authenticate(self, request):
        return _checked(super().authenticate(request))


class PanSessionAuthentication(SessionAuthentication):
    # A session signed in through the OpenID provider is not held (docs/second-factor.md).
    def authenticate(self, request):
        return _checked(super().authenticate(request), getattr(request._request, "session", None))
