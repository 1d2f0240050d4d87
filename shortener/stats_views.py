"""A link's statistics and QR code (SPEC §5): the owner's page
`/short/<key>/stats`, `GET /api/short/<key>/stats?from=&to=` (JSON),
and `…/stats.csv`: owners and `manage` holders only; anyone else gets the
404 of an unknown key. `GET /api/short/<key>/qr.svg|png` is anyone's: the
QR code holds only the public short URL, and whether a key exists is what
`/s/<key>` already answers anyone (docs/short-links.md). Every stored
field is text from strangers (referrer hosts, browser names): the page
escapes it (Django templates), the CSV neutralises formulas
(project/lib/csvfile.py), and the chart is drawn from numbers only.
"""

import io
from datetime import date, timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from project.lib.csvfile import csv_write
from project.lib.error_pages import error_page
from project.lib.errors import ApplicationError, ValidationFailed
from project.lib.openapi import ErrorSerializer
from project.lib.qr import CONTENT_TYPES, qr_file

from . import selectors, services
from .stats import link_stats, link_stats_rows

_RANGE = [
    OpenApiParameter("from", OpenApiTypes.DATE, OpenApiParameter.QUERY, required=False, description="First day (UTC)."),
    OpenApiParameter(
        "to",
        OpenApiTypes.DATE,
        OpenApiParameter.QUERY,
        required=False,
        description="Last day (UTC); a last day before the first is refused with 400.",
    ),
]


def _day(request, name: str) -> date | None:
    if name not in request.GET:
        return None
    raw = request.GET[name]
    day = parse_date(raw[:10]) if len(raw) == 10 else None
    if day is None:
        message = _("Enter a date as YYYY-MM-DD.")
        raise ValidationFailed(message, fields={name: [message]})
    return day


def _window(request) -> tuple[date | None, date | None]:
    try:
        since, until = _day(request, "from"), _day(request, "to")
    except ValueError:  # a date that does not exist (2026-02-30)
        message = _("Enter a date as YYYY-MM-DD.")
        raise ValidationFailed(message) from None
    if since and until and since > until:
        message = _("The first day comes after the last.")
        raise ValidationFailed(message, fields={"from": [message]})
    return since, until


class NamedCountSerializer(serializers.Serializer):
    name = serializers.CharField()
    visits = serializers.IntegerField()


class DayCountSerializer(serializers.Serializer):
    day = serializers.DateField()
    visits = serializers.IntegerField()


class LinkStatsSerializer(serializers.Serializer):
    visits = serializers.IntegerField(help_text="Visits in the window (statistics are written every few seconds).")
    bots = serializers.IntegerField(help_text="Of those, visits by bots and tools.")
    per_day = DayCountSerializer(many=True)
    referrers = NamedCountSerializer(many=True, help_text="Referrer hosts; empty for none.")
    browsers = NamedCountSerializer(many=True)
    os = NamedCountSerializer(many=True)
    countries = NamedCountSerializer(many=True, help_text="ISO codes; empty without a GeoIP database.")


class ShortLinkStatsApi(APIView):
    permission_classes = [IsAuthenticated]
    api_key_scopes = {"GET": "links:read"}

    @extend_schema(parameters=_RANGE, responses={200: LinkStatsSerializer})
    def get(self, request, key):
        """A link's visits per day, top referrers, browsers, OS and countries, and the bot share."""
        link = selectors.short_link_get_for(user=request.user, key=key)
        since, until = _window(request)
        return Response(link_stats(link=link, since=since, until=until))


class ShortLinkStatsCsvApi(APIView):
    permission_classes = [IsAuthenticated]
    api_key_scopes = {"GET": "links:read"}

    @extend_schema(
        parameters=_RANGE,
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="One row per day and kind of client.")
        },
    )
    def get(self, request, key):
        """The statistics as CSV: day, referrer, browser, os, bot, country, visits."""
        link = selectors.short_link_get_for(user=request.user, key=key)
        since, until = _window(request)
        out = io.StringIO()
        csv_write(out, link_stats_rows(link=link, since=since, until=until))
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{link.key}-stats.csv"'
        return response


