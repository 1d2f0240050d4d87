"""Background tasks in Django admin: every task with its state and error, filtered to the
failed ones by default, and an action that gives failed tasks another run."""

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_tasks_db.models import DBTaskResult

from .models import FailedTask
from .services import FAILED, task_name, tasks_retry

# django-tasks-db's own read-only list is replaced by this one.
if admin.site.is_registered(DBTaskResult):
    admin.site.unregister(DBTaskResult)


@admin.register(FailedTask)
class FailedTaskAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "status", "tries", "error", "enqueued_at", "finished_at")
    list_filter = ("status", "task_path")
    ordering = ["-enqueued_at"]
    actions = ["retry"]
    show_full_result_count = False

    def changelist_view(self, request, extra_context=None):
        # The failed ones first: what an administrator comes here for.
        if request.method == "GET" and not request.GET:
            return HttpResponseRedirect(f"{request.path}?status__exact={FAILED}")
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("task"))
    def name(self, obj):
        return task_name(obj.task_path)

    @admin.display(description=_("tries"))
    def tries(self, obj):
        return len(obj.worker_ids)

    @admin.display(description=_("error"))
    def error(self, obj):
        return obj.exception_class_path.rsplit(".", 1)[-1] if obj.exception_class_path else "-"

    def get_readonly_fields(self, request, obj=None):
        return [
            "task_path",
            "status",
            "args_kwargs",
            "enqueued_at",
            "started_at",
            "finished_at",
            "worker_ids",
            "exception_class_path",
            "formatted_traceback",
        ]

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)

    @admin.display(description=_("traceback"))
    def formatted_traceback(self, obj):
        return format_html("<pre>{}</pre>", obj.traceback) if obj.traceback else "-"

    @admin.action(description=_("Run the selected failed tasks again"))
    def retry(self, request, queryset):
        count = tasks_retry(ids=queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext("%(count)d task queued again.", "%(count)d tasks queued again.", count) % {"count": count},
            messages.SUCCESS,
        )

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
