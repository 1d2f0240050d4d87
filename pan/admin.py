from django.contrib import admin, messages
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from project.lib.errors import ApplicationError

from . import allowances, posts, services
from .errors import FileTooLarge
from .models import DownloadGrant, Item, Post, Share, ShareState, Video
from .page_cache import share_page_changed


class StateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return ShareState.choices

    def queryset(self, request, queryset):
        if self.value() in ShareState.values:
            return queryset.in_state(self.value(), timezone.now())
        return queryset


class ItemInline(admin.TabularInline):
    model = Item
    extra = 0
    can_delete = False
    fields = ["path", "kind", "human_size", "content_type", "sha256"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("size"))
    def human_size(self, item):
        return filesizeformat(item.size)


class GrantInline(admin.TabularInline):
    """Who downloads: each grant, when it last counted, and the slot it holds."""

    model = DownloadGrant
    extra = 0
    can_delete = False
    fields = ["key", "created_at", "counted_at", "lease_until", "streams"]
    readonly_fields = fields
    verbose_name_plural = _("download grants and leases")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Share)
class ShareAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "owner",
        "item_count",
        "download_count",
        "max_downloads",
        "expires_at",
        "state_label",
        "created_at",
    ]
    list_filter = [StateFilter, "created_at", "expires_at"]
    search_fields = ["title", "unique_name", "owner__username", "items__name", "items__sha256"]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"
    actions = ["revoke", "restore", "regenerate_code"]
    inlines = [ItemInline, GrantInline]
    readonly_fields = [
        "unique_name",
        "owner",
        "created_at",
        "updated_at",
        "download_count",
        "code",
        "revoked_at",
        "complete",
        "broken_at",
        # Changed through the service (PATCH), which refuses it for drop-off deliveries.
        "listed",
    ]
    fields = [
        "unique_name",
        "title",
        "message",
        "owner",
        "created_at",
        "expires_at",
        "max_downloads",
        *readonly_fields[3:],
    ]

    def has_add_permission(self, request):
        # Shares arrive through the upload service (API, page, import_files).
        return False

    @admin.display(description=_("items"))
    def item_count(self, share):
        return share.items.count()

    @admin.display(description=_("state"))
    def state_label(self, share):
        return ShareState(share.state()).label

    def _apply(self, request, queryset, service, message: str) -> None:
        """Run one service per selected share (admin writes follow the same rules)."""
        refused = []
        for share in queryset:
            try:
                service(share=share)
            except ApplicationError as exc:  # e.g. no new code for an expired share
                refused.append(f"{share.display_name}: {exc.message}")
        if refused:
            self.message_user(request, " ".join(refused), messages.ERROR)
            return
        self.message_user(request, message, messages.SUCCESS)

    @admin.action(description=_("Revoke the selected shares"))
    def revoke(self, request, queryset):
        count = queryset.count()
        message = ngettext("Revoked %(count)d share.", "Revoked %(count)d shares.", count) % {"count": count}
        self._apply(request, queryset, services.share_revoke, message)

    @admin.action(description=_("Share the selected shares again"))
    def restore(self, request, queryset):
        count = queryset.count()
        message = ngettext("Restored %(count)d share.", "Restored %(count)d shares.", count) % {"count": count}
        self._apply(request, queryset, services.share_restore, message)

    @admin.action(description=_("Give the selected shares new codes"))
    def regenerate_code(self, request, queryset):
        count = queryset.count()
        message = ngettext("Gave %(count)d share a new code.", "Gave %(count)d shares new codes.", count) % {
            "count": count
        }
        self._apply(request, queryset, services.share_code_regenerate, message)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        share_page_changed(unique_name=obj.unique_name)  # title, expiry, limit (pan/page_cache.py)

    def delete_model(self, request, obj):
        services.share_delete(share=obj)

    def delete_queryset(self, request, queryset):
        for share in queryset:
            services.share_delete(share=share)


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ("title", "content_type", "size", "created_at", "updated_at")
    search_fields = ("title",)
    readonly_fields = ("size", "created_at", "updated_at")
    fields = ("title", "file", "content_type", "size", "created_at", "updated_at")

    def get_urls(self):
        # Only the add and change forms take a video's body, and only from a
        # staff session allowed to add or change videos (pan/allowances.py).
        urls = super().get_urls()
        actions = {f"pan_video_{action}": action for action in ("add", "change")}
        for pattern in urls:
            action = actions.get(getattr(pattern, "name", None))
            if action is not None:
                pattern.callback.body_allowance = allowances.video_admin_allowance(action)
                pattern.callback.body_refusal = FileTooLarge
        return urls

    def save_model(self, request, obj, form, change):
        if "file" in form.changed_data:
            obj.content_type = ""  # a new file: describe it afresh
        posts.video_describe(video=obj)
        super().save_model(request, obj, form, change)


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("title", "published", "video", "created_at", "updated_at")
    list_filter = ("published",)
    search_fields = ("title", "body")
    autocomplete_fields = ("video",)
    readonly_fields = ("created_at", "updated_at")
