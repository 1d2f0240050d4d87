"""Shares and their items; download grants that count what recipients take.

A share is what a person hands out: one code, optional password, title and
message, expiry, download limit, owner — and one or more items (files whose
bytes live in Django's storage under a random `storage_key`, or texts).
Every state is one queryset (`Share.objects.active()`, …) and `Share.state()`
is its Python twin; a test checks they agree.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.permissions import OwnedQuerySet
from project.lib.lifecycle import ExpiringQuerySet, HasLifecycle, Lifecycle, Stage, expiry_stage
from project.lib.secrets import SHARE_CODE_LENGTH, new_share_code, new_unique_name, share_code_display


def new_storage_key() -> str:
    # Independent of the public id: knowing a share's link says nothing about where its bytes are.
    return f"items/{secrets.token_urlsafe(24)}"


class ShareState(models.TextChoices):
    ACTIVE = "active", _("active")
    UPLOADING = "uploading", _("still uploading")
    EXPIRED = "expired", _("expired")
    REVOKED = "revoked", _("revoked")
    USED_UP = "used_up", _("used up")


SHARE_LIFECYCLE = Lifecycle(
    Stage(ShareState.REVOKED, lambda now: Q(revoked_at__isnull=False), lambda share, now: share.revoked_at is not None),
    expiry_stage(),
    Stage(
        ShareState.USED_UP,
        lambda now: Q(max_downloads__isnull=False, download_count__gte=F("max_downloads")),
        lambda share, now: share.max_downloads is not None and share.download_count >= share.max_downloads,
    ),
    Stage(ShareState.UPLOADING, lambda now: Q(complete=False), lambda share, now: not share.complete),
    otherwise=ShareState.ACTIVE,
)


class ShareQuerySet(OwnedQuerySet, ExpiringQuerySet):
    """One queryset per state (`SHARE_LIFECYCLE`); states are exclusive, in
    the order revoked, expired, used up, uploading, active."""

    lifecycle = SHARE_LIFECYCLE

    def revoked(self, now=None):
        return self.in_state(ShareState.REVOKED, now)

    def used_up(self, now=None):
        return self.in_state(ShareState.USED_UP, now)

    def uploading(self, now=None):
        return self.in_state(ShareState.UPLOADING, now)

    def active(self, now=None):
        """Shares a recipient can download now."""
        return self.in_state(ShareState.ACTIVE, now)

    def purgeable(self, now=None):
        """What `purge_expired` removes, whatever leases its downloads left:
        expired and used-up shares, shares revoked longer than
        `PAN_REVOKED_RETENTION`, and uploads abandoned (no new item) for
        `PAN_UPLOAD_LEFTOVER_AGE` seconds."""
        now = now or timezone.now()
        revoked_before = now - timedelta(seconds=settings.PAN_REVOKED_RETENTION)
        abandoned_before = now - timedelta(seconds=settings.PAN_UPLOAD_LEFTOVER_AGE)
        return self.filter(
            SHARE_LIFECYCLE.query(ShareState.EXPIRED, now)
            | SHARE_LIFECYCLE.query(ShareState.USED_UP, now)
            | Q(revoked_at__lte=revoked_before)
            | Q(complete=False, updated_at__lte=abandoned_before)
        )


class Share(HasLifecycle, models.Model):
    unique_name = models.CharField(_("id"), max_length=32, unique=True, default=new_unique_name)
    code = models.CharField(_("share code"), max_length=SHARE_CODE_LENGTH, default=new_share_code, db_index=True)
    # A Django password hash (Argon2) or empty: no password.
    password = models.CharField(_("password"), max_length=256, blank=True, default="")
    title = models.CharField(_("title"), max_length=200, blank=True, default="")
    message = models.TextField(_("message"), blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shares", verbose_name=_("owner")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True, db_index=True)
    max_downloads = models.PositiveIntegerField(_("maximum downloads"), null=True, blank=True)
    download_count = models.PositiveIntegerField(_("downloads"), default=0)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    # False while the owner is still adding items (created first, filled after).
    complete = models.BooleanField(_("complete"), default=True)
    # Set when a stored object was found missing: the owner sees the share is broken.
    broken_at = models.DateTimeField(_("broken"), null=True, blank=True)
    # Listed on /share/: any signed-in account with `visit` or `download`
    # opens it without the code (its password is still asked). Drop-off
    # deliveries are never listed (`share_update` refuses it).
    listed = models.BooleanField(_("listed"), default=False)

    objects = ShareQuerySet.as_manager()
    lifecycle = SHARE_LIFECYCLE

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("share")
        verbose_name_plural = _("shares")
        constraints = [
            models.CheckConstraint(
                condition=Q(max_downloads__isnull=True) | Q(max_downloads__gte=1),
                name="pan_share_max_downloads_positive",
            ),
        ]

    def __str__(self):
        return self.title or self.unique_name

    def get_absolute_url(self) -> str:
        return f"/f/{self.unique_name}/"

    def share_path(self) -> str:
        return f"/f/{self.unique_name}/?code={self.code}"

    @property
    def display_name(self) -> str:
        """What people call a share: its title, else its first item's name (and how many more)."""
        if self.title:
            return self.title
        items = list(self.items.all())
        if not items:
            return self.unique_name
        return items[0].name if len(items) == 1 else f"{items[0].name} (+{len(items) - 1})"

    @property
    def total_size(self) -> int:
        """Bytes of all items (uses the prefetched items when there are)."""
        return sum(item.size for item in self.items.all())

    @property
    def code_display(self) -> str:
        return share_code_display(self.code)

    @property
    def has_password(self) -> bool:
        return bool(self.password)

    @property
    def downloads_left(self) -> int | None:
        return None if self.max_downloads is None else max(0, self.max_downloads - self.download_count)


