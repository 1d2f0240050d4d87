from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from .validators import LOOK_ALIKE_MESSAGE, UsernameValidator, username_skeleton

# The seeded roles (Django groups) and what they may do (SPEC §3).
ROLE_ADMIN = "admin"
ROLE_UPLOADERS = "uploaders"
ROLE_USERS = "users"
PERMISSIONS = {
    "upload": _("Can upload files"),
    "manage": _("Can delete or revoke any file and see every file"),
    "visit": _("Can see the share list"),
    "download": _("Can download files"),
}
SEEDED_ROLES = {
    ROLE_ADMIN: ["upload", "manage"],
    ROLE_UPLOADERS: ["upload"],
    ROLE_USERS: ["visit", "download"],
}


class User(AbstractUser):
    username_validator = UsernameValidator()

    username = models.CharField(
        _("username"),
        max_length=150,
        unique=True,
        validators=[username_validator],
        help_text=_("2–150 characters: letters, digits, CJK characters, _ - and ."),
        error_messages={"unique": _("A user with that username already exists.")},
    )
    # `username_skeleton(username)`, kept by `save()`: two names that look
    # alike cannot both be stored, however they arrive. Empty only for a
    # look-alike that existed before the rule (migration 0004).
    username_skeleton = models.CharField(
        _("username look"), max_length=64, unique=True, null=True, blank=True, editable=False
    )

    # E-mail receipts (events/services.py): one message per completed
    # download of the user's shares and per drop into their requests, to
    # `email`, in `language` (empty: the site's). Off by default.
    receipts_by_email = models.BooleanField(_("e-mail receipts"), default=False)
    language = models.CharField(_("language"), max_length=16, blank=True, default="", choices=settings.LANGUAGES)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        permissions = [(codename, label) for codename, label in PERMISSIONS.items()]
        constraints = [
            # "Alice" and "alice" are one person to whoever reads a share list.
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
        ]

    @classmethod
    def from_db(cls, db, field_names, values):
        user = super().from_db(db, field_names, values)
        user._username_as_loaded = user.__dict__.get("username")
        return user

    def clean(self):
        super().clean()
        if self.username and self._username_changed():
            others = User.objects.exclude(pk=self.pk) if self.pk else User.objects.all()
            if others.filter(username_skeleton=username_skeleton(self.username)).exists():
                raise ValidationError({"username": LOOK_ALIKE_MESSAGE})

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if self._username_changed() and (update_fields is None or "username" in update_fields):
            self.username_skeleton = username_skeleton(self.username)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "username_skeleton"}
        super().save(*args, **kwargs)
        self._username_as_loaded = self.username

    def _username_changed(self) -> bool:
        # Unchanged names keep their stored skeleton; this is what lets a
        # look-alike from before the rule (skeleton empty) still be saved.
        return self._state.adding or self.username != getattr(self, "_username_as_loaded", None)

    def role_names(self) -> list[str]:
        return sorted(self.groups.values_list("name", flat=True))

    def pan_permissions(self) -> list[str]:
        return sorted(p for p in PERMISSIONS if self.has_perm(f"accounts.{p}"))


class ExternalIdentity(models.Model):
    """An account at an OpenID provider that signs in as `user` (docs/sign-in.md).

    The provider names its account by `sub`, unique only within its issuer:
    the link is the pair, never the e-mail address or the username, which
    the provider's users may change.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="external_identities",
    )
    issuer = models.CharField(_("issuer"), max_length=255)
    subject = models.CharField(_("subject"), max_length=255)
    created_at = models.DateTimeField(_("linked"), auto_now_add=True)
    last_sign_in = models.DateTimeField(_("last sign-in"), null=True, blank=True)

    class Meta:
        verbose_name = _("single sign-on identity")
        verbose_name_plural = _("single sign-on identities")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="accounts_external_identity_unique"),
        ]

    def __str__(self):
        return f"{self.issuer} {self.subject}"


# --- The second factor (accounts/factors.py, docs/second-factor.md) ----------


class TotpDevice(models.Model):
    """An authenticator app's shared secret (RFC 6238: SHA-1, 30 s, 6 digits)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device")
    secret = models.CharField(max_length=64)  # base32, as the app was given it
    # The last time step a code was accepted for: a code of this step or an
    # earlier one is refused (RFC 6238 §5.2, "MUST NOT" accept it twice).
    last_step = models.BigIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("authenticator app")
        verbose_name_plural = _("authenticator apps")

    def __str__(self):
        return f"TOTP of user {self.user_id}"


class RecoveryCode(models.Model):
    """One single-use recovery code, kept as a keyed hash (the code is shown once)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes")
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "digest"], name="accounts_recovery_code_unique")]

    def __str__(self):
        return f"recovery code {self.pk} of user {self.user_id}"


class Passkey(models.Model):
    """A WebAuthn credential (platform or roaming authenticator)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passkeys")
    name = models.CharField(_("name"), max_length=100)
    # base64url of the credential id, unique across users (WebAuthn §6.1: an
    # authenticator never gives one id to two accounts).
    credential_id = models.CharField(max_length=1400, unique=True)
    public_key = models.BinaryField()
    sign_count = models.BigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created", "id"]
        verbose_name = _("passkey")
        verbose_name_plural = _("passkeys")

    def __str__(self):
        return self.name


class LoginChallenge(models.Model):
    """A sign-in whose password was right and whose second factor is awaited.

    The token handed out is random; only its hash is kept. Single use: the
    step that completes it sets `used_at` under a row lock and a conditional
    update. `layer` names the login-limit layer the password was counted in
    (the device's or the username's): wrong codes count there too.
    """

    digest = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    layer = models.CharField(max_length=120)
    # The WebAuthn challenge a passkey must sign to complete this sign-in.
    webauthn_challenge = models.BinaryField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"sign-in challenge {self.pk} of user {self.user_id}"


# --- API keys (SPEC §3) ------------------------------------------------------------
#
# What a key may do: one scope per kind of work; every API view names, per
# method, the scope a key needs (`api_key_scopes`, accounts/authentication.py).
API_KEY_SCOPES = {
    "shares:read": _("Read shares"),
    "shares:write": _("Create, change and delete shares, upload"),
    "requests:write": _("Drop-off requests"),
    "links:read": _("Read short links"),
    "links:write": _("Create, change and delete short links"),
}


class ApiKey(models.Model):
    """A named key that signs its owner in to the API, within its scopes.

    Only `digest` (HMAC-SHA256 of the whole key under a server secret) and
    `prefix` (the first characters, shown in lists and looked up by) are kept:
    the key itself is shown once, when it is made (docs/api-keys.md).
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, db_index=True)
    digest = models.CharField(_("digest"), max_length=64, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    expires = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used = models.DateTimeField(_("last used"), null=True, blank=True)
    last_client = models.CharField(_("last client"), max_length=80, blank=True, default="")

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"
