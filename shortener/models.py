"""Short links and their daily visit counts. A link's states are querysets
(`ShortLink.objects.in_state(LinkState.ACTIVE)` …) and `ShortLink.state()`
is their twin (project/lib/lifecycle.py); a test checks they agree."""

import re

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from project.lib.lifecycle import ExpiringQuerySet, HasLifecycle, Lifecycle, Stage, expiry_stage

# Generated keys are this long; custom slugs may be 3–64 characters.
KEY_LENGTH = 8
KEY_MAX_LENGTH = 64
TARGET_MAX_LENGTH = 2048
# What any key (generated or custom) can look like; anything else is unknown.
KEY_PATTERN = re.compile(rf"^[A-Za-z0-9_-]{{1,{KEY_MAX_LENGTH}}}$")


class LinkState(models.TextChoices):
    ACTIVE = "active", _("active")
    PAUSED = "paused", _("paused")
    EXPIRED = "expired", _("expired")
    USED_UP = "used_up", _("visit limit reached")


# In the order the redirect judges them: paused, expired, used up, active.
LINK_LIFECYCLE = Lifecycle(
    Stage(LinkState.PAUSED, lambda now: Q(paused=True), lambda link, now: link.paused),
    expiry_stage(),
    Stage(
        LinkState.USED_UP,
        lambda now: Q(max_visits__isnull=False, visit_count__gte=F("max_visits")),
        lambda link, now: link.max_visits is not None and link.visit_count >= link.max_visits,
    ),
    otherwise=LinkState.ACTIVE,
)


class ShortLinkQuerySet(ExpiringQuerySet):
    lifecycle = LINK_LIFECYCLE


class ShortLink(HasLifecycle, models.Model):
    key = models.CharField(_("key"), max_length=KEY_MAX_LENGTH, unique=True)
    target_url = models.CharField(_("target URL"), max_length=TARGET_MAX_LENGTH)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="short_links",
    )
    is_custom = models.BooleanField(_("custom name"), default=False)
    # The owner's one plain link (generated key, no expiry, limit or password)
    # for this target, handed out again for the same URL; one per owner and
    # target (anonymous: per target), held by the unique constraints below.
    # A change of target, expiry, limit or password takes it off for good.
    is_plain = models.BooleanField(_("handed out for the same URL"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    max_visits = models.PositiveIntegerField(_("visit limit"), null=True, blank=True)
    visit_count = models.PositiveBigIntegerField(_("visits"), default=0)
    last_visit = models.DateTimeField(_("last visit"), null=True, blank=True)
    # A paused link answers 410 until resumed; a password (an Argon2 hash, or
    # empty) is asked on a small page before the redirect.
    paused = models.BooleanField(_("paused"), default=False)
    password = models.CharField(_("password"), max_length=256, blank=True, default="")
    # When the owner's webhooks were told it expired or was used up (`link.expired`, once per link).
    expiry_announced_at = models.DateTimeField(_("expiry announced"), null=True, blank=True)

    objects = ShortLinkQuerySet.as_manager()
    lifecycle = LINK_LIFECYCLE

    class Meta:
        verbose_name = _("short link")
        verbose_name_plural = _("short links")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # "The same URL from the same owner returns the same link", also
            # under concurrent creations: the database picks the one link.
            models.UniqueConstraint(
                fields=["owner", "target_url"],
                condition=Q(is_plain=True, owner__isnull=False),
                name="shortener_plain_owner_target_uniq",
            ),
            models.UniqueConstraint(
                fields=["target_url"],
                condition=Q(is_plain=True, owner__isnull=True),
                name="shortener_plain_anon_target_uniq",
            ),
            models.CheckConstraint(
                condition=Q(max_visits__isnull=True) | Q(max_visits__gte=1), name="shortener_max_visits_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.key


class LinkVisitDay(models.Model):
    """Visits of a link on one day (UTC) from one kind of client: the only
    statistics kept. Never an address or a whole User-Agent or referrer:
    the referrer's host, browser and OS families, a bot flag and a country
    (shortener/stats.py)."""

    link = models.ForeignKey(ShortLink, on_delete=models.CASCADE, related_name="visit_days")
    day = models.DateField(_("day"))
    referrer = models.CharField(_("referrer host"), max_length=255, blank=True, default="")
    browser = models.CharField(_("browser"), max_length=64, blank=True, default="")
    os = models.CharField(_("operating system"), max_length=64, blank=True, default="")
    bot = models.BooleanField(_("bot"), default=False)
    country = models.CharField(_("country"), max_length=2, blank=True, default="")
    visits = models.PositiveBigIntegerField(_("visits"), default=0)

    class Meta:
        verbose_name = _("visits on a day")
        verbose_name_plural = _("visits by day")
        constraints = [
            models.UniqueConstraint(
                fields=["link", "day", "referrer", "browser", "os", "bot", "country"], name="shortener_visit_day_unique"
            ),
        ]
        indexes = [models.Index(fields=["link", "day"], name="shortener_visit_link_day_idx")]

    def __str__(self) -> str:
        return f"{self.link_id} {self.day}: {self.visits}"


class LinkStatsBatch(models.Model):
    """One written flush of a process's statistics buffer, by its id: a flush
    whose outcome was unknown (its commit failed to answer) is retried with
    the same id, and dropped if this row says it was written
    (shortener/stats.py). Rows older than a day are deleted by later flushes."""

    id = models.CharField(primary_key=True, max_length=32)
    written_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.id
