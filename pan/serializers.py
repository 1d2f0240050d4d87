from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from project.lib.secrets import MAX_PASSWORD

from .access import code_guessing_locked_for, share_public_title
from .models import Item, Share, ShareState
from .services import MAX_MESSAGE, MAX_TITLE, share_link_qr_data_uri

# The bound `services.validate_max_downloads` checks (documented here, not checked twice).
MAX_DOWNLOADS = 1_000_000


def _expires_in(**kwargs):
    return serializers.IntegerField(required=False, min_value=0, max_value=settings.PAN_MAX_EXPIRY, **kwargs)


def _max_downloads(**kwargs):
    help_text = _("How many downloads before the share is used up.")
    return serializers.IntegerField(required=False, min_value=1, max_value=MAX_DOWNLOADS, help_text=help_text, **kwargs)


def _password(**kwargs):
    return serializers.CharField(required=False, allow_blank=True, max_length=MAX_PASSWORD, **kwargs)


def _listed(**kwargs):
    return serializers.BooleanField(
        required=False,
        help_text=_(
            "Everyone signed in to this Pan can open it: listed on /share/ and opened without the code by any "
            "account with the visit or download permission (its password is still asked). False by default; "
            "files dropped into a request are never listed (400)."
        ),
        **kwargs,
    )


def _text_format():
    return serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=_(
            "plain (default), markdown, or a programming language (python, js, go…); an unknown one is refused "
            "with 400."
        ),
    )


class ShareInputSerializer(serializers.Serializer):
    """Documents the multipart form of `POST /api/shares`; the service validates the values.
    At least one `file` or a `text` is needed, unless `uploading` is true."""

    file = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        help_text=_("Files to share; a file name may carry a relative folder path (photos/a.jpg)."),
    )
    title = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TITLE)
    message = serializers.CharField(required=False, allow_blank=True, max_length=MAX_MESSAGE)
    expires_in = _expires_in(help_text=_("Seconds until the share expires; 0 = never."))
    max_downloads = _max_downloads()
    password = _password(help_text=_("Also ask recipients for this password."))
    listed = _listed()
    uploading = serializers.BooleanField(
        required=False, help_text=_("Create the share open, to be filled by POST /api/shares/<id>/items.")
    )
    text = serializers.CharField(
        required=False,
        help_text=_(
            "A text to share (alone or beside files), not blank; over PAN_MAX_TEXT_SIZE bytes of UTF-8 it is "
            "refused with 413."
        ),
    )
    text_format = _text_format()


class ShareTextInputSerializer(serializers.Serializer):
    """Documents the JSON form of `POST /api/shares`: a text share, or an open
    share to be filled with files (`uploading`); one of the two is needed."""

    text = serializers.CharField(
        required=False,
        help_text=_("The text to share, not blank; over PAN_MAX_TEXT_SIZE bytes of UTF-8 it is refused with 413."),
    )
    uploading = serializers.BooleanField(
        required=False, help_text=_("Create the share open, to be filled by POST /api/shares/<id>/items.")
    )
    text_format = _text_format()
    title = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TITLE)
    message = serializers.CharField(required=False, allow_blank=True, max_length=MAX_MESSAGE)
    expires_in = _expires_in(help_text=_("Seconds until the share expires; 0 = never."))
    max_downloads = _max_downloads()
    password = _password(help_text=_("Also ask recipients for this password."))
    listed = _listed()


class PickupInputSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=_("The share code (XXXX-XXXX), or a whole share link."))
    password = serializers.CharField(
        required=False,
        max_length=MAX_PASSWORD,
        help_text=_(
            "The share's password, when it has one (or the X-Share-Password header). Without it, a share "
            "with a password answers only what it shows before its code."
        ),
    )


class ItemsInputSerializer(serializers.Serializer):
    file = serializers.ListField(child=serializers.FileField())
    complete = serializers.BooleanField(required=False, help_text=_("Close the share after these files."))


class ShareUpdateSerializer(serializers.Serializer):
    """What `PATCH /api/shares/<id>` may change; anything else is 400."""

    title = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=MAX_TITLE)
    message = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=MAX_MESSAGE)
    expires_in = _expires_in(help_text=_("Seconds from now; 0 = never."))
    max_downloads = _max_downloads(allow_null=True)
    complete = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text=_("true closes a share still uploading; a complete share cannot be reopened."),
    )
    password = _password(allow_null=True, help_text=_('"" clears it.'))
    listed = _listed()


class UploadInputSerializer(serializers.Serializer):
    """Documents the multipart form of `POST /api/files` (one file)."""

    file = serializers.FileField(help_text=_("The file to share."))
    expires_in = _expires_in(help_text=_("Seconds until the share expires; 0 = never."))
    max_downloads = _max_downloads()


class ItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = ["id", "kind", "name", "path", "size", "content_type", "sha256", "text_format"]
        read_only_fields = fields


