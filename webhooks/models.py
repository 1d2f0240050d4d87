"""Webhook endpoints and their deliveries (docs/webhooks.md)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from project.lib.secrets import new_unique_name

URL_MAX_LENGTH = 2048
# At most this much of a receiver's answer is read and kept (docs/webhooks.md).
RESPONSE_PREFIX_BYTES = 1024


class Event(models.TextChoices):
    SHARE_CREATED = "share.created", _("A share was created")
    SHARE_COMPLETED = "share.completed", _("A share finished uploading")
    DOWNLOAD_COMPLETED = "download.completed", _("A download completed")
    DROP_RECEIVED = "drop.received", _("Files were dropped into a request")
    LINK_EXPIRED = "link.expired", _("A short link expired or was used up")


class Endpoint(models.Model):
    unique_name = models.CharField(_("id"), max_length=32, unique=True, default=new_unique_name)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
    )
    url = models.CharField(_("URL"), max_length=URL_MAX_LENGTH)
    events = models.JSONField(_("events"), default=list)
    # Standard Webhooks' `whsec_` + base64 of 32 random bytes; shown to its owner once.
    secret = models.CharField(_("secret"), max_length=100)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed")


class Delivery(models.Model):
    """One event for one endpoint: the same `message_id` (`webhook-id`) on every try."""

    endpoint = models.ForeignKey(
        Endpoint, verbose_name=_("endpoint"), on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(_("event"), max_length=40, choices=Event.choices)
    message_id = models.CharField(_("webhook id"), max_length=64, unique=True)
    body = models.TextField(_("body"))  # the JSON sent, byte for byte as signed
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_status_code = models.PositiveIntegerField(_("last status code"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    last_response = models.TextField(_("start of the last response"), blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["endpoint", "-created_at"], name="webhooks_delivery_recent")]

    def __str__(self) -> str:
        return f"{self.event} {self.message_id}"
