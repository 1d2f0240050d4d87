from django.urls import path, re_path

from . import views

urlpatterns = [
    path("uploads/", views.uploads_root, name="uploads"),
    path("uploads/<str:token>", views.upload_detail, name="upload"),
    # curl -T (docs/uploads.md): any name, control characters too (the view refuses them with 400, not a 404);
    # `put/` and `put` alone are the request with no name (400).
    re_path(r"^put(?:/(?P<name>[\s\S]*))?\Z", views.put_upload, name="put"),
]
