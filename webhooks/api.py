"""The webhooks API (docs/webhooks.md): `POST/GET /api/webhooks`, `DELETE /api/webhooks/<id>`.
Each caller sees and deletes only their own endpoints; anyone else's is a 404."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from project.lib.errors import ValidationFailed
from project.lib.json_parser import DepthLimitedJSONParser

from . import services
from .serializers import EndpointCreatedSerializer, EndpointCreateSerializer, EndpointSerializer


class EndpointListApi(GenericAPIView):
    serializer_class = EndpointSerializer
    parser_classes = [DepthLimitedJSONParser]

    @extend_schema(responses={200: EndpointSerializer(many=True)})
    def get(self, request):
        """Your webhook endpoints, newest first, each with its latest deliveries; paginated."""
        page = self.paginate_queryset(services.endpoints_of(user=request.user))
        return self.get_paginated_response(EndpointSerializer(page, many=True).data)

    @extend_schema(request=EndpointCreateSerializer, responses={201: EndpointCreatedSerializer})
    def post(self, request):
        """Register an endpoint; the answer holds its signing secret, shown only this once."""
        data = request.data
        if not hasattr(data, "get"):
            raise ValidationFailed()
        endpoint = services.endpoint_create(owner=request.user, url=data.get("url"), events=data.get("events"))
        return Response(EndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class EndpointDetailApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, unique_name):
        """Delete one of your endpoints and its deliveries."""
        endpoint = services.endpoint_get_own(user=request.user, unique_name=unique_name)
        services.endpoint_delete(endpoint=endpoint, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
