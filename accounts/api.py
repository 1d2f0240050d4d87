from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from project.lib.json_parser import DepthLimitedJSONParser
from project.lib.net import client_address
from project.lib.openapi import ErrorSerializer

from . import services
from .authentication import ApiKeyAuthentication
from .cookies import DEVICE_COOKIE, device_cookie_read, device_cookie_set
from .serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyInputSerializer,
    ApiKeySerializer,
    CredentialsSerializer,
    LoginAnswerSerializer,
    LoginSerializer,
    PreferencesSerializer,
    ProfileSerializer,
    RefreshInputSerializer,
    RegistrationSerializer,
    TokenPairSerializer,
)

# What only these views answer; the shared errors come from project/lib/openapi.py.
_NAME_TAKEN = OpenApiResponse(ErrorSerializer, description="The name exists (in any case) or looks like one that does.")
_WRONG_CREDENTIALS = OpenApiResponse(ErrorSerializer, description="The username or password is not correct.")
_BAD_REFRESH = OpenApiResponse(ErrorSerializer, description="The refresh token is not valid, has expired or was used.")
_KEY_LIMIT = OpenApiResponse(
    ErrorSerializer, description="`api_key_limit`: the account holds `API_KEYS_PER_USER` keys."
)
_DEVICE_COOKIE = OpenApiParameter(
    DEVICE_COOKIE,
    str,
    OpenApiParameter.COOKIE,
    required=False,
    description="The device cookie of an earlier login (the body's `device` wins when both are sent).",
)


class RegisterApi(APIView):
    permission_classes = [AllowAny]
    # No session or JWT here; an API key is refused (403): this is the person's.
    authentication_classes = [ApiKeyAuthentication]

    @extend_schema(request=RegistrationSerializer, responses={201: ProfileSerializer, 409: _NAME_TAKEN})
    def post(self, request):
        data = CredentialsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        return Response(services.user_profile(user=user), status=status.HTTP_201_CREATED)


class LoginApi(APIView):
    permission_classes = [AllowAny]
    # No session or JWT here; an API key is refused (403): this is the person's.
    authentication_classes = [ApiKeyAuthentication]

    @extend_schema(
        request=LoginSerializer,
        parameters=[_DEVICE_COOKIE],
        responses={200: LoginAnswerSerializer, 401: _WRONG_CREDENTIALS},
    )
    def post(self, request):
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        signed_in = services.user_login(
            username=data.validated_data["username"],
            password=data.validated_data["password"],
            client=client_address(request),
            device=data.validated_data.get("device") or device_cookie_read(request),
        )
        response = Response({**services.tokens_for_user(user=signed_in.user), "device": signed_in.device})
        device_cookie_set(response, request, signed_in.device)
        return response


class TokenRefreshApi(APIView):
    permission_classes = [AllowAny]
    # No session or JWT here; an API key is refused (403): this is the person's.
    authentication_classes = [ApiKeyAuthentication]

    @extend_schema(request=RefreshInputSerializer, responses={200: TokenPairSerializer, 401: _BAD_REFRESH})
    def post(self, request):
        data = RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.token_refresh(refresh=data.validated_data["refresh"]))


class LogoutApi(APIView):
    permission_classes = [AllowAny]
    # No session or JWT here; an API key is refused (403): this is the person's.
    authentication_classes = [ApiKeyAuthentication]

    @extend_schema(request=RefreshInputSerializer, responses={204: None, 401: _BAD_REFRESH})
    def post(self, request):
        data = RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.token_revoke(refresh=data.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    # Any key may read who it signs in as; changing the account is the person's.
    api_key_scopes = {"GET": services.ANY_SCOPE}

    @extend_schema(responses={200: ProfileSerializer})
    def get(self, request):
        return Response(services.user_profile(user=request.user))

    @extend_schema(request=PreferencesSerializer, responses={200: ProfileSerializer})
    def patch(self, request):
        """Change your e-mail address, e-mail receipts and language."""
        PreferencesSerializer(data=request.data).is_valid(raise_exception=True)
        services.user_preferences_update(user=request.user, changes=dict(request.data))
        return Response(services.user_profile(user=request.user))


# --- API keys (docs/api-keys.md) ------------------------------------------------------
#
# The person's own: no `api_key_scopes`, so an API key is refused here (403).


def api_key_body(key, raw: str | None = None) -> dict:
    body = {
        "id": key.pk,
        "name": key.name,
        "prefix": key.prefix,
        "scopes": key.scopes,
        "created": key.created,
        "expires": key.expires,
        "last_used": key.last_used,
        "last_client": key.last_client,
    }
    if raw is not None:
        body["key"] = raw
    return body


class ApiKeyListApi(GenericAPIView):
    serializer_class = ApiKeySerializer
    parser_classes = [DepthLimitedJSONParser]

    @extend_schema(responses={200: ApiKeySerializer(many=True)})
    def get(self, request):
        """Your API keys, newest first (never the keys themselves), paginated."""
        page = self.paginate_queryset(services.api_key_list(owner=request.user))
        return self.get_paginated_response([api_key_body(key) for key in page])

    @extend_schema(
        request=ApiKeyInputSerializer,
        responses={201: ApiKeyCreatedSerializer, 409: _KEY_LIMIT},
    )
    def post(self, request):
        """Make an API key; the answer's `key` is the only time it is shown."""
        data = ApiKeyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key, raw = services.api_key_create(owner=request.user, **data.validated_data)
        return Response(api_key_body(key, raw), status=status.HTTP_201_CREATED)


class ApiKeyDetailApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, key_id):
        """Revoke one of your keys: it answers 401 from then on."""
        key = services.api_key_get_owned(owner=request.user, key_id=key_id)
        services.api_key_revoke(key=key, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
