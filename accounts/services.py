"""Account rules: registration, login, tokens, roles.

Every interface (API, pages, admin, management commands) calls these.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from audit.models import Action
from audit.services import audit_record
from project.lib.attempts import Layer, attempts_give_back, attempts_reset, attempts_take
from project.lib.errors import TooManyRequests, ValidationFailed
from project.lib.fields import validate_text, validate_whole_number
from project.lib.lifecycle import expiry_from, has_expired
from project.lib.net import client_key

from .errors import (
    ApiKeyLimitReached,
    ApiKeyNotFound,
    ApiKeyNotValid,
    InvalidCredentials,
    InvalidToken,
    UnknownRole,
    UnknownUser,
    UsernameTaken,
)
from .models import API_KEY_SCOPES, ROLE_ADMIN, ApiKey
from .signals import user_sync_admin_flags
from .tokens import PanRefreshToken, user_id_claim_valid
from .validators import LOOK_ALIKE_MESSAGE, username_skeleton

User = get_user_model()


# --- Registration -----------------------------------------------------------


def user_register(*, username: str, password: str) -> User:
    """Create a user with a checked username and password, and give roles.

    The first user ever registered gets `admin` and the default roles; later
    ones get `settings.DEFAULT_ROLES`. Raises `ValidationFailed` (field
    messages) or `UsernameTaken` (409) for a name that exists in any case or
    looks like one that does (`username_skeleton`, SPEC §3); nothing is
    written on error.
    """
    username = User.normalize_username(username or "")
    errors: dict[str, list] = {}
    try:
        User.username_validator(username)
    except ValidationError as exc:
        errors["username"] = exc.messages
    try:
        password_validation.validate_password(password, User(username=username))
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationFailed(fields=errors)

    with transaction.atomic():
        # Registrations queue on the admin role's row, so two first users
        # cannot both see an empty table and both become admin.
        admin_role = Group.objects.select_for_update().get(name=ROLE_ADMIN)
        skeleton = username_skeleton(username)
        taken = (
            User.objects.filter(Q(username__iexact=username) | Q(username_skeleton=skeleton))
            .values_list("username", flat=True)
            .first()
        )
        if taken is not None:
            raise UsernameTaken() if taken.lower() == username.lower() else UsernameTaken(LOOK_ALIKE_MESSAGE)
        is_first = not User.objects.exists()
        user = User(username=username)
        user.set_password(password)
        try:
            user.save()
        except IntegrityError as exc:
            # The unique skeleton column decides where the queue above does
            # not hold (a database without row locks).
            raise UsernameTaken(LOOK_ALIKE_MESSAGE) from exc
        roles = list(Group.objects.filter(name__in=settings.DEFAULT_ROLES))
        if is_first:
            roles.append(admin_role)
        user.groups.add(*roles)
    return user


# --- Login ------------------------------------------------------------------
#
# Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device
# Cookies"): a browser or client that signed in as a user gets a token naming
# the user, a mark of the password and a nonce, signed for this purpose. With
# it, that user's logins count per device instead of per username, so others
# guessing the password from elsewhere cannot lock the owner out.

_DEVICE_SALT = "accounts.login-device"
# Far above what we sign (about 100 characters): longer is not ours, unread.
_DEVICE_MAX_LENGTH = 512


@dataclass(frozen=True)
class SignedIn:
    user: User
    # A fresh device token for the browser or client that signed in: the
    # page sets it as the device cookie, the API answers it as `device` too.
    device: str


def _password_mark(user: User) -> str:
    # Changes whenever the password does (a reset voids every device token);
    # an HMAC, so the token says nothing about the hash.
    return salted_hmac(_DEVICE_SALT, user.password, algorithm="sha256").hexdigest()[:16]


def login_device_issue(*, user: User) -> str:
    """A signed device token for `user`: the user's pk, a mark of the current
    password and a random nonce (the key of the device's own limit)."""
    payload = {"u": user.pk, "p": _password_mark(user), "n": secrets.token_urlsafe(12)}
    return signing.dumps(payload, salt=_DEVICE_SALT)


def _login_device_nonce(device: str, username: str) -> str | None:
    """The nonce of `device` when it is a valid device token of the user named
    `username` (signed by us for this purpose, within `LOGIN_DEVICE_COOKIE_AGE`,
    issued since the password last changed); otherwise None."""
    if not device or not isinstance(device, str) or len(device) > _DEVICE_MAX_LENGTH:
        return None
    try:
        payload = signing.loads(device, salt=_DEVICE_SALT, max_age=settings.LOGIN_DEVICE_COOKIE_AGE)
    except signing.BadSignature:  # tampered, foreign or expired (SignatureExpired)
        return None
    if not isinstance(payload, dict):
        return None
    pk, mark, nonce = payload.get("u"), payload.get("p"), payload.get("n")
    if not (isinstance(pk, int) and isinstance(mark, str) and isinstance(nonce, str) and nonce):
        return None
    user = User.objects.filter(pk=pk).only("username", "password").first()
    # The name as the backend looks it up (exactly): a token of another user
    # does not help, whatever the name's case.
    if user is None or user.username != username or not constant_time_compare(mark, _password_mark(user)):
        return None
    return nonce


def _login_layers(username: str, client: str) -> tuple[Layer, Layer]:
    """The username layer and the client layer of the login limit."""
    # Hashed: usernames may hold characters some cache backends refuse in keys.
    digest = hashlib.sha256(username.casefold().encode()).hexdigest()[:32]
    window = settings.LOGIN_FAILURE_WINDOW
    return (
        Layer(f"login:user:{digest}", settings.LOGIN_FAILURE_LIMIT, window, TooManyRequests),
        Layer(f"login:client:{client_key(client)}", settings.LOGIN_CLIENT_FAILURE_LIMIT, window, TooManyRequests),
    )


def _device_layer(nonce: str) -> Layer:
    digest = hashlib.sha256(nonce.encode()).hexdigest()[:32]
    return Layer(
        f"login:device:{digest}", settings.LOGIN_DEVICE_FAILURE_LIMIT, settings.LOGIN_FAILURE_WINDOW, TooManyRequests
    )


def _login_take(user_layer: Layer, client_layer: Layer, device_layer: Layer | None) -> Layer:
    """Count the attempt; return the layer it was counted in besides the client's."""
    # A device limit of 0 turns device cookies off rather than letting a
    # stolen one guess without a limit of its own.
    if device_layer is not None and device_layer.limit > 0:
        try:
            attempts_take([device_layer, client_layer])
            return device_layer
        except TooManyRequests as exc:
            if getattr(exc, "attempt_layer", None) is not device_layer:
                raise
            # A device that failed too often (a stolen cookie, guessing) is
            # untrusted until its window ends: limited like any other client.
    attempts_take([user_layer, client_layer])
    return user_layer


def user_login(*, username: str, password: str, client: str, device: str = "") -> SignedIn:
    """Check credentials within the login limits; return the user and a fresh device token.

    Every attempt is counted before the password is checked, per client
    (`LOGIN_CLIENT_FAILURE_LIMIT`, IPv6 by /64) and per username
    (`LOGIN_FAILURE_LIMIT`), in windows of `LOGIN_FAILURE_WINDOW` seconds
    that open at a layer's first attempt. With `device`, a valid device
    token of this username (see `login_device_issue`), the attempt counts per
    device (`LOGIN_DEVICE_FAILURE_LIMIT`) instead of per username, and is not
    refused by the username's layer; a device whose layer is full is treated
    as unknown until its window ends. Failures stay counted; a success gives
    its attempt back to the client and clears the window it was counted in
    (the device's or the username's). Once a layer is full, raises
    `TooManyRequests` (with `retry_after`) until its window ends, even for
    the right password, and without checking it: N simultaneous wrong
    passwords get at most the limit of password checks. An unknown user and
    a wrong password raise the same `InvalidCredentials` (Django still runs
    the hasher for unknown users, so the timing matches too).
    """
    username = username or ""
    user_layer, client_layer = _login_layers(username, client)
    nonce = _login_device_nonce(device, username)
    try:
        counted = _login_take(user_layer, client_layer, _device_layer(nonce) if nonce else None)
    except TooManyRequests:
        _login_audit(Action.LOGIN_THROTTLED, username, client)
        raise
    user = authenticate(username=username, password=password)
    if user is None:
        _login_audit(Action.LOGIN_FAILED, username, client)
        raise InvalidCredentials()
    attempts_give_back([client_layer])
    attempts_reset([counted])
    audit_record(Action.LOGIN, object_type="user", object_id=str(user.pk), actor=user, client=client)
    # Issued after `authenticate`, which may have rehashed the password.
    return SignedIn(user=user, device=login_device_issue(user=user))


def _login_audit(action: Action, username: str, client: str) -> None:
    # The account, when the name tried is one; never the text tried otherwise
    # (people type their password into the name field).
    user = User.objects.filter(username=username).only("pk").first() if username else None
    audit_record(
        action,
        object_type="user",
        object_id=str(user.pk) if user else "",
        client=client,
        detail={} if user else {"unknown_user": True},
    )


# --- Tokens -----------------------------------------------------------------


def tokens_for_user(*, user: User) -> dict:
    """A fresh refresh token (recorded as outstanding) and its access token."""
    refresh = PanRefreshToken.for_user(user)
    return {
        "access": str(refresh.access_token),
        "refresh": str(refresh),
        "token_type": "Bearer",
        "expires_in": int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()),
    }


