"""The second factor's rules: TOTP, recovery codes, passkeys, the second sign-in step.

The services of `accounts` that concern a second factor (split from
`services.py` by meaning); pages, the API and the admin's door call them.
docs/second-factor.md is the user's and operator's account of the same.

Sign-in with a factor is two steps. `services.user_login` checks the
password within the login limits; for an account with a factor it answers
`SecondFactorNeeded` with a `LoginChallenge` token instead of `SignedIn`,
and neither a session nor a token exists yet. `login_second_step` completes
it with a TOTP code, a recovery code or a passkey assertion:

- the challenge is random (only its SHA-256 is stored), bound to its user,
  lives `MFA_CHALLENGE_SECONDS`, and is used once: the completing step locks
  its row and sets `used_at` with a conditional update, so of N simultaneous
  completions one wins;
- every code or assertion is counted before it is checked, in the same
  login-limit layers the password was counted in (the device's or the
  username's, and the client's): increment first, then decide, 429 with
  `Retry-After` once full. The password step of such an account gives
  nothing back and resets nothing: only a completed second step does, so
  repeating the password never buys more code guesses;
- a TOTP code is accepted once: the device keeps the last accepted time
  step and a conditional update refuses that step or an earlier one (RFC
  6238 §5.2); a recovery code is used once (a conditional update of its
  `used_at`); a passkey must be one of this user's, for this site's RP ID
  and origin, with a signature counter that moves forward (py_webauthn).

Set-up and removal need the password again (counted in the same login
layers) and are audited; so is every refused second step, with its reason.
"""

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

import pyotp
import webauthn
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from audit.models import Action
from audit.services import audit_record
from project.lib.attempts import Layer, attempts_give_back, attempts_reset, attempts_take
from project.lib.errors import ApplicationError, NotFound, PermissionDenied, TooManyRequests, ValidationFailed
from project.lib.secrets import SHARE_CODE_ALPHABET

from .errors import LocalPasswordsOff
from .models import ROLE_ADMIN, LoginChallenge, Passkey, RecoveryCode, TotpDevice

User = get_user_model()

TOTP_DIGITS = 6
TOTP_PERIOD = 30
# Codes of the step before and after now are accepted too (clock drift, a
# code typed as it turned): RFC 6238 §5.2 recommends at most one step.
TOTP_DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_LENGTH = 10  # 50 bits from the share-code alphabet, shown as XXXXX-XXXXX

METHOD_TOTP = "totp"
METHOD_RECOVERY = "recovery_code"
METHOD_PASSKEY = "passkey"


# --- Errors -----------------------------------------------------------------


class ChallengeInvalid(ApplicationError):
    status_code = 401
    code = "mfa_challenge_invalid"
    default_message = _("This sign-in has expired or is complete. Sign in again.")


class SecondFactorRejected(ApplicationError):
    status_code = 401
    code = "mfa_code_invalid"
    default_message = _("The code is not correct.")


class SecondFactorReused(SecondFactorRejected):
    code = "mfa_code_used"
    default_message = _("This code was already used. Wait for the next code, or use another recovery code.")


class PasskeyRejected(SecondFactorRejected):
    code = "mfa_passkey_invalid"
    default_message = _("The passkey could not be verified.")


class SecondFactorLimited(TooManyRequests):
    code = "too_many_attempts"


class SecondFactorSetupRequired(PermissionDenied):
    code = "mfa_setup_required"
    default_message = _("Administrators must set up a second factor first, on the account's security page.")


class FactorNotFound(NotFound):
    code = "factor_not_found"
    default_message = _("No such second factor.")


def _password_wrong() -> ValidationFailed:
    return ValidationFailed(fields={"password": [_("The password is not correct.")]})


# --- What an account has ----------------------------------------------------


