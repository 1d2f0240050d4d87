from django import forms
from django.utils.translation import gettext_lazy as _

from .validators import UsernameValidator


class _CredentialsForm(forms.Form):
    # The browser checks what it can (required, length, pattern) with the
    # same limits the server applies; the server's messages are the word.
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        min_length=2,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class LoginForm(_CredentialsForm):
    pass


class RegisterForm(_CredentialsForm):
    password2 = forms.CharField(
        label=_("Password again"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].help_text = UsernameValidator.message
        username = self.fields["username"].widget
        username.attrs["pattern"] = r"[\p{L}\p{N}_.\-]{2,150}"
        username.attrs["title"] = str(UsernameValidator.message)
        password = self.fields["password"].widget
        password.attrs.update({"autocomplete": "new-password", "minlength": 8})
        self.fields["password2"].widget.attrs["data-same-as"] = "id_password"
        self.fields["password2"].widget.attrs["data-mismatch"] = str(_("The two passwords differ."))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password") and cleaned.get("password") != cleaned.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return cleaned
