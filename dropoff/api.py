"""The drop-off API: thin DRF views over dropoff/services.py (SPEC §4.6).

Owners: `POST/GET /api/requests`, `GET/DELETE /api/requests/<id>`,
`POST /api/requests/<id>/close|reopen`. Senders, no account needed:
`GET /api/requests/<code>` (what the request asks for) and
`POST /api/requests/<code>/drops` (multipart `file` parts, `name`, `note`;
a body of at most `MAX_SMALL_BODY`, 1 MiB: larger files go through tus,
`/api/uploads/`).
"""

from django.http.multipartparser import MultiPartParserError
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ParseError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CreatingNeedsUpload
from pan.errors import FileTooLarge, MalformedUpload
from pan.storing import IncomingFile
from pan.uploads import PathKeepingMultiPartParser
from project.lib.errors import ValidationFailed
from project.lib.json_parser import DepthLimitedJSONParser
from project.lib.net import client_address
from project.lib.openapi import ErrorSerializer
from project.lib.secrets import header_secret

from . import selectors, services
from .serializers import (
    DropInputSerializer,
    PublicRequestSerializer,
    ReceiptSerializer,
    RequestDetailSerializer,
    RequestInputSerializer,
    RequestSerializer,
)
from .unlocks import request_unlocked

_PASSWORD = OpenApiParameter(
    "X-Request-Password",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The request's password, when it has one: UTF-8 bytes (bytes that are not UTF-8 read as ISO-8859-1).",
)
# What only these views answer; the shared errors (400, 401, 403, 404, 413,
# 429, 503 where they apply) come from project/lib/openapi.py.
_SENDER_ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="The request has a password and none was sent."),
    403: OpenApiResponse(ErrorSerializer, description="The password is not correct."),
    410: OpenApiResponse(ErrorSerializer, description="The request was closed or has expired."),
    413: OpenApiResponse(ErrorSerializer, description="The request is full, or takes fewer files or bytes."),
}


class RequestListApi(CreatingNeedsUpload, GenericAPIView):
    # What an API key needs here (accounts/authentication.py, docs/api-keys.md).
    api_key_scopes = {"GET": "requests:write", "POST": "requests:write"}
    serializer_class = RequestSerializer
    parser_classes = [DepthLimitedJSONParser]

    @extend_schema(responses={200: RequestSerializer(many=True)})
    def get(self, request):
        """Your drop-off requests, newest first (every request with the `manage` permission), paginated."""
        page = self.paginate_queryset(selectors.request_list_managed(user=request.user))
        return self.get_paginated_response(RequestSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(request=RequestInputSerializer, responses={201: RequestSerializer})
    def post(self, request):
        """Ask people without an account to send you files; needs the `upload` permission."""
        data = request.data
        if not hasattr(data, "get"):
            raise ValidationFailed()
        # The types the schema states (a number is a number, null is not one); the service checks the rest.
        RequestInputSerializer(data=data).is_valid(raise_exception=True)
        created = services.request_create(
            owner=request.user,
            title=data.get("title"),
            message=data.get("message"),
            expires_in=data.get("expires_in"),
            max_files=data.get("max_files"),
            max_bytes=data.get("max_bytes"),
            password=data.get("password"),
        )
        return Response(RequestSerializer(created, context={"request": request}).data, status=status.HTTP_201_CREATED)


class RequestDetailApi(APIView):
    permission_classes = [IsAuthenticated]
    api_key_scopes = {"GET": "requests:write", "DELETE": "requests:write"}

    @extend_schema(responses={200: RequestDetailSerializer})
    def get(self, request, unique_name):
        """One of your requests, with what was dropped into it."""
        found = selectors.request_get_managed(user=request.user, unique_name=unique_name)
        return Response(RequestDetailSerializer(found, context={"request": request}).data)

    @extend_schema(responses={204: None})
    def delete(self, request, unique_name):
        """Delete the request and every share dropped into it."""
        services.request_delete(request=selectors.request_get_managed(user=request.user, unique_name=unique_name))
        return Response(status=status.HTTP_204_NO_CONTENT)


class _RequestActionApi(APIView):
    permission_classes = [IsAuthenticated]
    api_key_scopes = {"POST": "requests:write"}
    service = None

    @extend_schema(request=None, responses={200: RequestSerializer})
    def post(self, request, unique_name):
        found = selectors.request_get_managed(user=request.user, unique_name=unique_name)
        type(self).service(request=found)
        return Response(RequestSerializer(found, context={"request": request}).data)


class RequestCloseApi(_RequestActionApi):
    """Take no more drops until reopened."""

    service = staticmethod(services.request_close)


class RequestReopenApi(_RequestActionApi):
    """Take drops again."""

    service = staticmethod(services.request_reopen)


def _open_request(request, code):
    """The request a sender names by code, open, and with its password
    checked: `X-Request-Password`, or the request page's unlock in this
    browser session (then with Django's CSRF check, as for any session)."""
    client = client_address(request)
    found = services.request_by_code(code=code, client=client)
    services.request_raise_if_closed(found)
    password = header_secret(request.headers.get("X-Request-Password", ""))
    if found.password and not password and request_unlocked(request._request.session, found):
        SessionAuthentication().enforce_csrf(request)
        return found, client
    services.request_password_check(request=found, password=password, client=client)
    return found, client


class PublicRequestApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        operation_id="requests_public_retrieve",
        parameters=[_PASSWORD],
        responses={200: PublicRequestSerializer, **_SENDER_ERRORS},
    )
    def get(self, request, code):
        """What a drop-off request asks for (no account needed)."""
        found, _client = _open_request(request, code)
        return Response(PublicRequestSerializer(found, context={"request": request}).data)


class DropApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    # No `body_allowance`: a drop is a small body (project/lib/bodies.py);
    # over it, a file too large. Larger files go through tus.
    body_refusal = FileTooLarge

    def get_parsers(self):
        return [PathKeepingMultiPartParser()]

    @extend_schema(
        request={"multipart/form-data": DropInputSerializer},
        parameters=[_PASSWORD],
        responses={201: ReceiptSerializer, **_SENDER_ERRORS},
    )
    def post(self, request, code):
        """Send files into a drop-off request (no account needed); the answer is your receipt.
        The whole body is at most 1 MiB (`MAX_SMALL_BODY`); larger files go through `/api/uploads/`."""
        found, client = _open_request(request, code)
        try:
            data, uploads = request.data, request.FILES.getlist("file")
        except (ParseError, MultiPartParserError) as exc:
            raise MalformedUpload() from exc
        drop = services.drop_receive(
            request=found,
            files=[IncomingFile.from_upload(upload) for upload in uploads],
            name=data.get("name"),
            note=data.get("note"),
            client=client,
        )
        return Response(ReceiptSerializer(drop, context={"request": request}).data, status=status.HTTP_201_CREATED)
