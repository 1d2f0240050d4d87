from django.contrib import admin, messages
from django.db.models import F, Q
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import posts, services
from .models import FileState, Post, SharedFile, Video


class StateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return FileState.choices

    def queryset(self, request, queryset):
        now = timezone.now()
        used_up = Q(max_downloads__isnull=False, download_count__gte=F("max_downloads"))
        expired = Q(expires_at__lte=now)
        match self.value():
            case FileState.ACTIVE:
                return queryset.active(now)
            case FileState.REVOKED:
                return queryset.filter(revoked_at__isnull=False)
            case FileState.EXPIRED:
                return queryset.filter(expired, revoked_at__isnull=True)
            case FileState.USED_UP:
                return queryset.filter(used_up, revoked_at__isnull=True).exclude(expired)
        return queryset


@admin.register(SharedFile)
class SharedFileAdmin(admin.ModelAdmin):
    list_display = [
        "file_name",
        "owner",
        "human_size",
        "download_count",
        "max_downloads",
        "expires_at",
        "state_label",
        "created_at",
    ]
    list_filter = [StateFilter, "created_at", "expires_at"]
    search_fields = ["file_name", "unique_name", "owner__username", "sha256"]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"
    actions = ["revoke", "regenerate_code"]
    readonly_fields = [
        "unique_name",
        "file_name",
        "size",
        "content_type",
        "sha256",
        "owner",
        "created_at",
        "download_count",
        "downloads_in_flight",
        "share_code",
        "revoked_at",
    ]
    fields = [*readonly_fields[:7], "expires_at", "max_downloads", *readonly_fields[7:]]

    def has_add_permission(self, request):
        # Files arrive through the upload service (API, page, import_files).
        return False

    @admin.display(description=_("size"), ordering="size")
    def human_size(self, shared_file):
        return filesizeformat(shared_file.size)

    @admin.display(description=_("state"))
    def state_label(self, shared_file):
        return FileState(shared_file.state()).label

    def _apply(self, request, queryset, service, message: str) -> None:
        """Run one service per selected file (admin writes follow the same rules)."""
        for shared_file in queryset:
            service(shared_file=shared_file)
        count = queryset.count()
        self.message_user(request, message % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Revoke the selected files"))
    def revoke(self, request, queryset):
        count = queryset.count()
        message = ngettext("Revoked %(count)d file.", "Revoked %(count)d files.", count)
        self._apply(request, queryset, services.shared_file_revoke, message)

    @admin.action(description=_("Give the selected files new share codes"))
    def regenerate_code(self, request, queryset):
        count = queryset.count()
        message = ngettext("Gave %(count)d file a new code.", "Gave %(count)d files new codes.", count)
        self._apply(request, queryset, services.share_code_regenerate, message)

    def delete_model(self, request, obj):
        services.shared_file_delete(shared_file=obj)

    def delete_queryset(self, request, queryset):
        for shared_file in queryset:
            services.shared_file_delete(shared_file=shared_file)


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ("title", "content_type", "size", "created_at", "updated_at")
    search_fields = ("title",)
    readonly_fields = ("size", "created_at", "updated_at")
    fields = ("title", "file", "content_type", "size", "created_at", "updated_at")

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
