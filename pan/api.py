"""The shares API: thin DRF views over pan/services.py, pan/access.py and
pan/downloads.py. `/api/files…` keeps the first wave's one-file paths."""

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CreatingNeedsUpload, HasPanPermission
from project.lib.errors import ValidationFailed
from project.lib.json_parser import DepthLimitedJSONParser
from project.lib.net import client_address
from project.lib.openapi import ErrorSerializer
from project.lib.qr import CONTENT_TYPES as QR_TYPES
from project.lib.qr import qr_file
from project.lib.secrets import header_secret

from . import access, allowances, downloads, selectors, services
from .errors import FileTooLarge, ItemNotFound, MalformedUpload, NoCodeFound
from .grants import grant_key_for_tool
from .models import Share
from .serializers import (
    ItemsInputSerializer,
    LockedShareSerializer,
    OwnedShareSerializer,
    PickupInputSerializer,
    PickupRequestSerializer,
    ShareInputSerializer,
    ShareSerializer,
    ShareTextInputSerializer,
    ShareUpdateSerializer,
    UploadInputSerializer,
)
from .uploads import PathKeepingMultiPartParser, file_name_sanitise

# What only these views answer; the errors every operation shares (400, 401,
# 403, 404, 413, 429, 503 where they apply) come from project/lib/openapi.py.
_TOO_LARGE = {
    413: OpenApiResponse(
        ErrorSerializer,
        description="A file, the text or the whole share is over this server's limits "
        "(PAN_MAX_UPLOAD_SIZE, PAN_MAX_TEXT_SIZE, PAN_MAX_SHARE_SIZE, PAN_MAX_SHARE_ITEMS); nothing is kept.",
    )
}
_DOWNLOAD_ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="The share has a password and none was sent."),
    403: OpenApiResponse(ErrorSerializer, description="The code or the password is not correct."),
    409: OpenApiResponse(ErrorSerializer, description="The share is still being uploaded."),
    410: OpenApiResponse(
        ErrorSerializer, description="The share expired, was revoked or used up, or its stored bytes are missing."
    ),
}
# An item is served as the type it was uploaded with (HTML, SVG and XML as
# text/plain, never as themselves), so any media type can come back.
_ITEM_BYTES = {
    (200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The item's bytes."),
    (206, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The requested range of the item's bytes."),
    (416, "text/plain"): OpenApiResponse(
        OpenApiTypes.STR, description="The range cannot be satisfied; `Content-Range: bytes */<size>` says why."
    ),
    **_DOWNLOAD_ERRORS,
}
_HEADER_TEXT = (
    "The share's password, when it has one. Its bytes are read as UTF-8 (any text, e.g. Chinese); "
    "bytes that are not UTF-8 as ISO-8859-1."
)
_CODE_PARAMETERS = [
    OpenApiParameter("code", str, OpenApiParameter.QUERY, required=False),
    OpenApiParameter("X-Share-Code", str, OpenApiParameter.HEADER, required=False),
    OpenApiParameter(
        "X-Share-Password",
        str,
        OpenApiParameter.HEADER,
        required=False,
        description=_HEADER_TEXT,
    ),
]


def _owned(request, share, *, qr: bool = False, status_code=200, legacy: bool = False) -> Response:
    context = {"request": request, "include_code": True, "include_qr": qr, "legacy": legacy}
    return Response(ShareSerializer(share, context=context).data, status=status_code)


def _share_answer(request, share, *, manages: bool, passed: bool = False, legacy: bool = False) -> Response:
    """A share as this caller may see it (`access.share_details_visible`):
    owners and `manage` with the code; callers who passed the code and
    password, or signed-in accounts on a listed share, the details; anyone
    else only what a share shows before its code (`LockedShareSerializer`)."""
    context = {"request": request, "include_code": manages, "include_qr": manages, "legacy": legacy}
    if access.share_details_visible(user=request.user, share=share, passed=passed):
        return Response(ShareSerializer(share, context=context).data)
    return Response(LockedShareSerializer(share, context=context).data)


def _share_or_locked():
    return PolymorphicProxySerializer(
        component_name="ShareOrLocked",
        serializers=[ShareSerializer, LockedShareSerializer],
        resource_type_field_name=None,
        many=False,
    )


def _sent_secrets(request) -> tuple[str | None, str | None]:
    """(code, password) a tool sent for a share: `X-Share-Code` or `?code=`, `X-Share-Password`."""
    code = request.headers.get("X-Share-Code") or request.query_params.get("code")
    return code, header_secret(request.headers.get("X-Share-Password"))


def _form(request):
    """(fields, uploaded files) of a multipart request; a body that does not parse is 400."""
    try:
        data, uploads = request.data, request.FILES.getlist("file")
    except (ParseError, MultiPartParserError) as exc:
        raise MalformedUpload() from exc
    if hasattr(data, "getlist"):  # a form: its fields and files together
        given = data.getlist("file")
    else:  # JSON
        given = [data["file"]] if isinstance(data, dict) and "file" in data else []
    if any(not isinstance(value, UploadedFile) for value in given):
        # A `file` that is a plain field (no filename) is not a file: refused, not ignored.
        raise ValidationFailed(fields={"file": [_("Choose a file to upload.")]})
    return data, uploads


def _uploads(request) -> list:
    _data, uploads = _form(request)
    if not uploads:
        raise ValidationFailed(fields={"file": [_("Choose a file to upload.")]})
    return uploads


def _flag(data, name: str) -> bool:
    """A boolean field: `true` or `false` in a form (any case), a JSON boolean, or missing (false).
    Anything else is a 400, as for PATCH (the schema says boolean)."""
    value = data.get(name, False)
    if isinstance(value, bool):
        return value
    if not isinstance(value, str) or value.strip().lower() not in ("true", "false", ""):
        raise ValidationFailed(fields={name: [_("Enter true or false.")]})
    return value.strip().lower() == "true"


def _text(request, data):
    """The `text` of a share: a form field, a JSON string, or a file part (its bytes must be UTF-8)."""
    part = request.FILES.get("text")
    if part is not None:
        return part.read(settings.PAN_MAX_TEXT_SIZE + 1)
    return data.get("text")


class _MultipartPost:
    """POST takes multipart with folder paths kept (or JSON, for a text); other methods JSON."""

    # A large multipart body is parsed as it arrives, not spooled first (project/lib/bodies.py).
    body_streams = True

    def get_parsers(self):
        if getattr(self, "request", None) is not None and self.request.method == "POST":
            return [PathKeepingMultiPartParser(), DepthLimitedJSONParser()]
        return super().get_parsers()


class ShareListApi(CreatingNeedsUpload, _MultipartPost, GenericAPIView):
    serializer_class = ShareSerializer
    # What an API key needs here (accounts/authentication.py, docs/api-keys.md).
    api_key_scopes = {"GET": "shares:read", "POST": "shares:write"}
    # How large a body may be before it is read (pan/allowances.py).
    body_allowance = staticmethod(allowances.share_upload_allowance)
    body_refusal = FileTooLarge

    @extend_schema(responses={200: OwnedShareSerializer(many=True)})
    def get(self, request):
        """Your shares, newest first (every share with the `manage` permission), paginated."""
        page = self.paginate_queryset(selectors.share_list_managed(user=request.user))
        data = ShareSerializer(page, many=True, context={"request": request, "include_code": True}).data
        return self.get_paginated_response(data)

    @extend_schema(
        request={"multipart/form-data": ShareInputSerializer, "application/json": ShareTextInputSerializer},
        responses={201: OwnedShareSerializer, **_TOO_LARGE},
    )
    def post(self, request):
        """Share files (any number of `file` parts) and/or a `text`; needs the `upload` permission."""
        data, uploads = _form(request)
        if not hasattr(data, "get"):
            raise ValidationFailed()
        if request.content_type.startswith("application/json"):
            # The types the schema states for the JSON form (null is not a password); the service checks the rest.
            ShareTextInputSerializer(data=data).is_valid(raise_exception=True)
        uploading = _flag(data, "uploading")
        text = _text(request, data)
        if not uploading and text is None:
            uploads = _uploads(request)
        share = services.share_create(
            owner=request.user,
            files=[services.IncomingFile.from_upload(upload) for upload in uploads],
            title=data.get("title"),
            message=data.get("message"),
            expires_in=data.get("expires_in"),
            max_downloads=data.get("max_downloads"),
            uploading=uploading,
            text=text,
            text_format=data.get("text_format"),
            password=data.get("password"),
            listed=data.get("listed"),
        )
        return _owned(request, share, qr=True, status_code=status.HTTP_201_CREATED)


_UNLOCK_ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="The right code was sent, but not the share's password."),
    403: OpenApiResponse(ErrorSerializer, description="The code or the password sent is not correct."),
}