def _decode_refresh(raw: str) -> PanRefreshToken:
    try:
        return PanRefreshToken(raw)
    except TokenError as exc:
        _revoke_if_reused(raw)
        raise InvalidToken() from exc


def _revoke_if_reused(raw: str) -> None:
    """A correctly signed refresh token that is already blacklisted was
    rotated or logged out before: someone kept a copy. Revoke them all."""
    try:
        payload = token_backend.decode(raw, verify=True)
    except Exception:  # noqa: BLE001 - a bad token is simply not a reuse
        return
    if payload.get("token_type") != "refresh" or "jti" not in payload:
        return
    user_id = payload.get(settings.SIMPLE_JWT.get("USER_ID_CLAIM", "user_id"))
    if not user_id_claim_valid(user_id):
        return  # we never signed that: not a reuse of one of our tokens
    if BlacklistedToken.objects.filter(token__jti=payload["jti"]).exists():
        tokens_revoke_all(user_id=user_id)


def token_refresh(*, refresh: str) -> dict:
    """Rotate a refresh token: blacklist it and return a new pair.

    Raises `InvalidToken` for anything but a live refresh token. Presenting
    a token that was already rotated revokes every refresh token of its
    user (RFC 6819 §5.2.2.3 reuse detection).
    """
    token = _decode_refresh(refresh)
    with transaction.atomic():
        # Lock the token's row so two refreshes of one token cannot both win.
        outstanding = OutstandingToken.objects.select_for_update().filter(jti=token["jti"]).first()
        if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
            if outstanding is not None and outstanding.user_id:
                tokens_revoke_all(user_id=outstanding.user_id)
            raise InvalidToken()
        user = outstanding.user
        if user is None or not user.is_active:
            raise InvalidToken()
        BlacklistedToken.objects.create(token=outstanding)
        return tokens_for_user(user=user)


