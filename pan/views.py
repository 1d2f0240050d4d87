"""Pages: the share list, the owner's files, the public file page and its
downloads; posts, video pages and the video stream."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseNotFound
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.generic import ListView

from accounts.permissions import PanPermissionRequiredMixin
from project.lib.errors import ApplicationError, Gone, NotFound, TooManyRequests
from project.lib.net import client_address
from project.lib.streaming import file_response

from . import downloads, posts, selectors, services
from .errors import LoginRequiredToDownload
from .models import FileState, Video
from .uploads import is_previewable


def _error_page(request, exc: ApplicationError, *, unique_name: str, shared_file=None, code: str = ""):
    """A service error as a page with the same status (404 and 410 pages of their own)."""
    if isinstance(exc, NotFound):
        return render(request, "pan/file_missing.html", {"message": exc.message}, status=404)
    if isinstance(exc, Gone):
        return render(request, "pan/file_gone.html", {"message": exc.message}, status=410)
    if isinstance(exc, LoginRequiredToDownload):
        return redirect_to_login(f"/f/{unique_name}/")
    if shared_file is None:
        context = {"message": exc.message, "status": exc.status_code}
        response = render(request, "pan/file_error.html", context, status=exc.status_code)
    else:
        response = _file_page_render(request, shared_file, code=code, error=exc.message, status=exc.status_code)
    if isinstance(exc, TooManyRequests):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _file_page_render(request, shared_file, *, code="", error=None, preview=False, status=200):
    context = {
        "shared_file": shared_file,
        "code": code,
        "error": error,
        "preview": preview and is_previewable(shared_file.content_type),
        "kind": shared_file.content_type.split("/", 1)[0],
        "login_needed": settings.PAN_DOWNLOAD_REQUIRES_LOGIN and not request.user.is_authenticated,
    }
    return render(request, "pan/file.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def file_page(request, unique_name):
    """`/f/<unique>/`: never counts as a download (link-preview bots fetch it).

    POST checks the code and shows an inline preview for images and videos.
    """
    try:
        shared_file = downloads.shared_file_lookup(unique_name=unique_name)
    except ApplicationError as exc:
        return _error_page(request, exc, unique_name=unique_name)
    if request.method != "POST":
        return _file_page_render(request, shared_file, code=request.GET.get("code", "")[:32])
    code = request.POST.get("code", "")[:32]
    try:
        downloads.shared_file_access(
            unique_name=unique_name, code=code, user=request.user, client=client_address(request)
        )
    except ApplicationError as exc:
        return _error_page(request, exc, unique_name=unique_name, shared_file=shared_file, code=code)
    return _file_page_render(request, shared_file, code=code.strip().upper(), preview=True)


@require_POST
def file_download(request, unique_name):
    """The download button: the code in the form field `code`."""
    code = request.POST.get("code", "")[:32]
    client = client_address(request)
    try:
        shared_file = downloads.shared_file_access(unique_name=unique_name, code=code, user=request.user, client=client)
        return downloads.shared_file_download_response(request=request, shared_file=shared_file, client=client)
    except ApplicationError as exc:
        shown = selectors.shared_file_list_shared().filter(unique_name=unique_name).first()
        return _error_page(request, exc, unique_name=unique_name, shared_file=shown, code=code)


@require_http_methods(["GET", "HEAD"])
def file_preview(request, unique_name):
    """Inline bytes for the image or video preview (`?code=`), with `Range` for seeking."""
    code = request.GET.get("code", "")[:32]
    client = client_address(request)
    try:
        shared_file = downloads.shared_file_access(unique_name=unique_name, code=code, user=request.user, client=client)
    except ApplicationError as exc:
        return _error_page(request, exc, unique_name=unique_name)
    if not is_previewable(shared_file.content_type):
        raise Http404()
    return downloads.shared_file_download_response(request=request, shared_file=shared_file, client=client, inline=True)


def _with_share_details(request, page_files):
    rows = []
    for shared_file in page_files:
        mine = selectors.shared_file_code_visible(user=request.user, shared_file=shared_file)
        state = shared_file.state()
        row = {"file": shared_file, "mine": mine, "state": state, "state_label": FileState(state).label}
        if mine:
            link = request.build_absolute_uri(shared_file.share_path())
            row.update(
                link=link,
                qr=services.share_link_qr_data_uri(url=link),
                locked=downloads.code_guessing_locked_for(unique_name=shared_file.unique_name),
            )
        rows.append(row)
    return rows


class SharePage(PanPermissionRequiredMixin, ListView):
    """`/share/` (needs `visit`): every downloadable file, newest first."""

    pan_permission = "visit"
    template_name = "pan/share.html"
    paginate_by = 20

    def get_queryset(self):
        return selectors.shared_file_list_shared()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rows"] = _with_share_details(self.request, context["page_obj"])
        return context


share_page = SharePage.as_view()


@login_required
def my_files_page(request):
    """`/files/`: the user's own files, with delete, new code and revoke."""
    files = selectors.shared_file_list_managed(user=request.user).filter(owner=request.user)
    page = Paginator(files, 20).get_page(request.GET.get("page"))
    rows = _with_share_details(request, page)
    return render(request, "pan/files.html", {"page_obj": page, "rows": rows})


# action in the URL -> (service, message shown after it)
_ACTIONS = {
    "delete": (services.shared_file_delete, gettext_lazy("Deleted %(name)s.")),
    "code": (
        services.share_code_regenerate,
        gettext_lazy("%(name)s has a new share code; the old one no longer works."),
    ),
    "revoke": (services.shared_file_revoke, gettext_lazy("%(name)s is no longer shared.")),
}


@login_required
@require_POST
def my_file_action(request, unique_name, action):
    if action not in _ACTIONS:
        raise Http404()
    try:
        shared_file = selectors.shared_file_get_managed(user=request.user, unique_name=unique_name)
    except ApplicationError as exc:
        raise Http404() from exc
    name = shared_file.file_name
    service, done = _ACTIONS[action]
    service(shared_file=shared_file)
    messages.success(request, str(done) % {"name": name})
    return redirect("/files/")


# --- Posts and videos ---------------------------------------------------


@require_safe
def post_page(request, post_id: int):
    fragment = posts.post_fragment(post_id=post_id)
    if fragment is None:
        return render(request, "404.html", status=404)
    return render(request, "pan/post.html", {"fragment": fragment})


@require_safe
def video_page(request, video_id: int):
    video = Video.objects.filter(pk=video_id).first()
    if video is None:
        return render(request, "pan/video_missing.html", status=404)
    return render(request, "pan/video.html", {"video": video})


@require_safe
async def video_stream(request, video_id: int):
    video = await Video.objects.filter(pk=video_id).afirst()
    if video is None or not video.file:
        # No page layout here: it would read the session user, a sync call.
        return HttpResponseNotFound(b"no such video", content_type="text/plain")
    version = int(video.updated_at.timestamp())
    return file_response(
        request,
        storage=default_storage,
        name=video.file.name,
        size=video.size,
        content_type=video.content_type or "application/octet-stream",
        etag=f'"video-{video.pk}-{version}-{video.size}"',
        last_modified=video.updated_at,
        filename=video.title,
        inline=True,
    )
