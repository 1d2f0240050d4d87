from django.urls import path

from project.lib.converters import TextConverter  # noqa: F401 - importing it registers the "unique" converter

from . import api, views

# Routes under /api/ (included by project/urls.py with the "api/" prefix).
api_urlpatterns = [
    path("webhooks", api.EndpointListApi.as_view(), name="api-webhooks"),
    path("webhooks/<unique:unique_name>", api.EndpointDetailApi.as_view(), name="api-webhook"),
]

# Page routes at the site root.
page_urlpatterns = [
    path("account/webhooks/", views.webhooks_page, name="account-webhooks"),
]
