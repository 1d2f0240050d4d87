from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from .models import User

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
