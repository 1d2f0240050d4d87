"""Pages: the share list, the owner's shares, the public share page and its
downloads; posts, video pages and the video stream.

The share page unlocks a share for the browser session (POST of its code);
downloads from the page then go through the same access check with the
session's unlock and the session's download grant (pan/grants.py)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import F, Q
from django.http import Http404, HttpResponseNotFound
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.generic import ListView

from accounts.permissions import PanPermissionRequiredMixin
from project.lib.error_pages import error_page, page_with_error, unknown_path_page
from project.lib.errors import ApplicationError, Gone, NotFound
from project.lib.net import client_address
from project.lib.streaming import file_response

from . import access, downloads, grants, page_cache, posts, selectors, services
from .errors import LoginRequiredToDownload, PasswordRejected, PasswordRequired, ShareStillUploading, VideoNotFound
from .grants import grant_key_for_session
from .models import Share, ShareState, Video
from .previews import share_text_previews
from .unlocks import CODE, FULL, session_code_passed, session_unlock, session_unlocked
from .uploads import inline_content_type, is_previewable


def _error_page(request, exc: ApplicationError, *, unique_name: str, share=None, code: str = ""):
    """A service error on the share page or a download from it: the share page
    again with the error when there is a share to show, else the error page."""
    if isinstance(exc, LoginRequiredToDownload):
        return redirect_to_login(reverse("file-page", args=[unique_name]))
    if isinstance(exc, ShareStillUploading):
        # Back to the share page, which follows the upload live and opens downloads once complete.
        messages.info(request, exc.message)
        return redirect("file-page", unique_name=unique_name)
    if share is None or isinstance(exc, NotFound | Gone):
        return error_page(request, exc)
    return _share_page_render(request, share, code=code, error=exc)


def _page_title(share, visible: bool) -> str:
    """A share's name on its page and in lists: in full once its details may
    be seen, before that only the title its owner chose (never an item's name)."""
    if visible:
        return share.display_name
    return access.share_public_title(share) or str(gettext_lazy("Shared files"))


def _share_page_render(request, share, *, code="", error: ApplicationError | None = None, kept_at: str | None = None):
    manages = access.share_managed_by(user=request.user, share=share)
    # Locked, the page says only that the share exists and its public title (SPEC §4.3).
    unlocked = access.share_details_visible(user=request.user, share=share, session=request.session)
    items = list(share.items.all()) if unlocked else []
    # Texts are read and rendered only once unlocked: a locked page never carries them.
    texts = share_text_previews(items) if unlocked else {}
    if texts and not manages and request.method != "HEAD":
        texts = _texts_counted(request, share, texts)
    code_passed = session_code_passed(request.session, share) or access.share_opens_without_code(
        user=request.user, share=share
    )
    context = {
        "share": share,
        "page_title": _page_title(share, unlocked),
        "items": items,
        # (item, TextPreview or None) in order: the page shows texts inline, with a copy button.
        "item_texts": [(item, texts.get(item.pk)) for item in items],
        "total_size": share.total_size if unlocked else None,
        "unlocked": unlocked,
        # The code passed in this session (or not needed: listed); the page asks for the password now.
        "password_step": share.has_password and not unlocked and code_passed,
        "code": code,
        "error": error.message if error else None,
        "uploading": share.state() == ShareState.UPLOADING,
        # A share being filled, opened (code and password): the page follows it live (events/).
        "live_share": share.state() == ShareState.UPLOADING and unlocked,
        "previewable": {item.pk for item in items if is_previewable(item.content_type)},
        "login_needed": settings.PAN_DOWNLOAD_REQUIRES_LOGIN and not request.user.is_authenticated,
    }
    if error:
        return page_with_error(request, "pan/file.html", context, error)
    if kept_at is not None and _same_for_everyone(request, share, context):
        marker = page_cache.csrf_marker()
        html = render_to_string("pan/file.html", {**context, "csrf_token": marker}, request=request)
        return page_cache.keep_page(request, kept_at, html=html, marker=marker, expires_at=share.expires_at)
    return render(request, "pan/file.html", context)


def _same_for_everyone(request, share, context) -> bool:
    """The locked page of a share anyone may open now, for a visitor who is
    nobody yet (pan/page_cache.py): what every such visitor sees."""
    return (
        not context["unlocked"]
        and not context["password_step"]
        and not context["code"]
        and not request.user.is_authenticated
        and share.state() in (ShareState.ACTIVE, ShareState.UPLOADING)
    )


def _texts_counted(request, share, texts):
    """Texts shown in full are the files: the page counts like a download
    (pan/grants.py), and shows none when no slot is free (each still has
    its download link, which says why)."""
    try:
        grants.download_served(
            share=share,
            grant_key=grant_key_for_session(request.session),
            target="texts",
            session=True,
            recipient=grants.recipient_of(request),
        )
    except (ApplicationError, grants.DownloadSlotLost):
        return {}
    return texts


@require_http_methods(["GET", "HEAD", "POST"])
def file_page(request, unique_name):
    """`/f/<id>/`: the share page. GET never counts as a download (link
    previews fetch it); POST checks the code and unlocks the share for
    this browser session. A visitor without a session gets the locked page
    from the cache (pan/page_cache.py)."""
    kept_at = page_cache.page_key(request, unique_name=unique_name) if page_cache.keepable(request) else None
    if kept_at is not None and (kept := page_cache.cached_page(request, kept_at)) is not None:
        return kept
    try:
        share = access.share_lookup(unique_name=unique_name)
        # A share still uploading shows its page (with the items so far) and says so.
        if share.state() != ShareState.UPLOADING and not access.share_managed_by(user=request.user, share=share):
            access.share_raise_if_gone(share, grant_key=grant_key_for_session(request.session, create=False))
    except ApplicationError as exc:
        return _error_page(request, exc, unique_name=unique_name)
    if request.method != "POST":
        return _share_page_render(request, share, code=request.GET.get("code", "")[:32], kept_at=kept_at)
    code = request.POST.get("code", "")[:32]
    code_passed = session_code_passed(request.session, share) and not code
    try:
        access.share_access(
            unique_name=unique_name,
            code=code,
            password=request.POST.get("password", ""),
            code_passed=code_passed,
            user=request.user,
            client=client_address(request),
            grant_key=grant_key_for_session(request.session, create=False),
            opening=True,
        )
    except (PasswordRequired, PasswordRejected) as exc:
        # The code was right: the page now asks for the password.
        session_unlock(request.session, share, step=CODE)
        return _error_page(request, exc, unique_name=unique_name, share=share)
    except ApplicationError as exc:
        return _error_page(request, exc, unique_name=unique_name, share=share, code=code)
    session_unlock(request.session, share)
    return redirect(share.get_absolute_url())


@require_POST
def pickup_page(request):
    """The home page's box: a code (or a pasted link) opens its share page,
    unlocked for this session (the password, if any, is asked there)."""
    try:
        share, code_passed = access.share_pickup(text=request.POST.get("code", ""), client=client_address(request))
        if not isinstance(share, Share) or not code_passed:
            # A drop-off request's code, or a link without its code: that page asks for what it needs.
            return redirect(share.get_absolute_url())
    except ApplicationError as exc:
        context = {"pickup_error": exc.message, "pickup_code": request.POST.get("code", "")[:2048]}
        return page_with_error(request, "home.html", context, exc)
    session_unlock(request.session, share, step=CODE if share.has_password else FULL)
    return redirect(share.get_absolute_url())


def _page_download_access(request, unique_name, *, code=None):
    """(share, grant key or None) for a download from the share page."""
    grant_key = grant_key_for_session(request.session)
    share = access.share_lookup(unique_name=unique_name)
    share, manages = access.share_access(
        unique_name=unique_name,
        code=code,
        user=request.user,
        client=client_address(request),
        unlocked=session_unlocked(request.session, share),
        grant_key=grant_key,
    )
    if code is not None and not manages:
        session_unlock(request.session, share)
    return share, None if manages else grant_key


@require_http_methods(["GET", "HEAD"])
def item_download(request, unique_name, item_id):
    """`/f/<id>/items/<item>/download`: one item, for a session that unlocked the share."""
    try:
        share, grant_key = _page_download_access(request, unique_name)
        item = downloads.share_item_get(share=share, item_id=item_id)
        return downloads.item_download_response(
            request=request, share=share, item=item, grant_key=grant_key, session=True
        )
    except ApplicationError as exc:
        return _error_page(request, exc, unique_name=unique_name)


@require_http_methods(["GET", "HEAD"])
def item_preview(request, unique_name, item_id):
    """Inline bytes for image, video, audio and PDF previews (`Range` for
    seeking). A preview is the file: it counts like a download (pan/grants.py)."""
    try:
        share, grant_key = _page_download_access(request, unique_name)
        item = downloads.share_item_get(share=share, item_id=item_id)
    except ApplicationError as exc:
        return _error_page(request, exc, unique_name=unique_name)
    if not is_previewable(item.content_type):
        raise Http404()
    try:
        return downloads.item_download_response(
            request=request, share=share, item=item, grant_key=grant_key, session=True, inline=True
        )
    except ApplicationError as exc:
        return _error_page(request, exc, unique_name=unique_name)


@require_http_methods(["GET", "HEAD"])
def zip_download(request, unique_name):
    """`/f/<id>/zip`: every item (or `?items=`) as one zip."""
    try:
        share, grant_key = _page_download_access(request, unique_name)
        items = downloads.share_items_pick(share=share, raw=request.GET.get("items"))
        return downloads.zip_download_response(
            request=request, share=share, items=items, grant_key=grant_key, session=True
        )
    except ApplicationError as exc:
        return _error_page(request, exc, unique_name=unique_name)


@require_POST
def file_download(request, unique_name):
    """The first wave's download form (the code in the field `code`): the
    share's only item, or its zip when it has several."""
    code = request.POST.get("code", "")[:32]
    try:
        share, grant_key = _page_download_access(request, unique_name, code=code)
        items = list(share.items.all())
        if len(items) == 1:
            return downloads.item_download_response(
                request=request, share=share, item=items[0], grant_key=grant_key, session=True
            )
        return downloads.zip_download_response(
            request=request, share=share, items=items, grant_key=grant_key, session=True
        )
    except ApplicationError as exc:
        shown = Share.objects.active().prefetch_related("items").filter(unique_name=unique_name).first()
        return _error_page(request, exc, unique_name=unique_name, share=shown, code=code)


def _with_share_details(request, shares):
    rows = []
    for share in shares:
        mine = access.share_managed_by(user=request.user, share=share)
        visible = access.share_details_visible(user=request.user, share=share, session=request.session)
        state = share.state()
        items = list(share.items.all()) if visible else []
        row = {
            "share": share,
            "name": _page_title(share, visible),
            "visible": visible,
            "items": items,
            "total_size": share.total_size if visible else None,
            "mine": mine,
            "state": state,
            "state_label": ShareState(state).label,
        }
        if mine:
            link = request.build_absolute_uri(share.share_path())
            row.update(
                # A code opens it now (active or still uploading): code, link and QR are offered.
                live=state in (ShareState.ACTIVE, ShareState.UPLOADING),
                drop=access.share_is_drop(share),
                link=link,
                qr=services.share_link_qr_data_uri(url=link),
                locked=access.code_guessing_locked_for(share=share),
            )
        rows.append(row)
    return rows


class SharePage(PanPermissionRequiredMixin, ListView):
    """`/share/` (needs `visit`): the listed shares that can be downloaded now, newest first."""

    pan_permission = "visit"
    template_name = "pan/share.html"
    paginate_by = 20

    def get_queryset(self):
        return selectors.share_list_shared()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rows"] = _with_share_details(self.request, context["page_obj"])
        return context


share_page = SharePage.as_view()


# ?sort= on /files/ -> order; expiring soonest puts "never" last.
_FILES_SORTS = {
    "new": ["-created_at", "-id"],
    "old": ["created_at", "id"],
    "name": ["title", "-created_at"],
    "expiry": [F("expires_at").asc(nulls_last=True), "-created_at"],
}


@login_required
def my_files_page(request):
    """`/files/`: the user's own shares, with delete, new code, revoke and
    restore; `?q=` searches titles and item names, `?sort=` orders them."""
    query = request.GET.get("q", "").strip()[:100]
    sort = request.GET.get("sort", "new")
    if sort not in _FILES_SORTS:
        sort = "new"
    shares = selectors.share_list_managed(user=request.user).filter(owner=request.user)
    if query:
        shares = shares.filter(Q(title__icontains=query) | Q(items__name__icontains=query)).distinct()
    shares = shares.order_by(*_FILES_SORTS[sort])
    page = Paginator(shares, 20).get_page(request.GET.get("page"))
    rows = _with_share_details(request, page)
    # Kept by the pagination links.
    keep = urlencode({key: value for key, value in (("q", query), ("sort", sort)) if value and value != "new"})
    context = {"page_obj": page, "rows": rows, "query": query, "sort": sort, "keep": keep}
    return render(request, "pan/files.html", context)


# action in the URL -> (service, message shown after it)
_ACTIONS = {
    "delete": (services.share_delete, gettext_lazy("Deleted %(name)s.")),
    "code": (
        services.share_code_regenerate,
        gettext_lazy("%(name)s has a new share code; the old one no longer works."),
    ),
    "revoke": (services.share_revoke, gettext_lazy("%(name)s is no longer shared.")),
    "restore": (services.share_restore, gettext_lazy("%(name)s is shared again.")),
    "list": (
        lambda share: services.share_update(share=share, changes={"listed": True}),
        gettext_lazy("%(name)s is listed: everyone signed in to this Pan can open it."),
    ),
    "unlist": (
        lambda share: services.share_update(share=share, changes={"listed": False}),
        gettext_lazy("%(name)s is no longer listed: only people with the code can open it."),
    ),
}


@login_required
@require_POST
def my_file_action(request, unique_name, action):
    if action not in _ACTIONS:
        raise Http404()
    try:
        share = selectors.share_get_managed(user=request.user, unique_name=unique_name)
    except ApplicationError as exc:
        raise Http404() from exc
    name = share_display_name(share)
    service, done = _ACTIONS[action]
    try:
        service(share=share)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("my-files")
    messages.success(request, str(done) % {"name": name})
    return redirect("my-files")


def _edit_changes(form, *, drop: bool) -> dict:
    """The edit form of a row on /files/ as `share_update` changes (the
    service checks them): an empty expiry keeps the current one, an empty
    limit means none, an empty password keeps the current one."""
    changes = {
        "title": form.get("title", ""),
        "message": form.get("message", ""),
        "max_downloads": form.get("max_downloads", ""),
    }
    if form.get("expires_in", ""):
        changes["expires_in"] = form["expires_in"]
    if form.get("password_clear") == "true":
        changes["password"] = ""
    elif form.get("password", ""):
        changes["password"] = form["password"]
    if not drop:  # a drop-off delivery is never listed: its form has no such box
        changes["listed"] = form.get("listed") == "true"
    return changes


@login_required
@require_POST
def my_file_edit(request, unique_name):
    """`/files/<id>/edit`: the "Edit" form of a row (title, message, expiry,
    limit, password, listed), through the same service as `PATCH /api/shares/<id>`."""
    try:
        share = selectors.share_get_managed(user=request.user, unique_name=unique_name)
    except ApplicationError as exc:
        raise Http404() from exc
    try:
        services.share_update(share=share, changes=_edit_changes(request.POST, drop=access.share_is_drop(share)))
    except ApplicationError as exc:
        problems = [str(message) for messages_of in exc.fields.values() for message in messages_of]
        messages.error(request, " ".join([str(exc.message), *problems]))
        return redirect("my-files")
    messages.success(request, gettext("Saved the changes to %(name)s.") % {"name": share.display_name})
    return redirect("my-files")


def share_display_name(share) -> str:
    """What people call a share (`Share.display_name`)."""
    return share.display_name


# --- Posts and videos ---------------------------------------------------


@require_safe
def post_page(request, post_id: int):
    fragment = posts.post_fragment(post_id=post_id)
    if fragment is None:
        return unknown_path_page(request)
    return render(request, "pan/post.html", {"fragment": fragment})


@require_safe
def video_page(request, video_id: int):
    video = Video.objects.filter(pk=video_id).first()
    if video is None:
        return error_page(request, VideoNotFound())
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
        # Inline only as media: an HTML or SVG file saved as a "video" is plain bytes.
        content_type=inline_content_type(video.content_type or ""),
        etag=f'"video-{video.pk}-{version}-{video.size}"',
        last_modified=video.updated_at,
        filename=video.title,
        inline=True,
    )