def _share_detail(request, unique_name, *, legacy: bool = False) -> Response:
    share, manages = selectors.share_get_visible(user=request.user, unique_name=unique_name)
    code, password = _sent_secrets(request)
    passed = False
    if (code or password) and not access.share_details_visible(user=request.user, share=share):
        access.share_unlock_check(
            share=share, user=request.user, code=code, password=password, client=client_address(request)
        )
        passed = True
    return _share_answer(request, share, manages=manages, passed=passed, legacy=legacy)


class ShareDetailApi(APIView):
    api_key_scopes = {"GET": "shares:read", "PATCH": "shares:write", "DELETE": "shares:write"}

    @extend_schema(
        parameters=_CODE_PARAMETERS,
        responses={200: _share_or_locked(), **_UNLOCK_ERRORS},
    )
    def get(self, request, unique_name):
        """A share's metadata. Owner and `manage`: everything, with the code, link and QR code (the
        fields of `OwnedShare`). `visit` holders: the items, sizes, hashes and message only on a listed
        share they may open, or with the right code (`X-Share-Code` or `?code=`) and password
        (`X-Share-Password`); otherwise only what a share shows before its code (`locked: true`)."""
        return _share_detail(request, unique_name)

    @extend_schema(request=ShareUpdateSerializer, responses={200: OwnedShareSerializer})
    def patch(self, request, unique_name):
        """Change title, message, expiry, limit, or complete an open share (owner or `manage`)."""
        share = selectors.share_get_managed(user=request.user, unique_name=unique_name)
        if not isinstance(request.data, dict):
            raise ValidationFailed()
        services.share_update(share=share, changes=dict(request.data))
        return _owned(request, selectors.share_get_managed(user=request.user, unique_name=unique_name))

    @extend_schema(responses={204: None})
    def delete(self, request, unique_name):
        """Delete a share: its rows and its stored bytes (owner or `manage`)."""
        share = selectors.share_get_managed(user=request.user, unique_name=unique_name)
        services.share_delete(share=share)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ShareItemsApi(_MultipartPost, APIView):
    api_key_scopes = {"POST": "shares:write"}
    body_allowance = staticmethod(allowances.share_upload_allowance)
    body_refusal = FileTooLarge

    def get_permissions(self):
        return [IsAuthenticated(), HasPanPermission("upload")()]

    @extend_schema(
        request={"multipart/form-data": ItemsInputSerializer},
        responses={
            201: OwnedShareSerializer,
            409: OpenApiResponse(ErrorSerializer, description="The share is complete: no more items."),
            **_TOO_LARGE,
        },
    )
    def post(self, request, unique_name):
        """Add files to a share still uploading (`complete=true` closes it)."""
        share = selectors.share_get_managed(user=request.user, unique_name=unique_name)
        services.share_items_add(
            share=share,
            files=[services.IncomingFile.from_upload(upload) for upload in _uploads(request)],
            complete=_flag(request.data, "complete"),
        )
        share = selectors.share_get_managed(user=request.user, unique_name=unique_name)
        return _owned(request, share, status_code=status.HTTP_201_CREATED)


