"""The audit log in Django admin: read and filter only (SPEC §4.7)."""

from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_name", "action", "object_type", "object_id", "client", "via")
    list_filter = ("action", ("actor", admin.RelatedOnlyFieldListFilter), "via", "object_type", "at")
    search_fields = ("actor_name", "object_id", "client")
    date_hierarchy = "at"
    list_select_related = False
    show_full_result_count = False  # a COUNT(*) of a long log on every page is slow
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
