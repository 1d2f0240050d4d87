from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from project.lib.secrets import MAX_PASSWORD

from .models import TARGET_MAX_LENGTH
from .services import SLUG_PATTERN

MAX_VISITS_LIMIT = 2_147_483_647
URL_HELP = _(
    "The target: an http or https URL with a host (example.com/x means https://example.com/x), at most "
    "2048 characters. Refused with 400: other schemes, credentials, spaces, IP addresses in loopback, "
    "private or link-local ranges, and links to this service's own short or redirecting paths."
)
EXPIRY_HELP = _("ISO 8601, in the future (a time already past is refused with 400).")


class StrictCharField(serializers.CharField):
    """A CharField that takes only JSON strings (DRF's own also takes numbers)."""

    default_error_messages = {"invalid": _("Enter text.")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class TargetUrlField(StrictCharField):
    """The target URL. Length, spaces and schemes are checked by the service,
    with its own messages; the bounds here only document them."""

    def __init__(self, **kwargs):
        super().__init__(trim_whitespace=False, help_text=URL_HELP, **kwargs)
        self.min_length, self.max_length = 1, TARGET_MAX_LENGTH


# The schema states the slug's pattern (drf-spectacular adds "or empty" for
# allow_blank); the service checks it, and the reserved names, with its own messages.
@extend_schema_field({"type": "string", "pattern": SLUG_PATTERN.pattern})
class SlugField(StrictCharField):
    """A custom short name, or empty or null for a generated key."""

    def __init__(self, **kwargs):
        help_text = _(
            "Optional custom name: 3–64 letters, digits, _ and -, not a reserved word of the site "
            "(refused with 400); empty or null: a generated key."
        )
        super().__init__(allow_null=True, allow_blank=True, trim_whitespace=False, help_text=help_text, **kwargs)


class ShortLinkCreateSerializer(serializers.Serializer):
    url = TargetUrlField()
    slug = SlugField(required=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text=EXPIRY_HELP)
    max_visits = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_VISITS_LIMIT)
    password = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=MAX_PASSWORD,
        help_text=_(
            "Visitors must enter it before the redirect; empty or null: none. A link with a password is always "
            "a new link."
        ),
    )


class ShortLinkUpdateSerializer(serializers.Serializer):
    url = TargetUrlField(required=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text=EXPIRY_HELP)
    max_visits = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_VISITS_LIMIT)
    paused = serializers.BooleanField(required=False, help_text=_("A paused link answers 410 until resumed."))
    password = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=MAX_PASSWORD,
        help_text=_("Visitors must enter it before the redirect; empty or null removes it."),
    )


class ShortLinkSerializer(serializers.Serializer):
    key = serializers.CharField()
    short_url = serializers.CharField()
    url = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    max_visits = serializers.IntegerField(allow_null=True)
    visits = serializers.IntegerField()
    last_visit = serializers.DateTimeField(allow_null=True)
    owner = serializers.CharField(allow_null=True)
    paused = serializers.BooleanField()
    password = serializers.BooleanField(help_text=_("Whether visitors must enter a password."))
    qr_svg_url = serializers.URLField(
        help_text=_("Where to download a QR code of short_url as SVG (GET; anyone may, the short URL is public).")
    )
    qr_png_url = serializers.URLField(help_text=_("The same QR code as PNG."))


def short_link_body(link, *, short_url: str, qr_svg_url: str, qr_png_url: str) -> dict:
    """A link as the API answers it (`ShortLinkSerializer`)."""
    return ShortLinkSerializer(
        {
            "key": link.key,
            "short_url": short_url,
            "url": link.target_url,
            "created_at": link.created_at,
            "expires_at": link.expires_at,
            "max_visits": link.max_visits,
            "visits": link.visit_count,
            "last_visit": link.last_visit,
            "owner": link.owner.username if link.owner_id else None,
            "paused": link.paused,
            "password": bool(link.password),
            "qr_svg_url": qr_svg_url,
            "qr_png_url": qr_png_url,
        }
    ).data
