"""A test-only route guarded by HasPanPermission, served through the real
URL routing and authentication stack."""

from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasPanPermission


def guarded(name):
    class View(APIView):
        permission_classes = [HasPanPermission(name)]

        def get(self, request):
            return Response({"ok": name})

    return View.as_view()


urlpatterns = [
    path("guarded/<str:name>", lambda request, name: guarded(name)(request)),
    path("", include("project.urls")),
]
