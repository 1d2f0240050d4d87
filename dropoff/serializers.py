from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from project.lib.secrets import MAX_PASSWORD

from .models import Drop, DropRequest


class RequestInputSerializer(serializers.Serializer):
    """Documents `POST /api/requests`; the service validates the values."""

    title = serializers.CharField(required=False, max_length=200)
    message = serializers.CharField(required=False, max_length=2000)
    expires_in = serializers.IntegerField(
        required=False, min_value=0, help_text=_("Seconds until the request expires; 0 = never.")
    )
    max_files = serializers.IntegerField(required=False, min_value=1, help_text=_("Files it takes in total."))
    max_bytes = serializers.IntegerField(required=False, min_value=1, help_text=_("Bytes it takes in total."))
    password = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=MAX_PASSWORD,
        help_text=_("Also ask senders for this password; empty: none."),
    )


@extend_schema_field(OpenApiTypes.ANY)
class MultipartTextField(serializers.CharField):
    """A text part of a multipart form. Every part is text there (`42` is the
    text "42"), so the schema states no JSON type a client could violate
    (the description says what is taken); the length is still checked."""


class DropInputSerializer(serializers.Serializer):
    """Documents `POST /api/requests/<code>/drops` (multipart)."""

    file = serializers.ListField(child=serializers.FileField(), help_text=_("The files to send."))
    name = MultipartTextField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text=_("Your name, shown to the requester (text, at most 100 characters)."),
    )
    note = MultipartTextField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text=_("A note for the requester (text, at most 2000 characters)."),
    )


class DropSerializer(serializers.ModelSerializer):
    """A drop as its requester sees it: who said they sent it, and the share that holds it."""

    share = serializers.CharField(source="share.unique_name", read_only=True)
    url = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()
    size = serializers.SerializerMethodField()

    class Meta:
        model = Drop
        fields = ["share", "url", "name", "note", "created_at", "files", "size"]
        read_only_fields = fields

    def get_url(self, drop) -> str:
        return self.context["request"].build_absolute_uri(drop.share.get_absolute_url())

    def get_files(self, drop) -> int:
        return len(drop.share.items.all())

    def get_size(self, drop) -> int:
        return drop.share.total_size


class RequestSerializer(serializers.ModelSerializer):
    """A request as its owner sees it."""

    id = serializers.CharField(source="unique_name", read_only=True)
    code = serializers.CharField(source="code_display", read_only=True)
    url = serializers.SerializerMethodField()
    state = serializers.CharField(read_only=True)
    password = serializers.BooleanField(source="has_password", read_only=True)
    owner = serializers.CharField(source="owner.username", read_only=True)

    class Meta:
        model = DropRequest
        fields = [
            "id",
            "code",
            "url",
            "title",
            "message",
            "state",
            "password",
            "owner",
            "created_at",
            "expires_at",
            "closed_at",
            "max_files",
            "max_bytes",
            "received_files",
            "received_bytes",
        ]
        read_only_fields = fields

    def get_url(self, request_obj) -> str:
        return self.context["request"].build_absolute_uri(request_obj.get_absolute_url())

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["state"] = instance.state()
        return data


class RequestDetailSerializer(RequestSerializer):
    drops = DropSerializer(many=True, read_only=True)

    class Meta(RequestSerializer.Meta):
        fields = [*RequestSerializer.Meta.fields, "drops"]
        read_only_fields = fields


class PublicRequestSerializer(serializers.ModelSerializer):
    """What a sender sees of a request: no totals received, no other senders."""

    code = serializers.CharField(source="code_display", read_only=True)
    owner = serializers.CharField(source="owner.username", read_only=True)
    state = serializers.SerializerMethodField()
    password = serializers.BooleanField(source="has_password", read_only=True)
    files_left = serializers.IntegerField(read_only=True)
    bytes_left = serializers.IntegerField(read_only=True)

    class Meta:
        model = DropRequest
        fields = [
            "code",
            "title",
            "message",
            "owner",
            "state",
            "password",
            "expires_at",
            "files_left",
            "bytes_left",
        ]
        read_only_fields = fields

    def get_state(self, request_obj) -> str:
        return request_obj.state()


class ReceiptSerializer(serializers.Serializer):
    """What a sender keeps: what was received, when, into which request."""

    request = serializers.CharField(source="request.title")
    received_at = serializers.DateTimeField(source="created_at")
    name = serializers.CharField()
    note = serializers.CharField()
    receipt_url = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()

    def get_receipt_url(self, drop) -> str:
        return self.context["request"].build_absolute_uri(f"/r/{drop.request.code}/receipt/{drop.receipt_key}/")

    def get_files(self, drop) -> list[dict]:
        return [
            {"name": item.name, "path": item.path, "size": item.size, "sha256": item.sha256}
            for item in drop.share.items.all()
        ]
