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
