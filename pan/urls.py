from django.urls import path

import project.lib.converters  # noqa: F401 - registers the "unique" converter used below

from . import api, views

# Routes under /api/ (included by project/urls.py with the "api/" prefix).
api_urlpatterns = [
    path("pickup", api.PickupApi.as_view(), name="api-pickup"),
    path("shares", api.ShareListApi.as_view(), name="api-shares"),
    path("shares/<unique:unique_name>", api.ShareDetailApi.as_view(), name="api-share"),
    path("shares/<unique:unique_name>/items", api.ShareItemsApi.as_view(), name="api-share-items"),
    path(
        "shares/<unique:unique_name>/items/<int:item_id>/content",
        api.ShareItemContentApi.as_view(),
        name="api-share-item-content",
    ),
    path("shares/<unique:unique_name>/zip", api.ShareZipApi.as_view(), name="api-share-zip"),
    path("shares/<unique:unique_name>/code", api.ShareCodeApi.as_view(), name="api-share-code"),
    path("shares/<unique:unique_name>/qr.svg", api.ShareQrApi.as_view(kind="svg"), name="api-share-qr-svg"),
    path("shares/<unique:unique_name>/qr.png", api.ShareQrApi.as_view(kind="png"), name="api-share-qr-png"),
    path("shares/<unique:unique_name>/revoke", api.ShareRevokeApi.as_view(), name="api-share-revoke"),
    path("shares/<unique:unique_name>/restore", api.ShareRestoreApi.as_view(), name="api-share-restore"),
    # The first wave's one-file paths.
    path("files", api.FileListApi.as_view(), name="api-files"),
    path("files/<unique:unique_name>", api.FileDetailApi.as_view(), name="api-file"),
    path("files/<unique:unique_name>/code", api.ShareCodeApi.as_view(), name="api-file-code"),
    path("files/<unique:unique_name>/revoke", api.ShareRevokeApi.as_view(), name="api-file-revoke"),
    path("files/<unique:unique_name>/content", api.FileContentApi.as_view(), name="api-file-content"),
]

# Page routes at the site root.
page_urlpatterns = [
    path("pickup/", views.pickup_page, name="pickup"),
    path("share/", views.share_page, name="share"),
    path("files/", views.my_files_page, name="my-files"),
    path("files/<unique:unique_name>/edit", views.my_file_edit, name="my-file-edit"),
    path("files/<unique:unique_name>/<str:action>", views.my_file_action, name="my-file-action"),
    path("f/<unique:unique_name>/", views.file_page, name="file-page"),
    path("f/<unique:unique_name>/download", views.file_download, name="file-download"),
    path("f/<unique:unique_name>/zip", views.zip_download, name="share-zip"),
    path("f/<unique:unique_name>/items/<int:item_id>/download", views.item_download, name="item-download"),
    path("f/<unique:unique_name>/items/<int:item_id>/preview", views.item_preview, name="item-preview"),
    path("post/<int:post_id>/", views.post_page, name="post"),
    path("videos/<int:video_id>/", views.video_page, name="video"),
    path("videos/<int:video_id>/stream", views.video_stream, name="video-stream"),
]
