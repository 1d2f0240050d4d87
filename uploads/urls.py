from django.urls import path

from . import views

urlpatterns = [
    path("uploads/", views.uploads_root, name="uploads"),
    path("uploads/<str:token>", views.upload_detail, name="upload"),
    # curl -T (docs/uploads.md): `put/` alone is the request with no name (400).
    path("put/", views.put_upload, name="put-root"),
    path("put/<path:name>", views.put_upload, name="put"),
]
