from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "roles", "is_active", "is_staff", "last_login", "date_joined")
    list_filter = ("groups", "is_active", "is_staff")
    # is_staff / is_superuser follow the admin role (accounts.signals):
    # shown, but edited by giving or taking the role.
    readonly_fields = ("is_staff", "is_superuser", "last_login", "date_joined")

    @admin.display(description="roles")
    def roles(self, user):
        return ", ".join(group.name for group in user.groups.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")
