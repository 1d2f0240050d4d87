"""The checks of the fields people send to services: short texts, whole
numbers, flags and expiries, as JSON values or a form's text alike. Every
failure is a `ValidationFailed` (400) naming the field, in the caller's
language. Shares, drop-off requests and the resumable uploads use these.
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from project.lib.errors import ValidationFailed


def validate_expires_in(value) -> int | None:
    """`expires_in` in seconds, up to `PAN_MAX_EXPIRY`: None = the default, 0 = never."""
    if value is None or value == "":
        return None
    try:
        seconds = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(fields={"expires_in": [_("Enter a whole number of seconds.")]}) from None
    if seconds < 0 or seconds > settings.PAN_MAX_EXPIRY:
        raise ValidationFailed(
            fields={"expires_in": [_("Enter a number from 0 to %(max)s.") % {"max": settings.PAN_MAX_EXPIRY}]}
        )
    return seconds


def validate_whole_number(field: str, value, *, low: int, high: int) -> int | None:
    """A whole number from `low` to `high` (a form's text or JSON's number); None when not given."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool | float):
            raise TypeError(value)
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(fields={field: [_("Enter a whole number.")]}) from None
    if number < low or number > high:
        raise ValidationFailed(
            fields={field: [_("Enter a number from %(low)s to %(high)s.") % {"low": low, "high": high}]}
        )
    return number


def validate_flag(field: str, value) -> bool:
    """A boolean field: a JSON boolean, `true`/`false` in a form (any case), or missing/null (false)."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", ""):
        return value.strip().lower() == "true"
    raise ValidationFailed(fields={field: [_("Enter true or false.")]})


def validate_text(field: str, value, limit: int) -> str:
    """A short text field (title, message, a name): at most `limit` characters
    as sent (what the API schema states), returned stripped; None is ""."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed(fields={field: [_("Enter text.")]})
    if len(value) > limit or "\x00" in value:
        raise ValidationFailed(fields={field: [_("Enter at most %(max)s characters.") % {"max": limit}]})
    return value.strip()