# A key's QR code never changes (it encodes the short URL, which is the key's for good).
QR_CACHE_CONTROL = "public, max-age=86400"


class ShortLinkQrApi(APIView):
    """Anyone's: an anonymous creator gets the QR of the link just made from
    `qr_svg_url`/`qr_png_url`. Unknown keys are 404, as on `/s/<key>`."""

    permission_classes = [AllowAny]
    api_key_scopes = {"GET": "links:read"}
    kind = "svg"

    @extend_schema(
        responses={
            (200, "image/svg+xml"): OpenApiTypes.BINARY,
            (200, "image/png"): OpenApiTypes.BINARY,
            404: ErrorSerializer,
        }
    )
    def get(self, request, key):
        """The link's QR code (of its public short URL) as a file to download."""
        link_key = selectors.short_link_public_key(key=key)
        short_url = services.short_link_url(key=link_key, base_url=request.build_absolute_uri("/"))
        response = HttpResponse(qr_file(short_url, self.kind), content_type=CONTENT_TYPES[self.kind])
        response["Content-Disposition"] = f'attachment; filename="{link_key}.{self.kind}"'
        response["Cache-Control"] = QR_CACHE_CONTROL
        return response


# --- The page --------------------------------------------------------------------

CHART_WIDTH, CHART_HEIGHT, CHART_DAYS = 640, 180, 30
# Room for the axes' labels: the y axis on the left, the x axis below.
CHART_LEFT, CHART_BOTTOM, CHART_TOP = 44, 22, 8


def _chart(per_day: list[dict], until: date) -> dict:
    """Bars of the last CHART_DAYS days up to `until`, in SVG user units (numbers only).

    A y axis labelled 0 and the highest day, an x axis labelled with the
    first and last day; `total` 0 means no bars at all (the page then says
    so instead of drawing a scale of nothing).
    """
    counts = {row["day"]: row["visits"] for row in per_day}
    days = [until - timedelta(days=offset) for offset in range(CHART_DAYS - 1, -1, -1)]
    visits_per_day = [counts.get(day.isoformat(), 0) for day in days]
    peak = max(visits_per_day)
    base = CHART_HEIGHT - CHART_BOTTOM
    plot_height = base - CHART_TOP
    width = (CHART_WIDTH - CHART_LEFT) / CHART_DAYS
    bars = []
    for index, (day, visits) in enumerate(zip(days, visits_per_day, strict=True)):
        height = round(visits / peak * plot_height, 1) if peak else 0
        bars.append(
            {
                "x": round(CHART_LEFT + index * width + 1, 1),
                "y": round(base - height, 1),
                "width": round(width - 2, 1),
                "height": height,
                "day": day,
                "visits": visits,
            }
        )
    return {
        "bars": bars,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "base": base,
        "top": CHART_TOP,
        "label_x": CHART_LEFT - 6,
        "label_below": CHART_HEIGHT - 4,
        "peak_label_y": CHART_TOP + 4,
        "peak": peak,
        "total": sum(visits_per_day),
        "first": days[0],
        "last": days[-1],
    }


@login_required
def link_stats_page(request, key):
    try:
        link = selectors.short_link_get_for(user=request.user, key=key)
        since, until = _window(request)
    except ApplicationError as exc:
        # Not yours is the 404 of an unknown key (the selector's LinkNotFound).
        return error_page(request, exc)
    result = link_stats(link=link, since=since, until=until)
    last = until or timezone.now().date()
    context = {
        "link": link,
        "short_url": services.short_link_url(key=link.key, base_url=request.build_absolute_uri("/")),
        "stats": result,
        "chart": _chart(result["per_day"], last),
        "bot_share": round(100 * result["bots"] / result["visits"]) if result["visits"] else 0,
        "query": request.GET.urlencode(),
    }
    return render(request, "shortener/stats.html", context)
