"""Docs that can drift get a test: settings against .env.example, error
codes named in docs/ against the code."""

import re
from pathlib import Path

from django.conf import settings

from project.lib.errors import ApplicationError

BASE = Path(settings.BASE_DIR)
# Codes DRF itself answers with through the project's exception handler.
DRF_CODES = {
    "parse_error",
    "not_authenticated",
    "authentication_failed",
    "permission_denied",
    "not_found",
    "method_not_allowed",
    "unsupported_media_type",
    "throttled",
    "too_many_requests",
}


def _application_error_codes() -> set[str]:
    import accounts.errors  # noqa: F401 - register the subclasses
    import pan.errors  # noqa: F401
    import shortener.errors  # noqa: F401

    codes, pending = set(), [ApplicationError]
    while pending:
        cls = pending.pop()
        codes.add(cls.code)
        pending.extend(cls.__subclasses__())
    return codes


def test_every_setting_read_from_the_environment_is_in_env_example():
    source = (BASE / "project" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.[a-z_]+)?\(\s*"([A-Z][A-Z0-9_]+)"', source))
    example = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (BASE / ".env.example").read_text(), re.MULTILINE))
    assert read - example == set()


def test_every_error_code_named_in_the_docs_exists():
    known = _application_error_codes() | DRF_CODES
    named = set()
    for doc in (BASE / "docs").glob("*.md"):
        text = doc.read_text()
        for paragraph in re.findall(r"^Error codes:(.*?)(?:\n\n|\Z)", text, re.MULTILINE | re.DOTALL):
            named |= set(re.findall(r"`([a-z_]+)`", paragraph))
        for table in re.findall(r"^\|[^\n]*`error\.code`[^\n]*\n(?:\|[^\n]*\n)+", text, re.MULTILINE):
            for row in table.splitlines()[2:]:
                named |= set(re.findall(r"`([a-z_]+)`", row.split("|")[2]))
    assert named, "no error codes found in docs/: the test's patterns no longer match"
    assert named - known == set()


def test_the_guessing_arithmetic_in_the_docs_follows_the_default_limits():
    """SPEC §4.2: 10 000 active shares, 1 000 networks, a year: below one share found."""
    from project.lib.secrets import SHARE_CODE_ALPHABET, SHARE_CODE_LENGTH

    codes = len(SHARE_CODE_ALPHABET) ** SHARE_CODE_LENGTH
    windows_a_year = 365 * 86_400 / settings.PAN_CODE_NETWORK_WINDOW
    guesses = 1_000 * settings.PAN_CODE_NETWORK_LIMIT * windows_a_year
    expected = guesses * 10_000 / codes
    assert expected < 1
    files = (BASE / "docs" / "files.md").read_text()
    assert (
        f"1 000 × {settings.PAN_CODE_NETWORK_LIMIT} × {windows_a_year:.0f} = {guesses:.3g}".replace("e+07", " × 10⁷")
        in files
    )
    assert f"**{expected:.2f}**" in files
