from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from project.lib.errors import ApplicationError

from . import services
from .models import LinkState, ShortLink
from .targets import target_url_normalize


class LinkStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return LinkState.choices

    def queryset(self, request, queryset):
        return queryset.in_state(self.value()) if self.value() in LinkState.values else queryset


class ShortLinkAdminForm(forms.ModelForm):
    class Meta:
        model = ShortLink
        fields = ["target_url", "expires_at", "max_visits", "paused"]

    # The same checks the services make, so that a save cannot fail after
    # the form said yes. Unchanged fields are not re-checked: an expired
    # link can still get a new target.
    def clean_target_url(self):
        try:
            return target_url_normalize(url=self.cleaned_data["target_url"])
        except ApplicationError as exc:
            raise ValidationError(str(exc.message)) from exc

    def clean(self):
        cleaned = super().clean()
        for name in ("expires_at", "max_visits"):
            if name in self.changed_data and cleaned.get(name) is not None:
                try:
                    services.short_link_check_limits(**{name: cleaned[name]})
                except ApplicationError as exc:
                    self.add_error(name, str(exc.message))
        return cleaned


@admin.register(ShortLink)
class ShortLinkAdmin(admin.ModelAdmin):
    """Lists, searches and edits links; every write goes through the services,
    so the redirect cache is dropped and the visit counter is never
    overwritten by a stale value. New links come from the page, API or
    `manage.py shorten` (where their keys are made)."""

    form = ShortLinkAdminForm
    list_display = (
        "key",
        "target_url",
        "owner",
        "visit_count",
        "max_visits",
        "paused",
        "last_visit",
        "expires_at",
        "created_at",
    )
    actions = ["pause", "resume"]
    list_filter = (LinkStateFilter, "is_custom", ("owner", admin.EmptyFieldListFilter), "created_at", "expires_at")
    search_fields = ("key", "target_url", "owner__username")
    readonly_fields = ("key", "owner", "is_custom", "visit_count", "last_visit", "created_at")
    fields = (
        "key",
        "target_url",
        "owner",
        "is_custom",
        "expires_at",
        "max_visits",
        "paused",
        "visit_count",
        "last_visit",
        "created_at",
    )
    list_select_related = ("owner",)
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        if "target_url" in changes:
            changes["url"] = changes.pop("target_url")
        services.short_link_update(link=obj, **changes)

    def delete_model(self, request, obj):
        services.short_link_delete(link=obj)

    def delete_queryset(self, request, queryset):
        for link in queryset:
            services.short_link_delete(link=link)

    @admin.action(description=_("Pause the selected links (they answer 410)"))
    def pause(self, request, queryset):
        for link in queryset:
            services.short_link_update(link=link, paused=True)

    @admin.action(description=_("Resume the selected links"))
    def resume(self, request, queryset):
        for link in queryset:
            services.short_link_update(link=link, paused=False)
