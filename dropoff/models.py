"""Drop-off requests: a code an account holder hands out so that people
without an account can send them files (SPEC §4.6).

Each drop becomes a `pan.Share` owned by the requester; the dropper keeps
only a receipt. States are querysets (`DropRequest.objects.open()` …) and
`DropRequest.state()` is their twin.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.permissions import OwnedQuerySet
from project.lib.lifecycle import ExpiringQuerySet, HasLifecycle, Lifecycle, Stage, expiry_stage
from project.lib.secrets import SHARE_CODE_LENGTH, new_share_code, new_unique_name, share_code_display


def new_receipt_key() -> str:
    return secrets.token_urlsafe(18)


class RequestState(models.TextChoices):
    OPEN = "open", _("open")
    FULL = "full", _("full")
    CLOSED = "closed", _("closed")
    EXPIRED = "expired", _("expired")


REQUEST_LIFECYCLE = Lifecycle(
    Stage(
        RequestState.CLOSED, lambda now: Q(closed_at__isnull=False), lambda request, now: request.closed_at is not None
    ),
    expiry_stage(),
    Stage(
        RequestState.FULL,
        lambda now: Q(received_files__gte=F("max_files")) | Q(received_bytes__gte=F("max_bytes")),
        lambda request, now: request.received_files >= request.max_files or request.received_bytes >= request.max_bytes,
    ),
    otherwise=RequestState.OPEN,
)


class DropRequestQuerySet(OwnedQuerySet, ExpiringQuerySet):
    """Exclusive states (`REQUEST_LIFECYCLE`), in the order closed, expired, full, open."""

    lifecycle = REQUEST_LIFECYCLE

    def closed(self, now=None):
        return self.in_state(RequestState.CLOSED, now)

    def full(self, now=None):
        return self.in_state(RequestState.FULL, now)

    def open(self, now=None):
        """Requests that take drops now."""
        return self.in_state(RequestState.OPEN, now)


class DropRequest(HasLifecycle, models.Model):
    unique_name = models.CharField(_("id"), max_length=32, unique=True, default=new_unique_name)
    code = models.CharField(_("request code"), max_length=SHARE_CODE_LENGTH, unique=True, default=new_share_code)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="drop_requests", verbose_name=_("owner")
    )
    title = models.CharField(_("title"), max_length=200, blank=True, default="")
    message = models.TextField(_("message"), blank=True, default="")
    # A Django password hash (Argon2) or empty: no password.
    password = models.CharField(_("password"), max_length=256, blank=True, default="")
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    max_files = models.PositiveIntegerField(_("maximum files"))
    max_bytes = models.PositiveBigIntegerField(_("maximum bytes"))
    # Written under a row lock with each drop (dropoff.services.drop_receive).
    received_files = models.PositiveIntegerField(_("files received"), default=0)
    received_bytes = models.PositiveBigIntegerField(_("bytes received"), default=0)

    objects = DropRequestQuerySet.as_manager()
    lifecycle = REQUEST_LIFECYCLE

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("drop-off request")
        verbose_name_plural = _("drop-off requests")

    def __str__(self):
        return self.title or self.unique_name

    def get_absolute_url(self) -> str:
        return f"/r/{self.code}/"

    @property
    def code_display(self) -> str:
        return share_code_display(self.code)

    @property
    def has_password(self) -> bool:
        return bool(self.password)

    @property
    def files_left(self) -> int:
        return max(self.max_files - self.received_files, 0)

    @property
    def bytes_left(self) -> int:
        return max(self.max_bytes - self.received_bytes, 0)

    @property
    def state_label(self) -> str:
        return RequestState(self.state()).label


class Drop(models.Model):
    """One delivery into a request: its files are the items of `share`."""

    request = models.ForeignKey(DropRequest, on_delete=models.CASCADE, related_name="drops")
    share = models.OneToOneField("pan.Share", on_delete=models.CASCADE, related_name="drop")
    # What the dropper chose to say about themselves, shown to the requester.
    name = models.CharField(_("name"), max_length=100, blank=True, default="")
    note = models.TextField(_("note"), blank=True, default="")
    # The dropper's receipt is at /r/<code>/receipt/<receipt_key>/.
    receipt_key = models.CharField(max_length=32, unique=True, default=new_receipt_key)
    created_at = models.DateTimeField(_("received"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("drop")
        verbose_name_plural = _("drops")

    def __str__(self):
        return f"{self.name or '-'} → {self.request}"
