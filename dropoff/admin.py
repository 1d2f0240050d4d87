"""Drop-off requests in Django admin: read, filter, close, reopen and delete
through the same services as the API (dropoff/services.py)."""

from django.contrib import admin, messages
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .models import Drop, DropRequest, RequestState


class StateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return RequestState.choices

    def queryset(self, request, queryset):
        return queryset.in_state(self.value()) if self.value() in RequestState.values else queryset


class DropInline(admin.TabularInline):
    model = Drop
    extra = 0
    can_delete = False
    fields = ["created_at", "name", "note", "share"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DropRequest)
class DropRequestAdmin(admin.ModelAdmin):
    list_display = ["__str__", "code_display", "owner", "state_label", "received_files", "received_size", "created_at"]
    list_filter = [StateFilter]
    search_fields = ["title", "code", "owner__username"]
    list_select_related = ["owner"]
    readonly_fields = ["unique_name", "code", "owner", "password", "received_files", "received_bytes", "closed_at"]
    fields = ["title", "message", "expires_at", "max_files", "max_bytes", *readonly_fields]
    inlines = [DropInline]
    actions = ["close", "reopen", "delete_with_drops"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deleting goes through the service (drops' bytes too)
        return actions

    def has_add_permission(self, request):
        return False  # made by their owners, on /requests/ or the API

    @admin.display(description=_("state"))
    def state_label(self, obj):
        return obj.state_label

    @admin.display(description=_("received"))
    def received_size(self, obj):
        return filesizeformat(obj.received_bytes)

    @admin.action(description=_("Close the selected requests"))
    def close(self, request, queryset):
        for found in queryset:
            services.request_close(request=found)
        self.message_user(request, _("Closed."), messages.SUCCESS)

    @admin.action(description=_("Reopen the selected requests"))
    def reopen(self, request, queryset):
        for found in queryset:
            services.request_reopen(request=found)
        self.message_user(request, _("Reopened."), messages.SUCCESS)

    @admin.action(description=_("Delete the selected requests and what was dropped into them"))
    def delete_with_drops(self, request, queryset):
        count = 0
        for found in queryset:
            services.request_delete(request=found)
            count += 1
        self.message_user(
            request, ngettext("%(count)d request deleted.", "%(count)d requests deleted.", count) % {"count": count}
        )

    def delete_model(self, request, obj):
        services.request_delete(request=obj)
