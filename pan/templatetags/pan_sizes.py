"""`bytesize`: one size format for pages and their scripts.

Django's `filesizeformat` writes "99 bytes" (translated: "99 字节") where the
live scripts (static/js/events.js, upload.js, dropoff.js) write "99 B", so a
share page could show both side by side (issue 19). This filter writes sizes
exactly as the scripts do: units of 1024, B without decimals, then KB, MB,
GB, TB with one.
"""

from django import template

register = template.Library()

_UNITS = ("B", "KB", "MB", "GB", "TB")


@register.filter
def bytesize(value) -> str:
    try:
        size = float(int(value))
    except (TypeError, ValueError):
        return ""
    unit = 0
    while size >= 1024 and unit < len(_UNITS) - 1:
        size /= 1024
        unit += 1
    if unit == 0:
        return f"{int(size)} B"
    return f"{size:.1f} {_UNITS[unit]}"
