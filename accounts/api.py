from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from project.lib.net import client_address
from project.lib.openapi import ErrorSerializer

from . import services
from .serializers import (
    CredentialsSerializer,
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


class RegisterApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=RegistrationSerializer, responses={201: ProfileSerializer, 409: _NAME_TAKEN})
    def post(self, request):
        data = CredentialsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        return Response(services.user_profile(user=user), status=status.HTTP_201_CREATED)


class LoginApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=CredentialsSerializer, responses={200: TokenPairSerializer, 401: _WRONG_CREDENTIALS})
    def post(self, request):
        data = CredentialsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_login(**data.validated_data, client=client_address(request))
        return Response(services.tokens_for_user(user=user))


class TokenRefreshApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=RefreshInputSerializer, responses={200: TokenPairSerializer, 401: _BAD_REFRESH})
    def post(self, request):
        data = RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.token_refresh(refresh=data.validated_data["refresh"]))


class LogoutApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=RefreshInputSerializer, responses={204: None, 401: _BAD_REFRESH})
    def post(self, request):
        data = RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.token_revoke(refresh=data.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    @extend_schema(responses={200: ProfileSerializer})
    def get(self, request):
        return Response(services.user_profile(user=request.user))

    @extend_schema(request=PreferencesSerializer, responses={200: ProfileSerializer})
    def patch(self, request):
        """Change your e-mail address, e-mail receipts and language."""
        PreferencesSerializer(data=request.data).is_valid(raise_exception=True)
        services.user_preferences_update(user=request.user, changes=dict(request.data))
        return Response(services.user_profile(user=request.user))
