from django.urls import path

from . import views

urlpatterns = [
    path("uploads/", views.uploads_root, name="uploads"),
    path("uploads/<str:token>", views.upload_detail, name="upload"),
]