class ShareSerializer(serializers.ModelSerializer):
    """A share's public metadata. With `include_code` in the context (owner or
    `manage`): the code, the link with the code, the code-lock state; with
    `include_qr` also a QR code of that link."""

    id = serializers.CharField(source="unique_name", read_only=True)
    url = serializers.SerializerMethodField(help_text=_("The share page."))
    state = serializers.SerializerMethodField()
    owner = serializers.CharField(source="owner.username", read_only=True)
    items = ItemSerializer(many=True, read_only=True)
    total_size = serializers.IntegerField(read_only=True)
    downloads_left = serializers.IntegerField(read_only=True, allow_null=True)
    broken = serializers.SerializerMethodField()
    has_password = serializers.BooleanField(read_only=True, help_text=_("Downloads also need the share's password."))
    listed = serializers.BooleanField(read_only=True, help_text=_("Everyone signed in to this Pan can open it."))
    locked = serializers.SerializerMethodField(help_text=_("Always false here: the share's details follow."))

    class Meta:
        model = Share
        fields = [
            "id",
            "locked",
            "title",
            "message",
            "owner",
            "created_at",
            "expires_at",
            "max_downloads",
            "download_count",
            "downloads_left",
            "state",
            "total_size",
            "broken",
            "has_password",
            "listed",
            "url",
            "items",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "boolean", "enum": [False]})
    def get_locked(self, share) -> bool:
        return False

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    @extend_schema_field(serializers.URLField())
    def get_url(self, share) -> str:
        return self._absolute(share.get_absolute_url())

    @extend_schema_field(serializers.ChoiceField(choices=ShareState.values))
    def get_state(self, share) -> str:
        return str(share.state())

    def get_broken(self, share) -> bool:
        return share.broken_at is not None

    def to_representation(self, share):
        data = super().to_representation(share)
        if self.context.get("include_code"):
            share_url = self._absolute(share.share_path())
            data["code"] = share.code
            data["code_display"] = share.code_display
            data["share_url"] = share_url
            data["revoked_at"] = share.revoked_at.isoformat() if share.revoked_at else None
            data["code_locked_seconds"] = code_guessing_locked_for(share=share)
            if self.context.get("include_qr"):
                data["qr"] = share_link_qr_data_uri(url=share_url)
        if self.context.get("legacy"):
            # The first wave's one-file fields, kept for `/api/files` clients.
            first = next(iter(share.items.all()), None)
            data["unique_name"] = share.unique_name
            if first is not None:
                data.update(file_name=first.name, size=first.size, content_type=first.content_type, sha256=first.sha256)
            if "code" in data:
                data["share_code"] = data["code"]
        return data


class LockedShareSerializer(serializers.Serializer):
    """What a share shows before its code and password are passed (SPEC §4.3):
    that it exists, its state and its public title (none for files dropped
    into a request), never its items, sizes, hashes, message or owner."""

    id = serializers.CharField(source="unique_name")
    locked = serializers.SerializerMethodField(help_text=_("Always true: send the code (and password) to see more."))
    title = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()
    has_password = serializers.BooleanField(help_text=_("Opening it also needs the share's password."))
    url = serializers.SerializerMethodField(help_text=_("The share page."))

    @extend_schema_field({"type": "boolean", "enum": [True]})
    def get_locked(self, share) -> bool:
        return True

    def get_title(self, share) -> str:
        return share_public_title(share)

    @extend_schema_field(serializers.ChoiceField(choices=ShareState.values))
    def get_state(self, share) -> str:
        return str(share.state())

    @extend_schema_field(serializers.URLField())
    def get_url(self, share) -> str:
        request = self.context.get("request")
        path = share.get_absolute_url()
        return request.build_absolute_uri(path) if request is not None else path


class OwnedShareSerializer(ShareSerializer):
    """Documentation of the owner's view (the fields added for owners and `manage`)."""

    code = serializers.CharField()
    code_display = serializers.CharField(help_text=_("The code as people read it: XXXX-XXXX."))
    share_url = serializers.URLField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    code_locked_seconds = serializers.IntegerField(help_text=_("Seconds until the share accepts codes again."))
    qr = serializers.CharField(required=False, help_text=_("SVG QR code of share_url, as a data URI."))

    class Meta(ShareSerializer.Meta):
        fields = [
            *ShareSerializer.Meta.fields,
            "code",
            "code_display",
            "share_url",
            "revoked_at",
            "code_locked_seconds",
            "qr",
        ]
        read_only_fields = fields


class PickupRequestSerializer(serializers.Serializer):
    """What the pickup box answers for the code of a drop-off request (dropoff/): where to send files."""

    kind = serializers.SerializerMethodField(help_text=_('Always "request".'))
    title = serializers.CharField()
    owner = serializers.CharField(source="owner.username")
    url = serializers.SerializerMethodField(help_text=_("The page where files are sent, no account needed."))

    def get_kind(self, obj) -> str:
        return "request"

    def get_url(self, obj) -> str:
        return self.context["request"].build_absolute_uri(obj.get_absolute_url())