def token_revoke(*, refresh: str) -> None:
    """Log out: blacklist one refresh token. Raises `InvalidToken`."""
    token = _decode_refresh(refresh)
    token.blacklist()


def tokens_revoke_all(*, user_id) -> int:
    """Blacklist every outstanding refresh token of a user; return the count."""
    pending = OutstandingToken.objects.filter(user_id=user_id, blacklistedtoken__isnull=True)
    tokens = list(pending)
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in tokens], ignore_conflicts=True)
    return len(tokens)


# --- Roles ------------------------------------------------------------------


def _user_and_role(username: str, role: str) -> tuple[User, Group]:
    try:
        user = User.objects.get(username=username)
    except User.DoesNotExist as exc:
        raise UnknownUser() from exc
    try:
        group = Group.objects.get(name=role)
    except Group.DoesNotExist as exc:
        raise UnknownRole() from exc
    return user, group


def role_grant(*, username: str, role: str) -> User:
    """Give a user a role (a Django group). Raises UnknownUser/UnknownRole."""
    user, group = _user_and_role(username, role)
    user.groups.add(group)
    user_sync_admin_flags(user)
    return user


def role_revoke(*, username: str, role: str) -> User:
    """Take a role from a user. Raises UnknownUser/UnknownRole."""
    user, group = _user_and_role(username, role)
    user.groups.remove(group)
    user_sync_admin_flags(user)
    return user


# What other apps add to a user's profile: callables user -> dict, registered
# by the app that knows the facts (pan/apps.py: stored bytes and quota), so
# that accounts imports none of them.
PROFILE_FACTS: list = []


def user_profile(*, user: User) -> dict:
    facts = {}
    for add in PROFILE_FACTS:
        facts.update(add(user))
    return {
        "username": user.username,
        "roles": user.role_names(),
        "permissions": user.pan_permissions(),
        "is_staff": user.is_staff,
        **facts,
        # E-mail receipts of downloads and drops (events/services.py), off by default.
        "email": user.email,
        "receipts_by_email": user.receipts_by_email,
        "language": user.language,
    }


_PREFERENCES = {"email", "receipts_by_email", "language"}


