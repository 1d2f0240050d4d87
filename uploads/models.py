"""A resumable upload (tus 1.0.0, SPEC §4.4b): bytes on their way into a
share or a drop-off request, kept across dropped connections and processes.

The row is the upload's whole state, so any server process can take its
next PATCH: how many bytes are stored (`offset`), what was reserved at
creation (`reserved`: the quota, the share's and the request's limits are
held for it until it completes or goes), where the bytes are
(`storage_key`; on S3 the multipart upload's id, its parts and the tail
shorter than a part), and the lease of the one PATCH that may write now.
The upload URL's token is stored only as its SHA-256.
"""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

TOKEN_BYTES = 24  # 192 bits


def new_upload_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Upload(models.Model):
    token_hash = models.CharField(max_length=64, unique=True)
    # Whose bytes these become (the quota counted): the uploader, or a request's owner.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads", verbose_name=_("owner")
    )
    # The target: a share still uploading, a drop-off request, or neither (a new share at the end).
    share = models.ForeignKey(
        "pan.Share", on_delete=models.CASCADE, null=True, blank=True, related_name="uploads", verbose_name=_("share")
    )
    request = models.ForeignKey(
        "dropoff.DropRequest",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="uploads",
        verbose_name=_("request"),
    )
    client = models.CharField(max_length=64, blank=True, default="")  # a dropper's address, for the audit
    path = models.CharField(_("path"), max_length=1024)
    content_type = models.CharField(max_length=255, blank=True, default="")
    name = models.CharField(max_length=100, blank=True, default="")  # a dropper's name and note
    note = models.TextField(blank=True, default="")
    length = models.PositiveBigIntegerField(_("length"), null=True, blank=True)  # None: deferred
    reserved = models.PositiveBigIntegerField(_("reserved bytes"))
    offset = models.PositiveBigIntegerField(_("bytes stored"), default=0)
    storage_key = models.CharField(max_length=255)
    # S3 only: the multipart upload, its parts ([etag, size] for part 1, 2, ...) and the tail's size.
    multipart_id = models.CharField(max_length=1024, blank=True, default="")
    parts = models.JSONField(default=list, blank=True)
    tail_size = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), db_index=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    # The one PATCH writing now (any process): a random owner and the end of its lease.
    lease = models.CharField(max_length=32, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)
    # Once complete: the share the item landed in, and a drop's receipt key.
    result_share = models.ForeignKey("pan.Share", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    receipt_key = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        verbose_name = _("resumable upload")
        verbose_name_plural = _("resumable uploads")
        indexes = [models.Index(fields=["owner", "completed_at"]), models.Index(fields=["request", "completed_at"])]

    def __str__(self):
        return self.path

    @property
    def is_complete(self) -> bool:
        return self.completed_at is not None

    @property
    def lacking(self) -> int:
        """What this upload may still receive: up to its length, or its reservation while the length is deferred."""
        return (self.reserved if self.length is None else self.length) - self.offset