class ItemKind(models.TextChoices):
    FILE = "file", _("file")
    TEXT = "text", _("text")


class Item(models.Model):
    """One file or text of a share. `path` is display metadata only (folder
    uploads keep `photos/a.jpg`); bytes live under `storage_key`."""

    share = models.ForeignKey(Share, on_delete=models.CASCADE, related_name="items", verbose_name=_("share"))
    kind = models.CharField(_("kind"), max_length=8, choices=ItemKind.choices, default=ItemKind.FILE)
    name = models.CharField(_("name"), max_length=255)
    path = models.CharField(_("path"), max_length=1024)
    size = models.BigIntegerField(_("size"))
    content_type = models.CharField(_("content type"), max_length=100, default="application/octet-stream")
    sha256 = models.CharField("SHA-256", max_length=64)
    storage_key = models.CharField(_("storage key"), max_length=255, blank=True, default="")
    text = models.TextField(_("text"), blank=True, default="")
    text_format = models.CharField(_("text format"), max_length=32, blank=True, default="")
    position = models.PositiveIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("item")
        verbose_name_plural = _("items")
        constraints = [
            models.UniqueConstraint(fields=["share", "path"], name="pan_item_path_unique_in_share"),
            models.CheckConstraint(condition=Q(size__gte=0), name="pan_item_size_not_negative"),
        ]

    def __str__(self):
        return self.path


class DownloadGrant(models.Model):
    """A recipient's right to download a share, and the slot it holds.

    `key` is `s:<random>` for a browser session (kept in the session) or
    `c:<hash of client and user agent>` for tools. `counted_at` is when the
    grant last counted a download; within `PAN_DOWNLOAD_GRANT_WINDOW` after
    it, later items and resumes are free. `lease_until` reserves one of the
    share's `max_downloads` slots while bytes flow (`streams` of them);
    a lapsed lease reserves nothing, so a killed process never locks a share.
    A tool's second simultaneous download from byte 0 of the same target
    goes under a grant of its own, keyed `<key>+<n>`.
    """

    share = models.ForeignKey(Share, on_delete=models.CASCADE, related_name="grants", verbose_name=_("share"))
    key = models.CharField(_("key"), max_length=64)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    counted_at = models.DateTimeField(_("counted"), null=True, blank=True)
    # What was completed under the grant since it was last counted: item ids and "zip".
    fetched = models.JSONField(_("fetched"), default=list, blank=True)
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    streams = models.PositiveIntegerField(_("streams"), default=0)
    # A tool's targets with a response from byte 0 in flight under this lease (pan/grants.py).
    starting = models.JSONField(_("starting"), default=list, blank=True)
    # The lease served a range that stopped short: it lapses, it is never given back early.
    held = models.BooleanField(_("held"), default=False)

    class Meta:
        verbose_name = _("download grant")
        verbose_name_plural = _("download grants")
        constraints = [models.UniqueConstraint(fields=["share", "key"], name="pan_grant_unique_per_share")]
        indexes = [models.Index(fields=["share", "lease_until"], name="pan_grant_lease")]

    def __str__(self):
        return self.key


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