def user_preferences_update(*, user: User, changes: dict) -> User:
    """Change the user's e-mail address, receipts by e-mail and language.

    Raises `ValidationFailed` (nothing changed) for an unknown field, an
    address that is not one, receipts turned on without an address, or a
    language the site does not speak.
    """
    from django.core.validators import validate_email

    if not isinstance(changes, dict) or set(changes) - _PREFERENCES:
        unknown = sorted(set(changes) - _PREFERENCES) if isinstance(changes, dict) else ["-"]
        raise ValidationFailed(fields={name: [_("This field cannot be changed here.")] for name in unknown})
    errors = {}
    email = changes.get("email", user.email)
    if not isinstance(email, str) or len(email) > 254:
        errors["email"] = [_("Enter a valid e-mail address.")]
    elif email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = [_("Enter a valid e-mail address.")]
    receipts = changes.get("receipts_by_email", user.receipts_by_email)
    if not isinstance(receipts, bool):
        errors["receipts_by_email"] = [_("Enter true or false.")]
    elif receipts and not email and "email" not in errors:
        errors["receipts_by_email"] = [_("Add an e-mail address to get receipts by e-mail.")]
    language = changes.get("language", user.language)
    if language not in {"", *(code for code, _name in settings.LANGUAGES)}:
        errors["language"] = [_("Choose one of the site's languages.")]
    if errors:
        raise ValidationFailed(fields=errors)
    user.email, user.receipts_by_email, user.language = email, receipts, language
    user.save(update_fields=["email", "receipts_by_email", "language"])
    return user


# --- API keys ---------------------------------------------------------------
#
# A key is `pan_` + 32 characters of `secrets.token_urlsafe` (192 random
# bits). Kept: its first characters (`prefix`, indexed, shown in lists) and
# an HMAC-SHA256 of the whole key under the server's secret (`digest`). A
# presented key is looked up by its prefix and its HMAC compared in constant
# time. Why a keyed fast hash and not a password hash: docs/api-keys.md.

API_KEY_MARK = "pan_"
API_KEY_RANDOM_BYTES = 24  # 32 URL-safe base64 characters
API_KEY_PREFIX_LENGTH = len(API_KEY_MARK) + 8
API_KEY_NAME_MAX = 100
# What a key looks like (longer random parts are allowed for keys of a later
# version); anything else is refused before the database is asked.
API_KEY_PATTERN = re.compile(r"pan_[A-Za-z0-9_-]{32,64}")
_API_KEY_SALT = "accounts.api-key"
# Any scope will do: `api_key_scopes = {"GET": ANY_SCOPE}` (`/api/me`).
ANY_SCOPE = "*"


def api_key_digest(raw: str, *, secret: str | bytes | None = None) -> str:
    """HMAC-SHA256 (hex) of a key under `secret` (default: `SECRET_KEY`)."""
    return salted_hmac(_API_KEY_SALT, raw, secret=secret, algorithm="sha256").hexdigest()


def _api_key_digests(raw: str) -> list[str]:
    # The current secret first, then SECRET_KEY_FALLBACKS: rotating the
    # secret (with the old one as a fallback) keeps keys working.
    return [api_key_digest(raw, secret=secret) for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]]


def _api_key_scopes_valid(scopes) -> list[str]:
    if not isinstance(scopes, list | tuple) or not scopes:
        raise ValidationFailed(fields={"scopes": [_("Choose at least one scope.")]})
    unknown = [scope for scope in scopes if not isinstance(scope, str) or scope not in API_KEY_SCOPES]
    if unknown:
        raise ValidationFailed(
            fields={"scopes": [_("Unknown scope. Choose from: %(scopes)s.") % {"scopes": ", ".join(API_KEY_SCOPES)}]}
        )
    return sorted(set(scopes))


def api_key_create(*, owner: User, name, scopes, expires_in=None) -> tuple[ApiKey, str]:
    """Make a key for `owner`; return it and the key itself (shown once, never kept).

    `name`: 1 to 100 characters; `scopes`: a non-empty list of
    `API_KEY_SCOPES`; `expires_in`: seconds from 1 to `PAN_MAX_EXPIRY`, or
    None (no end). At most `API_KEYS_PER_USER` keys per account (checked
    with the owner's row locked, so N requests at once cannot pass it).
    Raises `ValidationFailed` or `ApiKeyLimitReached`; nothing is kept then.
    """
    errors: dict[str, list] = {}
    try:
        name = validate_text("name", name, API_KEY_NAME_MAX)
        if not name:
            errors["name"] = [_("Give the key a name.")]
    except ValidationFailed as exc:
        errors.update(exc.fields)
    try:
        scopes = _api_key_scopes_valid(scopes)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    try:
        seconds = validate_whole_number("expires_in", expires_in, low=1, high=settings.PAN_MAX_EXPIRY)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed(fields=errors)
    raw = API_KEY_MARK + secrets.token_urlsafe(API_KEY_RANDOM_BYTES)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=owner.pk).values_list("pk", flat=True).first()
        if ApiKey.objects.filter(owner=owner).count() >= settings.API_KEYS_PER_USER:
            raise ApiKeyLimitReached()
        key = ApiKey.objects.create(
            owner=owner,
            name=name,
            prefix=raw[:API_KEY_PREFIX_LENGTH],
            digest=api_key_digest(raw),
            scopes=scopes,
            expires=expiry_from(seconds, timezone.now(), default=0),
        )
        audit_record(
            Action.API_KEY_CREATE,
            obj=key,
            actor=owner,
            detail={"prefix": key.prefix, "name": key.name, "scopes": key.scopes},
        )
    return key, raw


