"""Single sign-on with OpenID Connect (docs/sign-in.md): mozilla-django-oidc's
authorization code flow, with what it does not do itself.

mozilla-django-oidc (docs/decisions.md, "Single sign-on") gives the flow:
a random `state`, `nonce` and PKCE verifier (S256) per sign-in, kept in the
session and dropped when the callback uses them (no replay); the code
exchanged at the token endpoint with the verifier; the ID token's signature
checked with the provider's key from its JWKS (matched by `kid` and `alg`),
and its `nonce` compared with the session's. Added here:

- discovery: the endpoints come from `<OIDC_ISSUER>/.well-known/openid-configuration`
  (cached for `OIDC_DISCOVERY_CACHE` seconds), whose `issuer` must be
  `OIDC_ISSUER` exactly;
- the ID token's `iss`, `aud` (and `azp` when there are several audiences),
  `exp` and `iat`, which the library leaves unchecked (it turns `aud` off and
  passes no issuer), and its `alg` from `OIDC_SIGN_ALGORITHMS` only;
- the userinfo answer's `sub` must be the ID token's;
- the callback's `iss` parameter (RFC 9207), when the provider sends one;
- every failure is an `ApplicationError` (a clear page, audited), never a 500.

Who the account is, its username and roles are Pan's rules:
`accounts.services.user_sso_sign_in`.
"""

import logging

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from project.lib.error_pages import error_page
from project.lib.errors import ApplicationError
from project.lib.net import client_address

from . import services
from .errors import SignInOff, SignInRefused, SignInStateInvalid, SignInUnavailable

logger = logging.getLogger(__name__)

# Seconds of clock difference between Pan and the provider that `exp` and `iat` allow.
CLOCK_LEEWAY = 60
SESSION_ID_TOKEN = "pan_oidc_id_token"  # noqa: S105 - a session key, not a secret


def oidc_enabled() -> bool:
    return bool(settings.OIDC_ISSUER and settings.OIDC_CLIENT_ID)


def oidc_scopes() -> str:
    return " ".join(dict.fromkeys(["openid", *settings.OIDC_SCOPES.split()]))


def provider_config() -> dict:
    """The provider's discovery document (cached). Raises `SignInUnavailable`
    when it cannot be had, is not JSON with the endpoints, or names another issuer."""
    issuer = settings.OIDC_ISSUER
    key = f"oidc:discovery:{issuer}"
    config = cache.get(key)
    if config is not None:
        return config
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        config = response.json()
    except (requests.RequestException, ValueError) as exc:
        logger.warning("OpenID discovery at %s failed: %s", url, exc)
        raise SignInUnavailable(reason="discovery_failed") from exc
    needed = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
    if not isinstance(config, dict) or not all(isinstance(config.get(name), str) for name in needed):
        raise SignInUnavailable(reason="discovery_incomplete")
    if config["issuer"] != issuer:
        # OpenID Connect Discovery §4.3: the document is the issuer's own, or not used.
        logger.warning("OpenID discovery at %s names issuer %r, not %r", url, config["issuer"], issuer)
        raise SignInUnavailable(reason="discovery_issuer_mismatch")
    cache.set(key, config, settings.OIDC_DISCOVERY_CACHE)
    return config


def _get_setting(attr, *args):
    """mozilla-django-oidc's settings, read at each call (tests and `.env` change them)."""
    current = {
        "OIDC_RP_CLIENT_ID": settings.OIDC_CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": settings.OIDC_CLIENT_SECRET,
        "OIDC_RP_SCOPES": oidc_scopes(),
        "OIDC_TIMEOUT": settings.OIDC_TIMEOUT,
    }
    if attr in current:
        return current[attr]
    if attr == "OIDC_TOKEN_USE_BASIC_AUTH":
        # client_secret_post unless the provider takes only client_secret_basic.
        methods = provider_config().get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        return "client_secret_post" not in methods
    return getattr(settings, attr, *args)


