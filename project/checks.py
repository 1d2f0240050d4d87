"""The rules for Pan's three secrets (SPEC §2), and system checks for them.

`project/settings.py` applies `secret_problems` before anything starts: a
secret that is missing (unless DEBUG generates one), shorter than 32
characters, equal to another, or a placeholder stops the start. The
optional secrets (`METRICS_TOKEN`) follow the same rules when set; empty
turns what they open off, and is allowed. The system
check below applies the same rules to the values that are finally in effect,
so a settings module that imports `project.settings` and then sets a secret
of its own is reported by `manage.py check` and `check --deploy` too.
"""

from collections.abc import Mapping
from itertools import combinations
from typing import NamedTuple

from django.core import checks

SECRET_NAMES = ("SECRET_KEY", "JWT_SIGNING_KEY", "SERVER_STATUS_TOKEN")
# Secrets that may be left empty (what they open is then off); set, they are
# held to the same rules as the three above, and may equal none of them.
OPTIONAL_SECRET_NAMES = ("METRICS_TOKEN",)
SECRET_MIN_LENGTH = 32
# Every secret value in .env.example is here (a test keeps it so), with
# stand-ins people paste from tutorials. Compared case-insensitively.
SECRET_PLACEHOLDERS = frozenset(
    {
        "change-me",
        "change-me-to-a-long-random-string",
        "change-me-to-another-long-random-string",
        "changeme",
        "secret",
        "secret-key",
        "your-secret-key",
        "your-secret-key-here",
    }
)
# Any value starting with these is a placeholder whatever follows: the
# .env.example style, and the key `django-admin startproject` writes.
SECRET_PLACEHOLDER_PREFIXES = ("change-me", "changeme", "replace-me", "django-insecure-")
GENERATE_HINT = "Generate each with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"


def secret_is_placeholder(value: str) -> bool:
    folded = value.strip().lower()
    return folded in SECRET_PLACEHOLDERS or folded.startswith(SECRET_PLACEHOLDER_PREFIXES)


class SecretProblem(NamedTuple):
    check_id: str  # the system check's id: pan.E001 missing, E002 placeholder, E003 short, E004 equal
    message: str  # names the setting, never its value


def secret_problems(values: Mapping[str, str]) -> list[SecretProblem]:
    """What is wrong with these secrets (name -> value)."""
    problems = []
    for name, value in values.items():
        if not value:
            problems.append(SecretProblem("pan.E001", f"{name} must be set when DEBUG is off (see .env.example)."))
        elif secret_is_placeholder(value):
            message = f"{name} is a placeholder (the example value from .env.example or a well-known one)."
            problems.append(SecretProblem("pan.E002", message))
        elif len(value) < SECRET_MIN_LENGTH:
            message = f"{name} is {len(value)} characters long; it needs at least {SECRET_MIN_LENGTH}."
            problems.append(SecretProblem("pan.E003", message))
    for (first, first_value), (second, second_value) in combinations(values.items(), 2):
        if first_value and first_value == second_value:
            message = f"{second} is the same as {first}; each secret needs a value of its own."
            problems.append(SecretProblem("pan.E004", message))
    return problems


@checks.register(checks.Tags.security)
def check_secrets(app_configs, **kwargs):
    from django.conf import settings

    values = {
        "SECRET_KEY": settings.SECRET_KEY,
        # The key simplejwt actually signs with.
        "JWT_SIGNING_KEY": settings.SIMPLE_JWT.get("SIGNING_KEY", settings.JWT_SIGNING_KEY),
        "SERVER_STATUS_TOKEN": settings.SERVER_STATUS_TOKEN,
        # Optional: checked only when set.
        **{name: value for name in OPTIONAL_SECRET_NAMES if (value := getattr(settings, name, ""))},
    }
    if settings.DEBUG:
        # DEBUG generates a missing secret; only what was given can be wrong.
        values = {name: value for name, value in values.items() if value}
    return [
        checks.Error(problem.message, hint=GENERATE_HINT, id=problem.check_id) for problem in secret_problems(values)
    ]
