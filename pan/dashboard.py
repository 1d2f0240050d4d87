"""The admins' dashboard (`/admin/dashboard/`, SPEC §6): storage used and by
whom, shares by state, downloads per day, top sharers, shares locked against
code guessing. Read-only; every figure comes from the one queryset or
service that defines it (state querysets, the audit log, the guessing lock).
"""

from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.models import Action, AuditEvent

from .access import code_guessing_locked_for
from .models import Item, Share, ShareState

DAYS = 30
TOP = 10


def dashboard_figures(*, now=None) -> dict:
    now = now or timezone.now()
    by_owner = (
        Item.objects.values("share__owner__username")
        .annotate(bytes=Sum("size"), items=Count("id"), shares=Count("share", distinct=True))
        .order_by("-bytes", "share__owner__username")[:TOP]
    )
    states = [(state, label, Share.objects.in_state(state, now).count()) for state, label in ShareState.choices]
    since = (now - timedelta(days=DAYS - 1)).date()
    per_day = {
        row["day"]: row["count"]
        for row in AuditEvent.objects.filter(action=Action.DOWNLOAD, at__date__gte=since)
        .annotate(day=TruncDate("at"))
        .values("day")
        .annotate(count=Count("id"))
    }
    days = [since + timedelta(days=offset) for offset in range(DAYS)]
    downloads = [{"day": day, "count": per_day.get(day, 0)} for day in days]
    peak = max([row["count"] for row in downloads] + [1])
    for row in downloads:
        row["percent"] = round(100 * row["count"] / peak)
    window = timedelta(seconds=settings.PAN_CODE_SHARE_WINDOW)
    suspects = (
        AuditEvent.objects.filter(action=Action.GUESSING_LOCK, at__gte=now - window)
        .values_list("object_id", flat=True)
        .distinct()
    )
    locked = []
    for share in Share.objects.filter(unique_name__in=list(suspects)).select_related("owner"):
        seconds = code_guessing_locked_for(share=share)
        if seconds:
            locked.append({"share": share, "seconds": seconds})
    return {
        "total_bytes": Item.objects.aggregate(total=Sum("size"))["total"] or 0,
        "total_items": Item.objects.count(),
        "by_owner": list(by_owner),
        "states": states,
        "downloads": downloads,
        "downloads_total": sum(row["count"] for row in downloads),
        "top_sharers": list(
            Share.objects.values("owner__username")
            .annotate(shares=Count("id"))
            .order_by("-shares", "owner__username")[:TOP]
        ),
        "locked": locked,
    }


def admin_dashboard(request):
    context = {**admin.site.each_context(request), "title": _("Dashboard"), **dashboard_figures()}
    return render(request, "admin/pan_dashboard.html", context)
