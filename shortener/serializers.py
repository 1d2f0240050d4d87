from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

MAX_VISITS_LIMIT = 2_147_483_647


class StrictCharField(serializers.CharField):
    """A CharField that takes only JSON strings (DRF's own also takes numbers)."""

    default_error_messages = {"invalid": _("Enter text.")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ShortLinkCreateSerializer(serializers.Serializer):
    # Length, spaces and schemes are checked by the service, with its own messages.
    url = StrictCharField(trim_whitespace=False, help_text=_("The target: an http or https URL."))
    slug = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        trim_whitespace=False,
        help_text=_("Optional custom name (3–64 characters); empty or null: a generated key."),
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text=_("ISO 8601, in the future."))
    max_visits = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_VISITS_LIMIT)


class ShortLinkUpdateSerializer(serializers.Serializer):
    url = StrictCharField(required=False, trim_whitespace=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    max_visits = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_VISITS_LIMIT)


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


class ShortLinkCreatedSerializer(ShortLinkSerializer):
    qr_svg = serializers.CharField(help_text=_("A QR code of short_url as inline SVG."))


def short_link_body(link, *, short_url: str) -> dict:
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
        }
    ).data
