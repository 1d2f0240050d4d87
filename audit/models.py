"""The audit log: one row per thing that happened, never changed afterwards.

Rows are written only by `audit.services.audit_record`, called from the
services that do the things (SPEC §4.7). A row is never updated or deleted
through the ORM's usual paths (`save` of an existing row, `delete`, and
`QuerySet.delete` raise); the one change ever made is the retention step,
which replaces old client addresses by a keyed hash
(`audit.services.audit_addresses_hash`).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    LOGIN = "login", _("Signed in")
    LOGIN_FAILED = "login_failed", _("Sign-in failed")
    LOGIN_THROTTLED = "login_throttled", _("Sign-in throttled")
    SHARE_CREATE = "share_create", _("Share created")
    SHARE_CODE = "share_code", _("Share code renewed")
    SHARE_REVOKE = "share_revoke", _("Share revoked")
    SHARE_RESTORE = "share_restore", _("Share restored")
    SHARE_DELETE = "share_delete", _("Share deleted")
    DOWNLOAD = "download", _("Download completed")
    GUESSING_LOCK = "guessing_lock", _("Share locked against guessing")
    LINK_CREATE = "link_create", _("Short link created")
    LINK_UPDATE = "link_update", _("Short link changed")
    LINK_DELETE = "link_delete", _("Short link deleted")
    REQUEST_CREATE = "request_create", _("Drop-off request created")
    REQUEST_CLOSE = "request_close", _("Drop-off request closed")
    REQUEST_REOPEN = "request_reopen", _("Drop-off request reopened")
    REQUEST_DELETE = "request_delete", _("Drop-off request deleted")
    DROP = "drop", _("Files dropped")
    ROLE_GRANT = "role_grant", _("Role granted")
    ROLE_REVOKE = "role_revoke", _("Role revoked")
    API_KEY_CREATE = "api_key_create", _("API key created")
    API_KEY_NEW_CLIENT = "api_key_new_client", _("API key used from a new client")
    API_KEY_REVOKE = "api_key_revoke", _("API key revoked")


class Via(models.TextChoices):
    WEB = "web", _("Web or API")
    COMMAND = "command", _("Command or shell")


class AppendOnly(models.QuerySet):
    def delete(self):
        raise PermissionError("the audit log is append-only")


class AuditEvent(models.Model):
    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,  # rows outlive the users they name
    )
    # Kept as written: the name stays readable after the account is deleted.
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=32, choices=Action.choices, db_index=True)
    object_type = models.CharField(_("object type"), max_length=32, blank=True, db_index=True)
    object_id = models.CharField(_("object"), max_length=64, blank=True, db_index=True)
    # The client address, replaced by "hash:<keyed hash>" after AUDIT_ADDRESS_RETENTION days.
    client = models.CharField(_("client"), max_length=80, blank=True)
    via = models.CharField(_("via"), max_length=16, choices=Via.choices, default=Via.WEB)
    # What else a reader needs (a role's name, an item count, a reason): never a password, code or token.
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    objects = AppendOnly.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["object_type", "object_id", "-at"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name or '-'} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("the audit log is append-only")
