from django.urls import path  # noqa: F401

# Routes under /api/ (included by project/urls.py with the "api/" prefix).
api_urlpatterns = []

# Page routes at the site root.
page_urlpatterns = []
