"""Admin: endpoints (the secret is never shown) and their deliveries, read-only."""

from django.contrib import admin

from .models import Delivery, Endpoint


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ["event", "message_id", "status", "attempts", "last_status_code", "last_error", "next_attempt_at",
              "delivered_at", "created_at"]  # fmt: skip
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-created_at"]
    show_change_link = True


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "owner", "events", "created_at"]
    list_filter = ["created_at"]
    search_fields = ["url", "owner__username", "unique_name"]
    fields = ["unique_name", "owner", "url", "events", "created_at"]
    readonly_fields = fields
    inlines = [DeliveryInline]

    def has_add_permission(self, request):
        return False  # registered by their owners (the API or /account/webhooks/), with the URL checks

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        from .services import endpoint_delete

        endpoint_delete(endpoint=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for endpoint in queryset:
            self.delete_model(request, endpoint)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "endpoint", "status", "attempts", "last_status_code", "next_attempt_at", "created_at"]
    list_filter = ["status", "event"]
    search_fields = ["message_id", "endpoint__url", "endpoint__owner__username"]
    readonly_fields = ["endpoint", "event", "message_id", "body", "status", "attempts", "last_status_code",
                       "last_error", "last_response", "last_attempt_at", "next_attempt_at", "delivered_at",
                       "created_at"]  # fmt: skip

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