def user_factor_methods(*, user) -> list[str]:
    """The ways this user can complete a sign-in (empty: no second factor)."""
    methods = []
    if TotpDevice.objects.filter(user=user).exists():
        methods.append(METHOD_TOTP)
    if Passkey.objects.filter(user=user).exists():
        methods.append(METHOD_PASSKEY)
    if methods and RecoveryCode.objects.filter(user=user, used_at__isnull=True).exists():
        methods.append(METHOD_RECOVERY)
    return methods


def user_has_factor(*, user) -> bool:
    return TotpDevice.objects.filter(user=user).exists() or Passkey.objects.filter(user=user).exists()


# The backend that signs a session in through the OpenID provider (accounts/oidc.py);
# Django keeps it in the session (BACKEND_SESSION_KEY). Named, not imported:
# accounts.oidc imports the services, which import this module.
SSO_BACKEND = "accounts.oidc.PanOIDCBackend"


def session_by_sso(session) -> bool:
    """Was this session signed in through the OpenID provider (not with a local password)?"""
    return session is not None and session.get(BACKEND_SESSION_KEY) == SSO_BACKEND


def user_must_set_up_factor(*, user, sso: bool = False) -> bool:
    """True when `MFA_REQUIRED_FOR_ADMINS` holds this user (an active holder
    of the `admin` role) to set up a second factor before anything else.

    `sso`: the session was signed in through the OpenID provider, which
    handles its own factors (SPEC §3: the second factor is for local
    accounts): never held. A local sign-in of the same account (a break-glass
    password) is. JWTs come only from local sign-ins (`POST /api/login`), so
    a JWT is always held."""
    if sso or not settings.MFA_REQUIRED_FOR_ADMINS or not getattr(user, "is_authenticated", False):
        return False
    # Holders of admin are staff (accounts/signals.py): the cheap test first.
    if not user.is_staff or not user.groups.filter(name=ROLE_ADMIN).exists():
        return False
    return not user_has_factor(user=user)


# --- Password re-entry --------------------------------------------------------


def _password_confirm(*, user, password: str, client: str) -> None:
    """The password again before a change to the factors, counted in the login layers."""
    from .services import login_layers

    layers = list(login_layers(user.username, client))
    attempts_take(layers)
    if not isinstance(password, str) or not password or not user.check_password(password):
        audit_record(Action.LOGIN_FAILED, object_type="user", object_id=str(user.pk), actor=user, client=client,
                     detail={"reason": "password_reentry"})  # fmt: skip
        raise _password_wrong()
    attempts_give_back(layers)


# --- TOTP -------------------------------------------------------------------


def totp_secret_new() -> str:
    """A fresh secret (160 bits, base32) for a set-up in progress."""
    return pyotp.random_base32(32)


