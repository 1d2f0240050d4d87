from django.urls import path

from . import api, views

# Routes under /api/ (included by project/urls.py with the "api/" prefix).
api_urlpatterns = [
    path("short", api.ShortLinkListCreateApi.as_view(), name="api-short-links"),
    path("short/<str:key>", api.ShortLinkDetailApi.as_view(), name="api-short-link"),
]

# Page routes at the site root.
page_urlpatterns = [
    path("short/", views.shorten_page, name="shorten"),
    path("s/<str:key>", views.short_link_redirect, name="short-link"),
    path("short/<str:key>", views.short_link_redirect, name="short-link-long"),
]
