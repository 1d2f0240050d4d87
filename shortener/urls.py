from django.urls import path

from . import api, stats_views, views

# Routes under /api/ (included by project/urls.py with the "api/" prefix).
api_urlpatterns = [
    path("short", api.ShortLinkListCreateApi.as_view(), name="api-short-links"),
    path("short/<str:key>", api.ShortLinkDetailApi.as_view(), name="api-short-link"),
    path("short/<str:key>/stats", stats_views.ShortLinkStatsApi.as_view(), name="api-short-link-stats"),
    path("short/<str:key>/stats.csv", stats_views.ShortLinkStatsCsvApi.as_view(), name="api-short-link-stats-csv"),
    path("short/<str:key>/qr.svg", stats_views.ShortLinkQrApi.as_view(kind="svg"), name="api-short-link-qr-svg"),
    path("short/<str:key>/qr.png", stats_views.ShortLinkQrApi.as_view(kind="png"), name="api-short-link-qr-png"),
]

# Page routes at the site root.
page_urlpatterns = [
    path("short/", views.shorten_page, name="shorten"),
    path("short/<str:key>/stats", stats_views.link_stats_page, name="short-link-stats"),
    path("short/<str:key>/manage", views.short_link_manage, name="short-link-manage"),
    path("s/<str:key>", views.short_link_redirect, name="short-link"),
    path("short/<str:key>", views.short_link_redirect, name="short-link-long"),
]