def totp_provisioning_uri(*, user, secret: str) -> str:
    """The otpauth:// address the QR code carries (Key Uri Format)."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD).provisioning_uri(
        name=user.username, issuer_name=settings.MFA_TOTP_ISSUER
    )


def _totp_step_matching(secret: str, code: str, now: float) -> int | None:
    """The time step whose code `code` is (within the drift allowed), or None."""
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD)
    current = int(now // TOTP_PERIOD)
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if constant_time_compare(totp.at(step * TOTP_PERIOD), code):
            return step
    return None


def _code_digits(code) -> str | None:
    if not isinstance(code, str):
        return None
    digits = "".join(code.split())
    return digits if len(digits) == TOTP_DIGITS and digits.isascii() and digits.isdigit() else None


def totp_add(*, user, password: str, secret: str, code: str, client: str) -> list[str] | None:
    """Turn on an authenticator app: the password, the secret shown, a code from it.

    Returns new recovery codes when this is the account's first factor (shown
    once), else None. Raises `ValidationFailed` for a wrong password or code,
    `Conflict`-like `ValidationFailed` when an app is already on.
    """
    _password_confirm(user=user, password=password, client=client)
    digits = _code_digits(code)
    try:
        valid_secret = isinstance(secret, str) and len(pyotp.TOTP(secret).byte_secret()) >= 16
    except ValueError:  # not base32
        valid_secret = False
    if not valid_secret:
        raise ValidationFailed(fields={"code": [_("The set-up has expired. Start again.")]})
    step = _totp_step_matching(secret, digits, timezone.now().timestamp()) if digits else None
    if step is None:
        raise ValidationFailed(fields={"code": [_("The code is not correct.")]})
    with transaction.atomic():
        first = not user_has_factor(user=user)
        try:
            TotpDevice.objects.create(user=user, secret=secret, last_step=step)
        except IntegrityError as exc:
            raise ValidationFailed(fields={"code": [_("An authenticator app is already set up.")]}) from exc
        codes = _recovery_codes_replace(user) if first else None
    audit_record(Action.FACTOR_ADD, object_type="user", object_id=str(user.pk), actor=user, client=client,
                 detail={"method": METHOD_TOTP})  # fmt: skip
    return codes


def _totp_accept(user, code: str, now: float) -> bool:
    """Check a TOTP code and mark its step used. Raises `SecondFactorReused`."""
    device = TotpDevice.objects.filter(user=user).first()
    digits = _code_digits(code)
    if device is None or digits is None:
        return False
    step = _totp_step_matching(device.secret, digits, now)
    if step is None:
        return False
    # Conditional: of two requests with one code (or an older one) one wins.
    if not TotpDevice.objects.filter(pk=device.pk, last_step__lt=step).update(last_step=step):
        raise SecondFactorReused()
    return True


# --- Recovery codes -----------------------------------------------------------


def _recovery_normal(code) -> str:
    if not isinstance(code, str) or len(code) > 64:
        return ""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _recovery_digest(user, normal: str) -> str:
    return salted_hmac(f"accounts.recovery-code:{user.pk}", normal, algorithm="sha256").hexdigest()


def _recovery_codes_replace(user) -> list[str]:
    codes = ["".join(secrets.choice(SHARE_CODE_ALPHABET) for _i in range(RECOVERY_CODE_LENGTH))
             for _n in range(RECOVERY_CODE_COUNT)]  # fmt: skip
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create([RecoveryCode(user=user, digest=_recovery_digest(user, c)) for c in codes])
    half = RECOVERY_CODE_LENGTH // 2
    return [f"{c[:half]}-{c[half:]}" for c in codes]


def recovery_codes_renew(*, user, password: str, client: str) -> list[str]:
    """A new set of recovery codes (the old ones stop working); needs a factor."""
    _password_confirm(user=user, password=password, client=client)
    if not user_has_factor(user=user):
        raise ValidationFailed(_("Set up an authenticator app or a passkey first."))
    with transaction.atomic():
        codes = _recovery_codes_replace(user)
    audit_record(Action.RECOVERY_CODES, object_type="user", object_id=str(user.pk), actor=user, client=client)
    return codes


def recovery_codes_left(*, user) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def _recovery_accept(user, code: str) -> bool:
    normal = _recovery_normal(code)
    if len(normal) != RECOVERY_CODE_LENGTH:
        return False
    digest = _recovery_digest(user, normal)
    if RecoveryCode.objects.filter(user=user, digest=digest, used_at__isnull=True).update(used_at=timezone.now()):
        return True
    if RecoveryCode.objects.filter(user=user, digest=digest).exists():
        raise SecondFactorReused()
    return False


# --- Passkeys -----------------------------------------------------------------


@dataclass(frozen=True)
class WebOrigin:
    """Where a WebAuthn ceremony happens: the RP ID and the page's origin."""

    rp_id: str
    origin: str


def web_origin(*, scheme: str, host: str) -> WebOrigin:
    """The RP ID (`MFA_WEBAUTHN_RP_ID`, else the host without its port) and origin of a request."""
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return WebOrigin(rp_id=settings.MFA_WEBAUTHN_RP_ID or hostname.strip("[]"), origin=f"{scheme}://{host}")


