from csp.constants import SELF, UNSAFE_INLINE
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView, TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from accounts.urls import api_urlpatterns as accounts_api
from accounts.urls import page_urlpatterns as accounts_pages
from dropoff.urls import api_urlpatterns as dropoff_api
from dropoff.urls import page_urlpatterns as dropoff_pages
from pan.dashboard import admin_dashboard
from pan.urls import api_urlpatterns as pan_api
from pan.urls import page_urlpatterns as pan_pages
from project.lib.csp import csp_replaced
from shortener.urls import api_urlpatterns as shortener_api
from shortener.urls import page_urlpatterns as shortener_pages
from uploads.urls import urlpatterns as uploads_api
from webhooks.urls import api_urlpatterns as webhooks_api
from webhooks.urls import page_urlpatterns as webhooks_pages

from . import status, views

api_urlpatterns = [
    *accounts_api,
    *pan_api,
    *dropoff_api,
    *uploads_api,
    *shortener_api,
    *webhooks_api,
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # ReDoc's styled-components write <style> elements without a nonce, and
    # it searches in a worker made from a blob: (docs/security.md).
    path(
        "redoc/",
        csp_replaced(
            {
                "style-src": [SELF, UNSAFE_INLINE],
                "font-src": [SELF, "data:"],
                "worker-src": [SELF, "blob:"],
            }
        )(SpectacularRedocView.as_view(url_name="schema")),
        name="redoc",
    ),
]

urlpatterns = [
    path("", views.home_page, name="home"),
    *accounts_pages,
    *pan_pages,
    *dropoff_pages,
    *shortener_pages,
    *webhooks_pages,
    path("api/", include(api_urlpatterns)),
    path("ws-echo/", TemplateView.as_view(template_name="ws_echo.html"), name="ws-echo"),
    path("server-status", status.server_status, name="server-status"),
    path("metrics", include("project.metrics_view")),
    # Browsers and feed readers ask for /favicon.ico whatever the page says.
    # The static URL is read per request: with the manifest storage it names
    # the current hashed file. Not permanent, so a new icon reaches browsers.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.ico")), name="favicon"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/dashboard/", admin.site.admin_view(admin_dashboard), name="admin-dashboard"),
    path("admin/", admin.site.urls),
]

handler400 = "project.views.bad_request"
handler404 = "project.views.page_not_found"
handler500 = "project.views.server_error"