def _share_action(service, doc: str, refusals: dict | None = None):
    class ShareActionApi(APIView):
        api_key_scopes = {"POST": "shares:write"}

        @extend_schema(request=None, responses={200: OwnedShareSerializer, **(refusals or {})}, description=doc)
        def post(self, request, unique_name):
            share = selectors.share_get_managed(user=request.user, unique_name=unique_name)
            service(share=share)
            return _owned(request, share, qr=True, legacy=request.path.startswith("/api/files/"))

    return ShareActionApi


ShareCodeApi = _share_action(
    services.share_code_regenerate,
    "A new code; the old one stops working at once.",
    {
        409: OpenApiResponse(
            ErrorSerializer,
            description="`share_not_live`: revoked, expired or used up; a new code would not open it.",
        )
    },
)
ShareRevokeApi = _share_action(services.share_revoke, "Stop sharing: downloads answer 410 until restored.")
ShareRestoreApi = _share_action(services.share_restore, "Share a revoked share again.")


class ShareQrApi(APIView):
    kind = "svg"
    api_key_scopes = {"GET": "shares:read"}

    @extend_schema(responses={(200, "image/svg+xml"): OpenApiTypes.BINARY, (200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request, unique_name):
        """The share link's QR code (with its code) as a file to download; owner or `manage` only."""
        share = selectors.share_get_managed(user=request.user, unique_name=unique_name)
        link = request.build_absolute_uri(share.share_path())
        response = HttpResponse(qr_file(link, self.kind), content_type=QR_TYPES[self.kind])
        response["Content-Disposition"] = f'attachment; filename="{share.unique_name}.{self.kind}"'
        return response


class PickupApi(APIView):
    permission_classes = [AllowAny]
    api_key_scopes = {"POST": "shares:read"}

    @extend_schema(
        request=PickupInputSerializer,
        responses={
            200: PolymorphicProxySerializer(
                component_name="PickupResult",
                serializers=[ShareSerializer, LockedShareSerializer, PickupRequestSerializer],
                resource_type_field_name=None,
            ),
            400: OpenApiResponse(
                ErrorSerializer,
                description="No code in what was sent (`no_code`), or a link without its code; nothing counted.",
            ),
            403: OpenApiResponse(ErrorSerializer, description="The code or the password is not correct."),
            410: OpenApiResponse(ErrorSerializer, description="The share expired, was revoked or used up."),
        },
        parameters=[
            OpenApiParameter("X-Share-Password", str, OpenApiParameter.HEADER, required=False, description=_HEADER_TEXT)
        ],
    )
    def post(self, request):
        """The share a code opens: what people paste (`XXXX-XXXX` in any case, with or without the
        dash, with words around it such as `提取码：`, or a whole link): its metadata and `url`.
        A share with a password shows its items and message only with its `password` (or the
        `X-Share-Password` header); without it, only what it shows before its code (`locked: true`).
        Wrong codes and passwords count toward the guessing limits; text with no code counts nothing (400)."""
        data = request.data
        if not isinstance(data, dict) or not isinstance(data.get("code"), str):
            raise ValidationFailed(fields={"code": [_("Enter the share code.")]})
        password = data.get("password", header_secret(request.headers.get("X-Share-Password")))
        if password is not None and not isinstance(password, str):
            raise ValidationFailed(fields={"password": [_("Enter the share's password.")]})
        client = client_address(request)
        found, code_passed = access.share_pickup(text=data["code"], client=client)
        if not code_passed:  # a link without its code: a tool has no code prompt to open
            raise NoCodeFound()
        if not isinstance(found, Share):  # a drop-off request's code (dropoff/): where to send files
            return Response(PickupRequestSerializer(found, context={"request": request}).data)
        if found.has_password and not password:
            # The code is right; the items and message wait for the password.
            return Response(LockedShareSerializer(found, context={"request": request}).data)
        access.share_password_check(share=found, password=password, client=client)
        return _share_answer(request, found, manages=False, passed=True)


def _download_access(request, unique_name):
    """(share, grant key or None): the access check, and whose download this is."""
    code, password = _sent_secrets(request)
    client = client_address(request)
    grant_key = grant_key_for_tool(client=client, user_agent=request.headers.get("User-Agent", ""))
    share, manages = access.share_access(
        unique_name=unique_name,
        code=code,
        password=password,
        user=request.user,
        client=client,
        grant_key=grant_key,
    )
    return share, None if manages else grant_key


class ShareItemContentApi(APIView):
    permission_classes = [AllowAny]
    api_key_scopes = {"GET": "shares:read"}

    @extend_schema(
        parameters=[*_CODE_PARAMETERS, OpenApiParameter("Range", str, OpenApiParameter.HEADER, required=False)],
        responses=_ITEM_BYTES,
    )
    def get(self, request, unique_name, item_id):
        """One item's bytes, with the code in `X-Share-Code` or `?code=`. Supports `Range`/`If-Range`."""
        share, grant_key = _download_access(request, unique_name)
        item = downloads.share_item_get(share=share, item_id=item_id)
        return downloads.item_download_response(
            request=request, share=share, item=item, grant_key=grant_key, session=False
        )

    def head(self, request, unique_name, item_id):
        return self.get(request, unique_name, item_id)


class ShareZipApi(APIView):
    permission_classes = [AllowAny]
    api_key_scopes = {"GET": "shares:read"}

    @extend_schema(
        parameters=[*_CODE_PARAMETERS, OpenApiParameter("items", str, OpenApiParameter.QUERY, required=False)],
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The items as one zip."),
            **_DOWNLOAD_ERRORS,
        },
    )
    def get(self, request, unique_name):
        """All items (or `?items=1,3`) as one streamed zip, `Content-Length` known in advance."""
        share, grant_key = _download_access(request, unique_name)
        items = downloads.share_items_pick(share=share, raw=request.query_params.get("items"))
        return downloads.zip_download_response(
            request=request, share=share, items=items, grant_key=grant_key, session=False
        )

    def head(self, request, unique_name):
        return self.get(request, unique_name)


# --- The first wave's one-file paths ------------------------------------------


class FileListApi(ShareListApi):
    body_allowance = staticmethod(allowances.file_upload_allowance)

    def get_parsers(self):
        # The first wave's endpoint keeps Django's parser: a file name's last component only.
        if getattr(self, "request", None) is not None and self.request.method == "POST":
            return [MultiPartParser()]
        return super(_MultipartPost, self).get_parsers()

    @extend_schema(responses={200: OwnedShareSerializer(many=True)})
    def get(self, request):
        """Your shares in the one-file shape (with `unique_name`, `share_code`, `file_name`…)."""
        page = self.paginate_queryset(selectors.share_list_managed(user=request.user))
        context = {"request": request, "include_code": True, "legacy": True}
        return self.get_paginated_response(ShareSerializer(page, many=True, context=context).data)

    @extend_schema(
        request={"multipart/form-data": UploadInputSerializer},
        responses={201: OwnedShareSerializer, **_TOO_LARGE},
    )
    def post(self, request):
        """Share one file (multipart field `file`): a one-item share."""
        upload = _uploads(request)[0]
        incoming = services.IncomingFile(upload, file_name_sanitise(upload.name), upload.content_type)
        share = services.share_create(
            owner=request.user,
            files=[incoming],
            expires_in=request.data.get("expires_in"),
            max_downloads=request.data.get("max_downloads"),
        )
        return _owned(request, share, qr=True, status_code=status.HTTP_201_CREATED, legacy=True)


class FileDetailApi(ShareDetailApi):
    http_method_names = ["get", "delete", "head", "options"]

    @extend_schema(
        parameters=_CODE_PARAMETERS,
        responses={200: _share_or_locked(), **_UNLOCK_ERRORS},
    )
    def get(self, request, unique_name):
        """A share's metadata in the one-file shape; before its code only what it shows then (`locked: true`)."""
        return _share_detail(request, unique_name, legacy=True)


class FileContentApi(APIView):
    permission_classes = [AllowAny]
    api_key_scopes = {"GET": "shares:read"}

    @extend_schema(
        parameters=[*_CODE_PARAMETERS, OpenApiParameter("Range", str, OpenApiParameter.HEADER, required=False)],
        responses=_ITEM_BYTES,
    )
    def get(self, request, unique_name):
        """A one-item share's bytes (the first item of any share). Supports `Range`/`If-Range`."""
        share, grant_key = _download_access(request, unique_name)
        item = next(iter(share.items.all()), None)
        if item is None:
            raise ItemNotFound()
        return downloads.item_download_response(
            request=request, share=share, item=item, grant_key=grant_key, session=False
        )

    def head(self, request, unique_name):
        return self.get(request, unique_name)
