from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from . import factors, services
from .models import ApiKey, User

# The admin is branded with the site's name and speaks the page's language.
admin.site.site_header = format_lazy(_("{site} administration"), site=settings.SITE_NAME)
admin.site.site_title = format_lazy(_("{site} admin"), site=settings.SITE_NAME)
admin.site.index_title = _("Site administration")

# Model names the admin shows that come from simplejwt's blacklist app,
# whose own Chinese catalogue leaves them untranslated: listed here so that
# makemessages puts them in ours (LOCALE_PATHS wins over an app's catalogue).
_ADMIN_NAMES_FROM_ELSEWHERE = [
    gettext_noop("Accounts"),  # accounts/apps.py's verbose_name, once it is marked for translation
    gettext_noop("Token Blacklist"),
    gettext_noop("Outstanding Token"),
    gettext_noop("Outstanding Tokens"),
    gettext_noop("Blacklisted Token"),
    gettext_noop("Blacklisted Tokens"),
]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "roles", "is_active", "is_staff", "last_login", "date_joined")
    list_filter = ("groups", "is_active", "is_staff")
    # is_staff / is_superuser follow the admin role (accounts.signals):
    # shown, but edited by giving or taking the role.
    readonly_fields = ("is_staff", "is_superuser", "last_login", "date_joined")

    @admin.display(description=_("roles"))
    def roles(self, user):
        return ", ".join(group.name for group in user.groups.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    actions = ["reset_factors"]

    @admin.action(description=_("Reset the second factors of the selected users"), permissions=["change"])
    def reset_factors(self, request, queryset):
        """For users who lost their device and recovery codes (docs/second-factor.md)."""
        users = list(queryset)
        for user in users:
            factors.user_factors_reset(user=user, by=request.user)
        self.message_user(
            request,
            _("Second factors reset for %(count)d users: they sign in with their password and set up a new one.")
            % {"count": len(users)},
        )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Everyone's API keys: seen (never the digest) and revoked through the service."""

    list_display = ("name", "prefix", "owner", "scopes", "created", "expires", "last_used", "last_client")
    list_filter = ("created", "last_used")
    search_fields = ("name", "prefix", "owner__username")
    list_select_related = ("owner",)
    fields = ("name", "prefix", "owner", "scopes", "created", "expires", "last_used", "last_client")
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are made by their owners (the account page or the API): the key is shown once

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Revoke the selected API keys"), permissions=["delete"])
    def revoke(self, request, queryset):
        keys = list(queryset.select_related("owner"))
        for key in keys:
            services.api_key_revoke(key=key, actor=request.user)
        self.message_user(request, _("%(count)d API keys revoked.") % {"count": len(keys)})

    def delete_model(self, request, obj):
        services.api_key_revoke(key=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for key in queryset.select_related("owner"):
            services.api_key_revoke(key=key, actor=request.user)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # "revoke" says what it does and goes through the service
        return actions
