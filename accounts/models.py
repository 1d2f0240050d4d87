from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from .validators import UsernameValidator

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
        help_text=_("3–150 characters: letters, digits, CJK characters, _ - and ."),
        error_messages={"unique": _("A user with that username already exists.")},
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        permissions = [(codename, label) for codename, label in PERMISSIONS.items()]
        constraints = [
            # "Alice" and "alice" are one person to whoever reads a share list.
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
        ]

    def role_names(self) -> list[str]:
        return sorted(self.groups.values_list("name", flat=True))

    def pan_permissions(self) -> list[str]:
        return sorted(p for p in PERMISSIONS if self.has_perm(f"accounts.{p}"))
