"""Shared files: the bytes live in Django's storage under `storage_name`."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Share codes: no look-alikes (0/O, 1/I/L), upper case; input is upper-cased
# before the constant-time comparison, so codes are case-insensitive.
SHARE_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
SHARE_CODE_LENGTH = 6


def new_share_code() -> str:
    return "".join(secrets.choice(SHARE_CODE_ALPHABET) for _ in range(SHARE_CODE_LENGTH))


def new_unique_name() -> str:
    # 128 random bits, URL-safe: unguessable and never derived from the client's name.
    return secrets.token_urlsafe(16)


class FileState(models.TextChoices):
    ACTIVE = "active", _("active")
    EXPIRED = "expired", _("expired")
    REVOKED = "revoked", _("revoked")
    USED_UP = "used_up", _("used up")


class SharedFileQuerySet(models.QuerySet):
    def active(self, now=None):
        now = now or timezone.now()
        return self.filter(
            Q(revoked_at__isnull=True),
            Q(expires_at__isnull=True) | Q(expires_at__gt=now),
            Q(max_downloads__isnull=True) | Q(download_count__lt=F("max_downloads")),
        )

    def visible_to(self, user):
        """What a user may manage: their own files, or all with `manage`."""
        if user.has_perm("accounts.manage"):
            return self.all()
        return self.filter(owner=user)


class SharedFile(models.Model):
    unique_name = models.CharField(_("unique name"), max_length=32, unique=True, default=new_unique_name)
    file_name = models.CharField(_("file name"), max_length=255)
    size = models.BigIntegerField(_("size"))
    content_type = models.CharField(_("content type"), max_length=100, default="application/octet-stream")
    sha256 = models.CharField("SHA-256", max_length=64)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shared_files", verbose_name=_("owner")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True, db_index=True)
    max_downloads = models.PositiveIntegerField(_("maximum downloads"), null=True, blank=True)
    download_count = models.PositiveIntegerField(_("downloads"), default=0)
    # Full downloads under way that hold one of the `max_downloads` slots.
    downloads_in_flight = models.PositiveIntegerField(default=0)
    share_code = models.CharField(_("share code"), max_length=SHARE_CODE_LENGTH, default=new_share_code)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = SharedFileQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("shared file")
        verbose_name_plural = _("shared files")
        constraints = [
            models.CheckConstraint(condition=Q(size__gte=0), name="pan_sharedfile_size_not_negative"),
            models.CheckConstraint(
                condition=Q(max_downloads__isnull=True) | Q(max_downloads__gte=1),
                name="pan_sharedfile_max_downloads_positive",
            ),
        ]

    def __str__(self):
        return f"{self.file_name} ({self.unique_name})"

    def get_absolute_url(self) -> str:
        return f"/f/{self.unique_name}/"

    @property
    def storage_name(self) -> str:
        return storage_name_for(self.unique_name)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def state(self, now=None) -> str:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return FileState.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return FileState.EXPIRED
        if self.max_downloads is not None and self.download_count >= self.max_downloads:
            return FileState.USED_UP
        return FileState.ACTIVE

    def share_path(self) -> str:
        return f"/f/{self.unique_name}/?code={self.share_code}"


def storage_name_for(unique_name: str) -> str:
    return f"files/{unique_name}"


def _video_name(instance, filename: str) -> str:
    # Like shared files: a random name, never the uploader's.
    return f"videos/{secrets.token_urlsafe(16)}"


class Video(models.Model):
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(_("file"), upload_to=_video_name, max_length=255)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    size = models.BigIntegerField(_("size"), default=0, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("video")
        verbose_name_plural = _("videos")

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return f"/videos/{self.pk}/"


class Post(models.Model):
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    video = models.ForeignKey(
        Video, verbose_name=_("video"), null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )
    published = models.BooleanField(_("published"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("post")
        verbose_name_plural = _("posts")

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return f"/post/{self.pk}/"
