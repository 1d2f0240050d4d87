from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .downloads import code_guessing_locked_for
from .models import SharedFile
from .services import share_link_qr_data_uri


class UploadInputSerializer(serializers.Serializer):
    """Documents the multipart form; the service validates the values."""

    file = serializers.FileField(help_text=_("The file to share."))
    expires_in = serializers.IntegerField(
        required=False, min_value=0, help_text=_("Seconds until the file expires; 0 = never.")
    )
    max_downloads = serializers.IntegerField(
        required=False, min_value=1, help_text=_("How many downloads before the file is used up.")
    )


class SharedFileSerializer(serializers.ModelSerializer):
    """A file's metadata. With `include_code` in the context (owner or
    `manage`): the share code, the link with the code embedded and the
    code-lock state; with `include_qr` also a QR code of that link."""

    url = serializers.SerializerMethodField(help_text=_("The file page."))
    state = serializers.SerializerMethodField()
    owner = serializers.CharField(source="owner.username", read_only=True)

    class Meta:
        model = SharedFile
        fields = [
            "unique_name",
            "file_name",
            "size",
            "content_type",
            "sha256",
            "owner",
            "created_at",
            "expires_at",
            "max_downloads",
            "download_count",
            "state",
            "url",
        ]
        read_only_fields = fields

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    @extend_schema_field(serializers.URLField())
    def get_url(self, shared_file) -> str:
        return self._absolute(shared_file.get_absolute_url())

    @extend_schema_field(serializers.ChoiceField(choices=["active", "expired", "revoked", "used_up"]))
    def get_state(self, shared_file) -> str:
        return str(shared_file.state())

    def to_representation(self, shared_file):
        data = super().to_representation(shared_file)
        if self.context.get("include_code"):
            share_url = self._absolute(shared_file.share_path())
            data["share_code"] = shared_file.share_code
            data["share_url"] = share_url
            data["revoked_at"] = shared_file.revoked_at.isoformat() if shared_file.revoked_at else None
            data["code_locked_seconds"] = code_guessing_locked_for(unique_name=shared_file.unique_name)
            if self.context.get("include_qr"):
                data["qr"] = share_link_qr_data_uri(url=share_url)
        return data


class OwnedFileSerializer(SharedFileSerializer):
    """Documentation of the owner's view (the fields added for owners and `manage`)."""

    share_code = serializers.CharField()
    share_url = serializers.URLField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    code_locked_seconds = serializers.IntegerField(help_text=_("Seconds until the file accepts codes again."))
    qr = serializers.CharField(required=False, help_text=_("SVG QR code of share_url, as a data URI."))

    class Meta(SharedFileSerializer.Meta):
        fields = [
            *SharedFileSerializer.Meta.fields,
            "share_code",
            "share_url",
            "revoked_at",
            "code_locked_seconds",
            "qr",
        ]
        read_only_fields = fields
