"""The files API: thin DRF views over pan/services.py and pan/downloads.py."""

from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasPanPermission
from accounts.serializers import ErrorSerializer
from project.lib.errors import ValidationFailed
from project.lib.net import client_address

from . import downloads, selectors, services
from .errors import MalformedUpload
from .serializers import OwnedFileSerializer, SharedFileSerializer, UploadInputSerializer
from .uploads import file_name_sanitise

_FILE_MISSING = {"file": [_("Choose a file to upload.")]}


class FileListApi(GenericAPIView):
    serializer_class = SharedFileSerializer

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated(), HasPanPermission("upload")()]
        return [IsAuthenticated()]

    def get_parsers(self):
        if getattr(self, "request", None) is not None and self.request.method == "POST":
            return [MultiPartParser()]
        return super().get_parsers()

    @extend_schema(responses={200: OwnedFileSerializer(many=True), 401: ErrorSerializer})
    def get(self, request):
        """Your files, newest first (every file with the `manage` permission), paginated."""
        page = self.paginate_queryset(selectors.shared_file_list_managed(user=request.user))
        data = SharedFileSerializer(page, many=True, context={"request": request, "include_code": True}).data
        return self.get_paginated_response(data)

    @extend_schema(
        request={"multipart/form-data": UploadInputSerializer},
        responses={
            201: OwnedFileSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            413: ErrorSerializer,
        },
    )
    def post(self, request):
        """Upload a file (multipart field `file`); needs the `upload` permission."""
        try:
            upload = request.FILES.get("file")
        except (ParseError, MultiPartParserError) as exc:
            raise MalformedUpload() from exc
        if upload is None:
            raise ValidationFailed(fields=_FILE_MISSING)
        shared_file = services.shared_file_create(
            owner=request.user,
            content=upload,
            file_name=file_name_sanitise(upload.name),
            content_type=upload.content_type,
            expires_in=request.data.get("expires_in"),
            max_downloads=request.data.get("max_downloads"),
        )
        context = {"request": request, "include_code": True, "include_qr": True}
        return Response(SharedFileSerializer(shared_file, context=context).data, status=status.HTTP_201_CREATED)


class FileDetailApi(APIView):
    @extend_schema(responses={200: OwnedFileSerializer, 404: ErrorSerializer})
    def get(self, request, unique_name):
        """A file's metadata: owner and `manage` also get the code, link and QR code; `visit` holders the rest."""
        shared_file, manages = selectors.shared_file_get_visible(user=request.user, unique_name=unique_name)
        context = {"request": request, "include_code": manages, "include_qr": manages}
        return Response(SharedFileSerializer(shared_file, context=context).data)

    @extend_schema(responses={204: None, 404: ErrorSerializer})
    def delete(self, request, unique_name):
        """Delete a file: its row and its stored bytes (owner or `manage`)."""
        shared_file = selectors.shared_file_get_managed(user=request.user, unique_name=unique_name)
        services.shared_file_delete(shared_file=shared_file)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FileCodeApi(APIView):
    @extend_schema(request=None, responses={200: OwnedFileSerializer, 404: ErrorSerializer})
    def post(self, request, unique_name):
        """Regenerate the share code; the old one stops working (owner or `manage`)."""
        shared_file = selectors.shared_file_get_managed(user=request.user, unique_name=unique_name)
        services.share_code_regenerate(shared_file=shared_file)
        context = {"request": request, "include_code": True, "include_qr": True}
        return Response(SharedFileSerializer(shared_file, context=context).data)


class FileRevokeApi(APIView):
    @extend_schema(request=None, responses={200: OwnedFileSerializer, 404: ErrorSerializer})
    def post(self, request, unique_name):
        """Stop sharing the file: downloads answer 410 (owner or `manage`)."""
        shared_file = selectors.shared_file_get_managed(user=request.user, unique_name=unique_name)
        services.shared_file_revoke(shared_file=shared_file)
        return Response(SharedFileSerializer(shared_file, context={"request": request, "include_code": True}).data)


class FileContentApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("code", str, OpenApiParameter.QUERY, required=False),
            OpenApiParameter("X-Share-Code", str, OpenApiParameter.HEADER, required=False),
            OpenApiParameter("Range", str, OpenApiParameter.HEADER, required=False),
        ],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (206, "application/octet-stream"): OpenApiTypes.BINARY,
            403: ErrorSerializer,
            404: ErrorSerializer,
            410: ErrorSerializer,
            416: None,
            429: ErrorSerializer,
        },
    )
    def get(self, request, unique_name):
        """The file's bytes, with the code in `X-Share-Code` or `?code=`. Supports `Range`/`If-Range`."""
        code = request.headers.get("X-Share-Code") or request.query_params.get("code")
        client = client_address(request)
        shared_file = downloads.shared_file_access(unique_name=unique_name, code=code, user=request.user, client=client)
        return downloads.shared_file_download_response(request=request, shared_file=shared_file, client=client)

    def head(self, request, unique_name):
        return self.get(request, unique_name)
