from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from project.lib.openapi import ErrorSerializer

from . import selectors, services
from .serializers import (
    ShortLinkCreateSerializer,
    ShortLinkSerializer,
    ShortLinkUpdateSerializer,
    short_link_body,
)


def _body(request, link) -> dict:
    """The link as the API answers it: its short URL and the absolute URLs of its QR code files."""

    def absolute(name: str) -> str:
        return request.build_absolute_uri(reverse(name, kwargs={"key": link.key}))

    return short_link_body(
        link,
        short_url=services.short_link_url(key=link.key, base_url=request.build_absolute_uri("/")),
        qr_svg_url=absolute("api-short-link-qr-svg"),
        qr_png_url=absolute("api-short-link-qr-png"),
    )


class ShortLinkListCreateApi(GenericAPIView):
    """POST: shorten a URL (anyone; signed-in callers own the link). GET: the caller's links."""

    # What an API key needs here (accounts/authentication.py, docs/api-keys.md).
    api_key_scopes = {"GET": "links:read", "POST": "links:write"}

    # A generic view for its pagination; OPTIONS describes POST with this.
    serializer_class = ShortLinkCreateSerializer

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(
        request=ShortLinkCreateSerializer,
        responses={201: ShortLinkSerializer, 200: ShortLinkSerializer, 409: ErrorSerializer},
    )
    def post(self, request):
        data = ShortLinkCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        options = {**data.validated_data, "slug": data.validated_data.get("slug") or None}
        link, created = services.short_link_create(**options, owner=request.user, request_host=request.get_host())
        return Response(_body(request, link), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(responses={200: ShortLinkSerializer(many=True)})
    def get(self, request):
        page = self.paginate_queryset(selectors.short_links_of(user=request.user).select_related("owner"))
        return self.get_paginated_response([_body(request, link) for link in page])


class ShortLinkDetailApi(APIView):
    api_key_scopes = {"GET": "links:read", "PATCH": "links:write", "DELETE": "links:write"}
    """One link, for its owner or a holder of `manage`; anyone else gets 404."""

    @extend_schema(responses={200: ShortLinkSerializer})
    def get(self, request, key):
        link = selectors.short_link_get_for(user=request.user, key=key)
        return Response(_body(request, link))

    @extend_schema(request=ShortLinkUpdateSerializer, responses={200: ShortLinkSerializer})
    def patch(self, request, key):
        link = selectors.short_link_get_for(user=request.user, key=key)
        data = ShortLinkUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        link = services.short_link_update(link=link, **data.validated_data, request_host=request.get_host())
        return Response(_body(request, link))

    @extend_schema(responses={204: None})
    def delete(self, request, key):
        link = selectors.short_link_get_for(user=request.user, key=key)
        services.short_link_delete(link=link)
        return Response(status=status.HTTP_204_NO_CONTENT)
