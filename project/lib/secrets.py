"""The secrets people type: codes, passwords, and the limits on guessing
them (SPEC §4.2, §4.3). Shares (`pan`), drop-off requests (`dropoff`) and
short links (`shortener`) all use these; none of them owns them.

Codes: no look-alikes (0/O, 1/I/L), upper case. New codes have 8
characters (shown `XXXX-XXXX`); codes of the first wave had 6 and still
work. Codes arrive through chat apps and e-mails, not typed fresh, so
`code_in` finds one in what was pasted: any case, with or without its dash,
full-width or not, with words around it (`提取码: ABCD-2345`). Within text, a
code is a run of exactly the code's length from the code alphabet, standing
apart from other letters and digits; forms are tried in order of how
unlikely they are to be ordinary words: `XXXX-XXXX` first, then eight
characters in one run, then `XXXX XXXX`.

Passwords: at most `MAX_PASSWORD` characters, stored as a Django hash
(Argon2), checked by Django's hasher in constant time.

Guessing: every code or password typed by a client counts one attempt in
the layers of `guess_layers` first and is decided after
(`project.lib.attempts`); a right one gives its attempt back. While a
layer is full every attempt, even the right one, answers 429.
"""

import re
import secrets
import unicodedata

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.utils.translation import gettext_lazy as _
from rest_framework import status

from project.lib.attempts import Layer, attempts_give_back, attempts_take
from project.lib.errors import ApplicationError, PermissionDenied, TooManyRequests, ValidationFailed
from project.lib.metrics import CODE_GUESS_FAILURES
from project.lib.net import client_key, key_digest, network_key

# --- Codes -------------------------------------------------------------------

SHARE_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
SHARE_CODE_LENGTH = 8
LEGACY_SHARE_CODE_LENGTH = 6
# What is read of a paste: a chat message with a link in it fits.
MAX_PASTE = 2048


def new_share_code() -> str:
    return "".join(secrets.choice(SHARE_CODE_ALPHABET) for _ in range(SHARE_CODE_LENGTH))


def new_unique_name() -> str:
    # 128 random bits, URL-safe: unguessable and never derived from the client's name.
    return secrets.token_urlsafe(16)


def share_code_display(code: str) -> str:
    """`ABCD2345` → `ABCD-2345` (first-wave 6-character codes are shown as they are)."""
    return f"{code[:4]}-{code[4:]}" if len(code) == SHARE_CODE_LENGTH else code


_ALNUM = "A-Za-z0-9"


def _code_forms(length: int) -> list[re.Pattern]:
    half = length // 2
    # Apart from other letters and digits, also across a dash (`zzzz-zzzz-zzzz` is no code).
    edge_before = f"(?<![{_ALNUM}])(?<![{_ALNUM}]-)"
    edge_after = f"(?![{_ALNUM}])(?!-[{_ALNUM}])"
    return [
        re.compile(f"{edge_before}([{_ALNUM}]{{{half}}})-([{_ALNUM}]{{{length - half}}}){edge_after}"),
        re.compile(f"{edge_before}([{_ALNUM}]{{{length}}})(){edge_after}"),
        re.compile(f"{edge_before}([{_ALNUM}]{{{half}}}) ([{_ALNUM}]{{{length - half}}}){edge_after}"),
    ]