def passkey_registration_options(*, user, where: WebOrigin) -> tuple[str, bytes]:
    """Options for navigator.credentials.create() (JSON) and their challenge, to keep."""
    options = webauthn.generate_registration_options(
        rp_id=where.rp_id,
        rp_name=settings.MFA_WEBAUTHN_RP_NAME,
        user_name=user.username,
        user_id=f"pan-user-{user.pk}".encode(),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=webauthn.base64url_to_bytes(p.credential_id))
            for p in Passkey.objects.filter(user=user)
        ],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED
        ),
    )
    return webauthn.options_to_json(options), options.challenge


def _credential_json(credential) -> dict | None:
    if isinstance(credential, str):
        if len(credential) > 64 * 1024:
            return None
        try:
            credential = json.loads(credential)
        except ValueError:
            return None
    return credential if isinstance(credential, dict) and isinstance(credential.get("id"), str) else None


def passkey_add(*, user, password: str, name: str, credential, challenge: bytes | None, where: WebOrigin,
                client: str) -> list[str] | None:  # fmt: skip
    """Register a passkey created for `challenge`. Returns recovery codes when it
    is the account's first factor, else None. Raises `ValidationFailed`."""
    _password_confirm(user=user, password=password, client=client)
    name = (name or "").strip()[:100] or str(_("Passkey"))
    parsed = _credential_json(credential)
    if parsed is None or not challenge:
        raise ValidationFailed(fields={"credential": [_("The passkey was not created. Try again.")]})
    try:
        verified = webauthn.verify_registration_response(
            credential=parsed, expected_challenge=challenge, expected_rp_id=where.rp_id, expected_origin=where.origin
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise ValidationFailed(fields={"credential": [_("The passkey could not be verified.")]}) from exc
    transports = parsed.get("response", {}).get("transports") if isinstance(parsed.get("response"), dict) else None
    with transaction.atomic():
        first = not user_has_factor(user=user)
        try:
            with transaction.atomic():
                passkey = Passkey.objects.create(
                    user=user,
                    name=name,
                    credential_id=bytes_to_base64url(verified.credential_id),
                    public_key=verified.credential_public_key,
                    sign_count=verified.sign_count,
                    transports=[t for t in transports or [] if isinstance(t, str)][:8],
                )
        except IntegrityError as exc:
            raise ValidationFailed(fields={"credential": [_("This passkey is already registered.")]}) from exc
        codes = _recovery_codes_replace(user) if first else None
    audit_record(Action.FACTOR_ADD, object_type="user", object_id=str(user.pk), actor=user, client=client,
                 detail={"method": METHOD_PASSKEY, "passkey": passkey.pk})  # fmt: skip
    return codes


def _passkey_accept(challenge_row: LoginChallenge, credential, where: WebOrigin) -> bool:
    parsed = _credential_json(credential)
    if parsed is None or not challenge_row.webauthn_challenge:
        raise PasskeyRejected()
    # Only this user's credentials: another account's passkey never completes this sign-in.
    passkey = Passkey.objects.filter(user=challenge_row.user_id, credential_id=parsed["id"]).first()
    if passkey is None:
        raise PasskeyRejected()
    try:
        verified = webauthn.verify_authentication_response(
            credential=parsed,
            expected_challenge=bytes(challenge_row.webauthn_challenge),
            expected_rp_id=where.rp_id,
            expected_origin=where.origin,
            credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise PasskeyRejected() from exc
    Passkey.objects.filter(pk=passkey.pk).update(sign_count=verified.new_sign_count, last_used=timezone.now())
    return True


# --- Removal -------------------------------------------------------------------


def _after_removal(user) -> None:
    if not user_has_factor(user=user):
        RecoveryCode.objects.filter(user=user).delete()


def totp_remove(*, user, password: str, client: str) -> None:
    _password_confirm(user=user, password=password, client=client)
    with transaction.atomic():
        if not TotpDevice.objects.filter(user=user).delete()[0]:
            raise FactorNotFound()
        _after_removal(user)
    audit_record(Action.FACTOR_REMOVE, object_type="user", object_id=str(user.pk), actor=user, client=client,
                 detail={"method": METHOD_TOTP})  # fmt: skip


def passkey_remove(*, user, password: str, passkey_id, client: str) -> None:
    """Remove one of the user's own passkeys (another user's is `FactorNotFound`)."""
    _password_confirm(user=user, password=password, client=client)
    try:
        passkey_id = int(passkey_id)
    except (TypeError, ValueError) as exc:
        raise FactorNotFound() from exc
    with transaction.atomic():
        if not Passkey.objects.filter(user=user, pk=passkey_id).delete()[0]:
            raise FactorNotFound()
        _after_removal(user)
    audit_record(Action.FACTOR_REMOVE, object_type="user", object_id=str(user.pk), actor=user, client=client,
                 detail={"method": METHOD_PASSKEY, "passkey": passkey_id})  # fmt: skip


def user_factors_reset(*, user, by=None) -> dict[str, int]:
    """Take every second factor of `user` away (an authenticator app, passkeys,
    recovery codes, challenges not yet completed): for someone who lost their
    device and their recovery codes. Their password alone signs them in again,
    and they set up a new factor (under `MFA_REQUIRED_FOR_ADMINS`, an admin at once).

    `by`: the admin doing it (the Django admin's action), or None for an
    operator at the server (`manage.py reset_factors`). Only an active staff
    member allowed to change users may; anyone else is `PermissionDenied` and
    nothing changes. Audited (`factor_remove`, `reset: true`) even when there
    was nothing to take away, so the request for it is on record. Returns
    what was removed."""
    if by is not None and not (by.is_active and by.is_staff and by.has_perm("accounts.change_user")):
        raise PermissionDenied(_("Only administrators can reset another account's second factors."))
    with transaction.atomic():
        removed = {
            "totp": TotpDevice.objects.filter(user=user).delete()[0],
            "passkeys": Passkey.objects.filter(user=user).delete()[0],
            "recovery_codes": RecoveryCode.objects.filter(user=user).delete()[0],
            "challenges": LoginChallenge.objects.filter(user=user, used_at__isnull=True).delete()[0],
        }
        audit_record(Action.FACTOR_REMOVE, object_type="user", object_id=str(user.pk), actor=by,
                     detail={"method": "all", "reset": True, "user": user.username, **removed})  # fmt: skip
    return removed


# --- The second sign-in step -----------------------------------------------------


@dataclass(frozen=True)
class SecondFactorNeeded:
    """The password was right; the sign-in awaits a second factor."""

    user: object
    challenge: str
    methods: list[str] = field(default_factory=list)
    expires_in: int = 0


def _challenge_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login_challenge_issue(*, user, layer: Layer) -> SecondFactorNeeded:
    """A challenge for `user`, whose password was counted in `layer`."""
    token = secrets.token_urlsafe(32)
    methods = user_factor_methods(user=user)
    seconds = settings.MFA_CHALLENGE_SECONDS
    LoginChallenge.objects.create(
        digest=_challenge_digest(token),
        user=user,
        layer=layer.key,
        webauthn_challenge=secrets.token_bytes(32) if METHOD_PASSKEY in methods else None,
        expires_at=timezone.now() + timedelta(seconds=seconds),
    )
    return SecondFactorNeeded(user=user, challenge=token, methods=methods, expires_in=seconds)


def _challenge_find(token) -> LoginChallenge | None:
    if not isinstance(token, str) or not token or len(token) > 128:
        return None
    return LoginChallenge.objects.select_related("user").filter(digest=_challenge_digest(token)).first()


def login_passkey_options(*, challenge: str, where: WebOrigin) -> str | None:
    """Options for navigator.credentials.get() for this sign-in (JSON), or None."""
    row = _challenge_find(challenge)
    if row is None or not row.webauthn_challenge or row.used_at or row.expires_at <= timezone.now():
        return None
    options = webauthn.generate_authentication_options(
        rp_id=where.rp_id,
        challenge=bytes(row.webauthn_challenge),
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=webauthn.base64url_to_bytes(p.credential_id))
            for p in Passkey.objects.filter(user=row.user_id)
        ],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return webauthn.options_to_json(options)


def _failed(user_id, client: str, reason: str) -> None:
    audit_record(Action.FACTOR_FAILED, object_type="user", object_id=str(user_id or ""), client=client,
                 detail={"reason": reason})  # fmt: skip


def login_second_step(*, challenge: str, client: str, code: str = "", passkey=None, where: WebOrigin | None = None):
    """Complete a sign-in with a TOTP code, a recovery code or a passkey assertion.

    Returns `services.SignedIn` (the user and a fresh device token). Raises
    `ChallengeInvalid` (unknown, expired or used challenge),
    `LocalPasswordsOff` (403: `OIDC_ONLY` and not a break-glass account),
    `SecondFactorLimited` (429, the login layers are full),
    `SecondFactorReused` (a TOTP code of a step already used, a used recovery
    code), `PasskeyRejected` or `SecondFactorRejected`. Every refusal is audited.
    """
    from .services import SignedIn, client_layer_for, layer_named, local_passwords_off, login_device_issue

    row = _challenge_find(challenge)
    now = timezone.now()
    if row is None or row.used_at is not None or row.expires_at <= now:
        if row is not None:
            _failed(row.user_id, client, "challenge_used" if row.used_at else "challenge_expired")
        else:
            _failed(None, client, "challenge_unknown")
        raise ChallengeInvalid()
    if local_passwords_off() and row.user.username not in settings.OIDC_BREAK_GLASS_USERS:
        # `OIDC_ONLY` turned on (or the account left the break-glass list) after
        # the password step: the second step of a local sign-in is refused too,
        # before any code is counted or checked.
        _failed(row.user_id, client, "local_passwords_off")
        raise LocalPasswordsOff()
    counted, client_layer = layer_named(row.layer), client_layer_for(client)
    try:
        attempts_take([counted, client_layer])
    except TooManyRequests as exc:
        _failed(row.user_id, client, "throttled")
        raise SecondFactorLimited(retry_after=exc.retry_after) from exc
    user = row.user
    method = METHOD_PASSKEY if passkey is not None else None
    try:
        with transaction.atomic():
            # The row lock queues simultaneous completions of one challenge
            # (PostgreSQL); the conditional update below decides everywhere.
            locked = LoginChallenge.objects.select_for_update().filter(pk=row.pk).first()
            if locked is None or locked.used_at is not None or locked.expires_at <= timezone.now():
                raise ChallengeInvalid()
            if passkey is not None:
                if where is None:
                    raise PasskeyRejected()
                accepted = _passkey_accept(row, passkey, where)
            elif _code_digits(code) is not None:
                method = METHOD_TOTP
                accepted = _totp_accept(user, code, now.timestamp())
            else:
                method = METHOD_RECOVERY
                accepted = _recovery_accept(user, code)
            if not accepted:
                raise SecondFactorRejected()
            if not LoginChallenge.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=timezone.now()):
                raise ChallengeInvalid()
    except ApplicationError as exc:
        _failed(row.user_id, client, exc.code)
        raise
    if not user.is_active:
        raise ChallengeInvalid()
    attempts_give_back([client_layer])
    attempts_reset([counted])
    audit_record(Action.LOGIN, object_type="user", object_id=str(user.pk), actor=user, client=client,
                 detail={"second_factor": method})  # fmt: skip
    return SignedIn(user=user, device=login_device_issue(user=user))


def login_challenges_purge(*, now=None) -> int:
    """Delete challenges that expired (kept a day for the record of their use)."""
    now = now or timezone.now()
    return LoginChallenge.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()[0]