def api_key_list(*, owner: User):
    """The keys of `owner`, newest first."""
    return ApiKey.objects.filter(owner=owner)


def api_key_get_owned(*, owner: User, key_id) -> ApiKey:
    """One of `owner`'s keys; `ApiKeyNotFound` for any other (nothing to enumerate)."""
    key = ApiKey.objects.filter(owner=owner, pk=key_id).first() if isinstance(key_id, int) else None
    if key is None:
        raise ApiKeyNotFound()
    return key


def api_key_revoke(*, key: ApiKey, actor: User | None = None) -> None:
    """Revoke (delete) a key: from the commit on, it answers 401."""
    with transaction.atomic():
        deleted, _per_model = ApiKey.objects.filter(pk=key.pk).delete()
        if deleted:
            audit_record(
                Action.API_KEY_REVOKE,
                object_type="apikey",
                object_id=str(key.pk),
                actor=actor,
                detail={"prefix": key.prefix, "name": key.name, "owner": key.owner.username},
            )


def api_key_check(*, raw: str, now=None) -> ApiKey:
    """The live key `raw` is (its owner loaded), without recording its use.

    Raises `ApiKeyNotValid` (401) for anything that is not one: malformed,
    unknown, revoked, expired, or of an inactive owner.
    """
    if not isinstance(raw, str) or not API_KEY_PATTERN.fullmatch(raw):
        raise ApiKeyNotValid()
    digests = _api_key_digests(raw)
    found = None
    # Almost always one row; a shared prefix (48 random bits) is compared too.
    for candidate in ApiKey.objects.select_related("owner").filter(prefix=raw[:API_KEY_PREFIX_LENGTH]):
        if any(constant_time_compare(candidate.digest, digest) for digest in digests):
            found = candidate
    now = now or timezone.now()
    if found is None or has_expired(found.expires, now) or not found.owner.is_active:
        raise ApiKeyNotValid()
    return found


# A key's last use is written at most this often from one client (a new
# client is written at once).
API_KEY_USE_INTERVAL = timedelta(minutes=1)


def api_key_touch(*, key: ApiKey, client: str, now=None) -> bool:
    """Record a use of `key` from `client`; return True when a row was written.

    No write when the row already says this client within the last
    `API_KEY_USE_INTERVAL`. Otherwise one conditional UPDATE (the same
    condition in its WHERE clause), so of N requests at once one writes and
    the others find nothing to change: no read-modify-write race. A client
    other than the one last recorded is written at once, and audited once
    (`api_key_new_client`).
    """
    now = now or timezone.now()
    client = (client or "")[:80]
    cutoff = now - API_KEY_USE_INTERVAL
    if key.last_client == client and key.last_used is not None and key.last_used > cutoff:
        return False
    changed = (
        ApiKey.objects.filter(pk=key.pk)
        .filter(~Q(last_client=client) | Q(last_used__isnull=True) | Q(last_used__lte=cutoff))
        .update(last_used=now, last_client=client)
    )
    new_client = key.last_client != client
    key.last_used, key.last_client = now, client
    if changed and new_client:
        audit_record(
            Action.API_KEY_NEW_CLIENT,
            object_type="apikey",
            object_id=str(key.pk),
            actor=key.owner,
            client=client,
            detail={"prefix": key.prefix, "name": key.name},
        )
    return bool(changed)


def api_key_authenticate(*, raw: str, client: str) -> ApiKey:
    """`api_key_check`, then `api_key_touch`: the key a request signs in with."""
    key = api_key_check(raw=raw)
    api_key_touch(key=key, client=client)
    return key


def api_key_allows(*, key: ApiKey, scope: str | None) -> bool:
    """Does `key` hold `scope` (`ANY_SCOPE`: any key)? None, no scope declared: never."""
    if scope is None:
        return False
    return scope == ANY_SCOPE or scope in key.scopes