_FORMS = {length: _code_forms(length) for length in (SHARE_CODE_LENGTH, LEGACY_SHARE_CODE_LENGTH)}
_IN_ALPHABET = frozenset(SHARE_CODE_ALPHABET)
# Dashes and spaces as chat apps and input methods write them, after NFKC.
_DASHES = str.maketrans({"‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "−": "-", "\u3000": " ", "\t": " "})


def paste_normal(text: str | None) -> str:
    """A paste as codes are looked for in it: NFKC (full-width to ASCII), one kind of dash and space."""
    return unicodedata.normalize("NFKC", str(text or "")[:MAX_PASTE]).translate(_DASHES)


def code_find(text: str | None, *, lengths: tuple[int, ...] = (SHARE_CODE_LENGTH,)) -> str | None:
    """The first code in `text`, upper-case without its dash, or None.

    `lengths`: the code lengths to look for, in order (a share's page also
    knows its first-wave 6-character code)."""
    normal = paste_normal(text)
    for length in lengths:
        for form in _FORMS[length]:
            for match in form.finditer(normal):
                candidate = (match.group(1) + match.group(2)).upper()
                if set(candidate) <= _IN_ALPHABET:
                    return candidate
    return None


def code_in(text: str | None, *, lengths: tuple[int, ...] = (SHARE_CODE_LENGTH,)) -> str | None:
    """The one reading of a typed or pasted code: `code_find`, or else the
    whole text when it is nothing but a code's length of letters and digits
    (a mistyped code, look-alikes and all, is a guess and counts as one);
    None when the text holds no code at all (nothing was guessed)."""
    found = code_find(text, lengths=lengths)
    if found is not None:
        return found
    compact = re.sub(r"[\s-]", "", paste_normal(text))
    if compact.isascii() and compact.isalnum() and len(compact) in lengths:
        return compact.upper()
    return None


# --- Passwords ---------------------------------------------------------------

# The one bound on a password, of shares, drop-off requests and short links
# alike: what the services store and what the API schemas state.
MAX_PASSWORD = 256


class PasswordRequired(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "password_required"
    default_message = _("This share has a password. Send it in the X-Share-Password header.")


class PasswordRejected(PermissionDenied):
    code = "password_rejected"
    default_message = _("The password is not correct.")


class CodeGuessingLimited(TooManyRequests):
    code = "code_guessing_limited"
    default_message = _("Too many wrong codes. Try again later.")


def password_validate(value) -> str:
    """A password as sent, checked: "" (none), or at most `MAX_PASSWORD`
    characters without a NUL (400 on the `password` field otherwise)."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or len(value) > MAX_PASSWORD or "\x00" in value:
        raise ValidationFailed(fields={"password": [_("Enter at most %(max)s characters.") % {"max": MAX_PASSWORD}]})
    return value


def password_hash(value) -> str:
    """The stored form of a password: "" (none) or an Argon2 hash (checked by `password_validate`)."""
    value = password_validate(value)
    return make_password(value) if value else ""


def header_secret(value: str | None) -> str | None:
    """A password sent in a request header (`X-Share-Password`), as text.

    HTTP header values are bytes; ASGI and WSGI servers hand them to Django
    decoded as ISO-8859-1, so a password typed in Chinese and sent as UTF-8
    bytes (curl, httpx, the `pan` client) arrives as mojibake. Its bytes are
    read again as UTF-8; bytes that are not UTF-8 stay as ISO-8859-1 (the
    way DRF reads Basic credentials). Headers carry no other encoding, so
    the API documents them as UTF-8.
    """
    if not value:
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):  # already text beyond Latin-1, or Latin-1 bytes
        return value


# How long a code check waits for places held by right codes being checked
# at the same moment (see `attempts_take`); a locked layer answers this late.
CODE_CHECK_PATIENCE = 0.5


def password_check(*, stored: str, given: str | None, layers) -> None:
    """The one password check of shares, drop-off requests and short links.

    `stored` empty: no password, nothing to check. `given` missing:
    `PasswordRequired` (401, not a guess). Wrong: `PasswordRejected` (403),
    counted in `layers()` (the guessing layers, `guess_layers`) like a wrong
    code; the layers full: 429. Django's hasher compares in constant time.
    """
    if not stored:
        return
    if not given:
        raise PasswordRequired()
    taken = layers()
    attempts_take(taken, patience=CODE_CHECK_PATIENCE)
    # One character past the bound is hashed at most: no stored password is
    # that long, so a longer one stays wrong and costs no more to refuse.
    if check_password(str(given)[: MAX_PASSWORD + 1], stored):
        attempts_give_back(taken)
        return
    CODE_GUESS_FAILURES.labels("password").inc()
    raise PasswordRejected()


# --- Guessing layers ---------------------------------------------------------


def guess_layers(client: str, scope: str | None = None) -> list[Layer]:
    """The layers a secret typed by a client counts in: one client on all
    codes (IPv4 address, IPv6 /64), one network on all codes (IPv4 /24, IPv6
    /48) and, with a `scope` (a share's id, `request:<id>`, `link:<key>`),
    one client on that one. Codes and passwords of shares, drop-off requests
    and short links all count here."""
    who, network = key_digest(client_key(client)), key_digest(network_key(client))
    layers = [
        Layer(
            f"code:client:{who}",
            settings.PAN_CODE_CLIENT_ALL_LIMIT,
            settings.PAN_CODE_CLIENT_ALL_WINDOW,
            CodeGuessingLimited,
        ),
        Layer(
            f"code:network:{network}",
            settings.PAN_CODE_NETWORK_LIMIT,
            settings.PAN_CODE_NETWORK_WINDOW,
            CodeGuessingLimited,
        ),
    ]
    if scope is not None:
        scoped = Layer(
            f"code:client-share:{scope}:{who}",
            settings.PAN_CODE_CLIENT_LIMIT,
            settings.PAN_CODE_CLIENT_WINDOW,
            CodeGuessingLimited,
        )
        layers.insert(0, scoped)
    return layers
