from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from project.lib.net import client_address

from . import services
from .serializers import (
    CredentialsSerializer,
    ErrorSerializer,
    ProfileSerializer,
    RefreshInputSerializer,
    TokenPairSerializer,
)


class RegisterApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        request=CredentialsSerializer, responses={201: ProfileSerializer, 400: ErrorSerializer, 409: ErrorSerializer}
    )
    def post(self, request):
        data = CredentialsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        return Response(services.user_profile(user=user), status=status.HTTP_201_CREATED)


class LoginApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        request=CredentialsSerializer, responses={200: TokenPairSerializer, 401: ErrorSerializer, 429: ErrorSerializer}
    )
    def post(self, request):
        data = CredentialsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_login(**data.validated_data, client=client_address(request))
        return Response(services.tokens_for_user(user=user))


class TokenRefreshApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=RefreshInputSerializer, responses={200: TokenPairSerializer, 401: ErrorSerializer})
    def post(self, request):
        data = RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.token_refresh(refresh=data.validated_data["refresh"]))


class LogoutApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=RefreshInputSerializer, responses={204: None, 401: ErrorSerializer})
    def post(self, request):
        data = RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.token_revoke(refresh=data.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    @extend_schema(responses={200: ProfileSerializer, 401: ErrorSerializer})
    def get(self, request):
        return Response(services.user_profile(user=request.user))
