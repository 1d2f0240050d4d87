"""Pan's admin site: Django's, with the door moved into the site.

Django's admin answers everyone it refuses with its own login form, even a
signed-in member, who then reads "You are authenticated as bob, but are not
authorized" on a page that looks like another product. Here the admin sends
an anonymous visitor to Pan's `/login/?next=…` (one sign-in form for the whole
site) and answers a signed-in account without staff status 403 `AdminOnly`,
the site's one error page (`error_page`) saying the admin is for
administrators (docs/interface.md).
Staff pass through unchanged. Installed by `project.apps.PanAdminConfig`,
Django's documented way to replace the default site.
"""

from functools import wraps

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from project.lib.error_pages import error_page
from project.lib.errors import PermissionDenied


class AdminOnly(PermissionDenied):
    code = "admin_only"
    default_message = _("Administrators only")

    @property
    def hint(self):
        return _(
            "The admin pages are for administrators. Your account can use the rest of %(site)s from the menu above."
        ) % {"site": settings.SITE_NAME}


def admin_forbidden(request):
    return error_page(request, AdminOnly())


class PanAdminSite(admin.AdminSite):
    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def gate(request, *args, **kwargs):
            if self.has_permission(request) or request.path == reverse("admin:logout", current_app=self.name):
                return inner(request, *args, **kwargs)
            if request.user.is_authenticated:
                return never_cache(admin_forbidden)(request)
            return redirect_to_login(request.get_full_path())  # settings.LOGIN_URL, with ?next=

        return gate

    def login(self, request, extra_context=None):
        # `/admin/login/` stays a valid address (bookmarks, Django's own links)
        # but leads to the same doors as every other admin page.
        if self.has_permission(request):
            return super().login(request, extra_context)
        if request.user.is_authenticated:
            return never_cache(admin_forbidden)(request)
        target = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        return redirect_to_login(target)
