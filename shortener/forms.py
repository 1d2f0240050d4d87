from datetime import timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import TARGET_MAX_LENGTH

EXPIRY_CHOICES = [
    ("", _("Never")),
    ("3600", _("In 1 hour")),
    ("86400", _("In 1 day")),
    ("604800", _("In 7 days")),
    ("2592000", _("In 30 days")),
]


class ShortenForm(forms.Form):
    # The browser checks what it can with the server's limits; the service
    # has the last word (schemes, hosts, loops) and its messages are shown.
    url = forms.CharField(
        label=_("Long URL"),
        max_length=TARGET_MAX_LENGTH,
        widget=forms.TextInput(
            attrs={"placeholder": "https://example.com/a/long/path", "autofocus": True, "inputmode": "url"}
        ),
    )
    slug = forms.CharField(
        label=_("Custom name (optional)"),
        required=False,
        min_length=3,
        max_length=64,
        strip=False,
        help_text=_("3–64 characters: letters, digits, _ and -."),
        widget=forms.TextInput(attrs={"pattern": "[A-Za-z0-9_\\-]{3,64}"}),
    )
    expires_in = forms.TypedChoiceField(
        label=_("Expires"), choices=EXPIRY_CHOICES, required=False, coerce=int, empty_value=None
    )
    max_visits = forms.IntegerField(
        label=_("Visit limit (optional)"), required=False, min_value=1, max_value=2_147_483_647
    )

    def expires_delta(self) -> timedelta | None:
        seconds = self.cleaned_data.get("expires_in")
        return timedelta(seconds=seconds) if seconds else None
