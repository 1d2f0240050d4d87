from django.conf import settings
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from project.lib.openapi import ErrorSerializer  # noqa: F401 - its old home; new code imports it from there

from .models import API_KEY_SCOPES
from .validators import UsernameValidator


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, trim_whitespace=False)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


def _password_min_length() -> int:
    for validator in password_validation.get_default_password_validators():
        if isinstance(validator, password_validation.MinimumLengthValidator):
            return validator.min_length
    return 1


class RegistrationSerializer(CredentialsSerializer):
    """Documents `POST /api/register`: the rules `user_register` checks, as far
    as a schema can state them (the view validates with CredentialsSerializer
    and the service gives the messages)."""

    username = serializers.RegexField(
        f"^{UsernameValidator.pattern.pattern}$",
        max_length=150,
        help_text=_(
            "2–150 letters (any script), digits, _ - and .; a name that exists, in any case, "
            "or looks like one that does is refused with 409."
        ),
    )
    password = serializers.RegexField(
        r"\D",
        min_length=_password_min_length(),
        max_length=4096,
        help_text=_(
            "Not only digits, not a commonly used password, not too similar to the username "
            "(refused with 400 and a message saying which)."
        ),
    )


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096, help_text=_("A refresh token from login."))


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()


class LoginSerializer(CredentialsSerializer):
    device = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=4096,
        trim_whitespace=False,
        help_text=_(
            "The device token of an earlier login as this user: failures then count for this device, "
            "not for the username, so guessing from elsewhere cannot lock you out. "
            "Any other value is ignored (limited as an unknown device)."
        ),
    )


class LoginAnswerSerializer(TokenPairSerializer):
    device = serializers.CharField(
        help_text=_("A device token for this client: send it as `device` when you sign in again (also a cookie).")
    )


class ProfileSerializer(serializers.Serializer):
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    permissions = serializers.ListField(child=serializers.CharField())
    is_staff = serializers.BooleanField()
    stored_bytes = serializers.IntegerField(help_text=_("Bytes the user's shares hold."))
    quota = serializers.IntegerField(allow_null=True, help_text=_("The user's quota in bytes; null: no limit."))
    email = serializers.CharField(allow_blank=True)
    receipts_by_email = serializers.BooleanField(help_text=_("An e-mail per completed download and per drop."))
    language = serializers.CharField(allow_blank=True, help_text=_("For e-mails; empty: the site's language."))


class PreferencesSerializer(serializers.Serializer):
    """What `PATCH /api/me` may change; anything else is 400."""

    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    receipts_by_email = serializers.BooleanField(
        required=False, help_text=_("Needs an e-mail address: turning it on without one is refused with 400.")
    )
    language = serializers.ChoiceField(choices=["", *(code for code, _name in settings.LANGUAGES)], required=False)


# --- API keys ----------------------------------------------------------------------


class ApiKeyInputSerializer(serializers.Serializer):
    """`POST /api/keys`: what `api_key_create` takes (it gives the messages)."""

    name = serializers.RegexField(
        r"^[^\x00]*[^\x00\s][^\x00]*$",
        max_length=100,
        help_text=_("1–100 characters, not only spaces: what the key is for."),
    )
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=list(API_KEY_SCOPES)),
        min_length=1,
        help_text=_("What the key may do (see docs/api-keys.md for the scope each endpoint needs)."),
    )
    expires_in = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=settings.PAN_MAX_EXPIRY,
        help_text=_("Seconds until the key stops working; missing or null: no end."),
    )

    def validate(self, attrs):
        # JSON's own types, as the schema states them: DRF would take 0 for "0" and "60" for 60.
        raw = self.initial_data
        errors = {}
        if not isinstance(raw.get("name"), str):
            errors["name"] = [_("Enter text.")]
        expires_in = raw.get("expires_in")
        if expires_in is not None and (type(expires_in) is not int):
            errors["expires_in"] = [_("Enter a whole number.")]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ApiKeySerializer(serializers.Serializer):
    """A key as lists show it: never the key itself."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text=_("The key's first characters, to tell keys apart."))
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=list(API_KEY_SCOPES)))
    created = serializers.DateTimeField()
    expires = serializers.DateTimeField(allow_null=True)
    last_used = serializers.DateTimeField(allow_null=True)
    last_client = serializers.CharField(allow_blank=True, help_text=_("The address the key was last used from."))


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.RegexField(
        r"^pan_[A-Za-z0-9_-]{32,64}$", help_text=_("The key: shown this once, never again. Keep it secret.")
    )
