from django.urls import path, register_converter

from project.lib.converters import TextConverter  # importing it registers the "unique" converter used below

from . import api, views


class RequestCodeConverter(TextConverter):
    """A request code as people type it (case and a dash are forgiven on pages)."""

    regex = r"[2-9A-Za-z]{4}-?[2-9A-Za-z]{4}"


register_converter(RequestCodeConverter, "reqcode")

# Routes under /api/ (included by project/urls.py with the "api/" prefix).
# An id (22 characters) and a code (8) never match each other's pattern.
api_urlpatterns = [
    path("requests", api.RequestListApi.as_view(), name="api-requests"),
    path("requests/<reqcode:code>", api.PublicRequestApi.as_view(), name="api-request-public"),
    path("requests/<reqcode:code>/drops", api.DropApi.as_view(), name="api-request-drops"),
    path("requests/<unique:unique_name>", api.RequestDetailApi.as_view(), name="api-request"),
    path("requests/<unique:unique_name>/close", api.RequestCloseApi.as_view(), name="api-request-close"),
    path("requests/<unique:unique_name>/reopen", api.RequestReopenApi.as_view(), name="api-request-reopen"),
]

page_urlpatterns = [
    path("r/<reqcode:code>/", views.request_page, name="request-page"),
    path("r/<reqcode:code>/receipt/<str:receipt_key>/", views.receipt_page, name="request-receipt"),
    path("requests/", views.my_requests_page, name="my-requests"),
]