class PanOIDCBackend(OIDCAuthenticationBackend):
    """The library's backend with discovery, the claims it leaves unchecked and Pan's accounts."""

    get_settings = staticmethod(_get_setting)

    def __init__(self, *args, **kwargs):
        # Built for every request of a session signed in this way (Django's
        # get_user): reads nothing from the network here. The library's
        # __init__ would read fixed endpoints from settings.
        self.UserModel = get_user_model()
        self.OIDC_RP_IDP_SIGN_KEY = None
        # Key lookup in the JWKS (the library's verify_token picks the JWKS for RS*/ES*).
        self.OIDC_RP_SIGN_ALGO = "RS256"

    # The endpoints, from discovery.
    @property
    def OIDC_OP_TOKEN_ENDPOINT(self):  # noqa: N802 - the library's name
        return provider_config()["token_endpoint"]

    @property
    def OIDC_OP_USER_ENDPOINT(self):  # noqa: N802
        return provider_config().get("userinfo_endpoint")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self):  # noqa: N802
        return provider_config()["jwks_uri"]

    @property
    def OIDC_RP_CLIENT_ID(self):  # noqa: N802
        return settings.OIDC_CLIENT_ID

    @property
    def OIDC_RP_CLIENT_SECRET(self):  # noqa: N802
        return settings.OIDC_CLIENT_SECRET

    def authenticate(self, request, **kwargs):
        # Only the callback passes a nonce; a password login never reaches the provider.
        if request is None or "nonce" not in kwargs or not oidc_enabled():
            return None
        try:
            return super().authenticate(request, **kwargs)
        except requests.HTTPError as exc:
            # The token endpoint refused the code (used, expired, or PKCE's verifier wrong).
            status = exc.response.status_code if exc.response is not None else 0
            if status and status < 500:
                raise SignInRefused(reason="code_refused") from exc
            raise SignInUnavailable(reason="provider_error") from exc
        except (requests.RequestException, ValueError) as exc:
            raise SignInUnavailable(reason="provider_unreachable") from exc

    def verify_token(self, token, **kwargs):
        if not isinstance(token, str) or not token:
            raise SignInRefused(reason="id_token_missing")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise SignInRefused(reason="id_token_malformed") from exc
        if header.get("alg") not in settings.OIDC_SIGN_ALGORITHMS:
            raise SignInRefused(reason="id_token_algorithm")
        self.OIDC_RP_SIGN_ALGO = header["alg"]
        if not isinstance(header.get("kid", ""), str):
            raise SignInRefused(reason="id_token_malformed")
        if "kid" not in header:
            # The library matches keys by kid; a provider with one key may omit it.
            header_kid_missing = True
        else:
            header_kid_missing = False
        try:
            if header_kid_missing:
                payload = self._verify_with_only_key(token)
            else:
                payload = super().verify_token(token, **kwargs)
        except SuspiciousOperation as exc:
            # The library's refusals: no key for this kid/alg, a bad signature, another nonce.
            reason = "nonce_mismatch" if "Nonce" in str(exc) else "id_token_signature"
            raise SignInRefused(reason=reason) from exc
        if header_kid_missing and kwargs.get("nonce") != payload.get("nonce"):
            raise SignInRefused(reason="nonce_mismatch")
        return payload

    def _verify_with_only_key(self, token):
        response = requests.get(self.OIDC_OP_JWKS_ENDPOINT, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        keys = [key for key in response.json().get("keys", []) if key.get("use", "sig") == "sig"]
        if len(keys) != 1:
            raise SignInRefused(reason="id_token_signature")
        return self._verify_jws(token, jwt.PyJWK(keys[0]))

    def _verify_jws(self, payload, key):
        """The signature (as the library does), and the claims the library does not check."""
        alg = jwt.get_unverified_header(payload).get("alg")
        if alg not in settings.OIDC_SIGN_ALGORITHMS:
            raise SignInRefused(reason="id_token_algorithm")
        try:
            claims = jwt.decode(
                payload,
                key,
                algorithms=[alg],
                audience=settings.OIDC_CLIENT_ID,
                issuer=settings.OIDC_ISSUER,
                leeway=CLOCK_LEEWAY,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise SignInRefused(reason="id_token_expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise SignInRefused(reason="id_token_audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise SignInRefused(reason="id_token_issuer") from exc
        except jwt.ImmatureSignatureError as exc:
            raise SignInRefused(reason="id_token_not_yet_valid") from exc
        except jwt.PyJWTError as exc:  # the signature, a malformed token, a missing claim
            raise SignInRefused(reason="id_token_signature") from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != settings.OIDC_CLIENT_ID:
            raise SignInRefused(reason="id_token_audience")  # OpenID Connect Core §3.1.3.7, 4-5
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise SignInRefused(reason="id_token_malformed")
        return claims

    def get_userinfo(self, access_token, id_token, payload):
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT and access_token:
            userinfo = super().get_userinfo(access_token, id_token, payload)
            if not isinstance(userinfo, dict) or userinfo.get("sub") != payload["sub"]:
                # OpenID Connect Core §5.3.2: another account's answer is not used.
                raise SignInRefused(reason="userinfo_subject")
            claims.update(userinfo)
        # Who it is comes from the verified ID token only.
        claims["iss"], claims["sub"] = payload["iss"], payload["sub"]
        return claims

    def store_tokens(self, access_token, id_token):
        # Kept on the request; the callback view puts it in the session after
        # login() (which may flush the session), for the logout's id_token_hint.
        self.request.pan_oidc_id_token = id_token

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        return services.user_sso_sign_in(claims=claims, client=client_address(self.request))

    def get_user(self, user_id):
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None


class SignInStart(OIDCAuthenticationRequestView):
    """`GET /oidc/login/?next=`: to the provider, with state, nonce and a PKCE challenge."""

    get_settings = staticmethod(_get_setting)

    def __init__(self, *args, **kwargs):
        # The library reads a fixed endpoint from settings here; ours comes from discovery in get().
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_CLIENT_ID

    def get(self, request):
        if not oidc_enabled():
            return error_page(request, SignInOff())
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider_config()["authorization_endpoint"]
        except SignInUnavailable as exc:
            services.sso_failure_record(reason=exc.reason, client=client_address(request))
            return error_page(request, exc)
        return super().get(request)


class SignInCallback(OIDCAuthenticationCallbackView):
    """`GET /oidc/callback/`: the provider's answer; signs in, or a clear refusal (audited)."""

    get_settings = staticmethod(_get_setting)

    def get(self, request):
        if not oidc_enabled():
            return error_page(request, SignInOff())
        try:
            self._check(request)
            response = super().get(request)
        except ApplicationError as exc:
            return self._refuse(exc)
        except SuspiciousOperation:
            return self._refuse(SignInStateInvalid(reason="state_unknown"))
        return response

    def _check(self, request):
        state = request.GET.get("state")
        states = request.session.get("oidc_states") or {}
        if request.GET.get("error"):
            if state in states:  # the library drops it too; here before it redirects away
                del states[state]
                request.session["oidc_states"] = states
            raise SignInRefused(reason=f"provider_error:{request.GET['error'][:40]}")
        if not state or not request.GET.get("code"):
            raise SignInStateInvalid(reason="callback_incomplete")
        if state not in states:
            # Not started in this browser, or used already (the library drops a state once used).
            raise SignInStateInvalid(reason="state_unknown")
        issuer = request.GET.get("iss")
        if issuer is not None and issuer != settings.OIDC_ISSUER:
            # RFC 9207: the answer names another provider (a mix-up attack).
            del states[state]
            request.session["oidc_states"] = states
            raise SignInRefused(reason="callback_issuer")

    def login_success(self):
        response = super().login_success()
        id_token = getattr(self.request, "pan_oidc_id_token", None)
        if id_token:
            self.request.session[SESSION_ID_TOKEN] = id_token
        return response

    def login_failure(self):
        # An account the rules refused raised before this; what is left is an
        # inactive account (the library's authenticate returned it, or nothing).
        raise SignInRefused(reason="account_inactive")

    def _refuse(self, exc: ApplicationError):
        request = self.request
        services.sso_failure_record(reason=getattr(exc, "reason", exc.code), client=client_address(request))
        if request.user.is_authenticated and isinstance(exc, SignInRefused):
            # Nothing of a refused sign-in stays signed in (OpenID Connect's own advice on errors).
            from django.contrib.auth import logout

            logout(request)
        return error_page(request, exc)


def end_session_url(request, id_token: str | None) -> str | None:
    """The provider's logout address (RP-initiated logout), or None when it has
    none, cannot be reached, or this session did not sign in through it."""
    if not id_token or not oidc_enabled():
        return None
    try:
        endpoint = provider_config().get("end_session_endpoint")
    except SignInUnavailable:
        return None
    if not isinstance(endpoint, str) or not endpoint:
        return None
    from urllib.parse import urlencode

    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": request.build_absolute_uri("/"),
            "client_id": settings.OIDC_CLIENT_ID,
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
