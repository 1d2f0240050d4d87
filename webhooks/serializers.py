from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import URL_MAX_LENGTH, Delivery, Endpoint, Event

URL_HELP = _(
    "Where events are POSTed: an http or https URL with a host, at most 2048 characters. Refused with 400: "
    "other schemes, credentials, hosts that are or resolve to loopback, private, link-local, shared or "
    "reserved addresses (unless inside WEBHOOK_ALLOWED_NETWORKS), and names that do not resolve."
)


class EndpointCreateSerializer(serializers.Serializer):
    """Documents `POST /api/webhooks`; the service checks the values, with its own messages."""

    url = serializers.CharField(max_length=URL_MAX_LENGTH, help_text=URL_HELP)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=Event.choices),
        min_length=1,
        help_text=_("The events to send: one or more of the list."),
    )


class DeliverySerializer(serializers.ModelSerializer):
    webhook_id = serializers.CharField(
        source="message_id", help_text=_("The webhook-id header, the same on every try.")
    )
    created = serializers.DateTimeField(source="created_at")
    last_status_code = serializers.IntegerField(allow_null=True, help_text=_("The last answer's HTTP status."))
    last_error = serializers.CharField(help_text=_("Why the last try failed without an HTTP answer, or empty."))
    next_attempt = serializers.DateTimeField(source="next_attempt_at", allow_null=True)
    delivered = serializers.DateTimeField(source="delivered_at", allow_null=True)

    class Meta:
        model = Delivery
        fields = [
            "event",
            "webhook_id",
            "created",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "next_attempt",
            "delivered",
        ]


class EndpointSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="unique_name")
    events = serializers.ListField(child=serializers.ChoiceField(choices=Event.choices))
    created = serializers.DateTimeField(source="created_at")
    deliveries = serializers.SerializerMethodField()

    class Meta:
        model = Endpoint
        fields = ["id", "url", "events", "created", "deliveries"]

    @extend_schema_field(DeliverySerializer(many=True))
    def get_deliveries(self, endpoint) -> list[dict]:
        """The latest deliveries, newest first (at most 10)."""
        from .services import deliveries_recent

        return DeliverySerializer(deliveries_recent(endpoint=endpoint), many=True).data


class EndpointCreatedSerializer(EndpointSerializer):
    secret = serializers.CharField(help_text=_("The signing secret (Standard Webhooks, whsec_…); shown only now."))

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
