"""What people paste where a share code goes (SPEC §4.3): one parser for the
home page's box, `POST /api/pickup` and the share page's code field.

Codes arrive through chat apps and e-mails, not typed fresh:

- a code in any case, with or without its dash, full-width or not:
  `abcd2345`, `ABCD-2345`, `ＡＢＣＤ－２３４５`;
- with words around it: `提取码: ABCD-2345`, `提取码：ABCD-2345`,
  `提取码 ABCD-2345`, `code: abcd2345`, a whole chat message;
- a whole share link, in any case, with or without `?code=`:
  `https://pan.example/f/<id>/?code=ABCD2345`, lower-cased by a phone's
  keyboard, with text after it.

`pickup_parse` finds the link or the code. Text with neither finds nothing,
and callers answer "no code found" (400) without counting a guess: only a
code that was actually given can be a wrong one.

Within text, a code is a run of exactly the code's length from the code
alphabet, standing apart from other letters and digits; forms are tried in
order of how unlikely they are to be ordinary words: `XXXX-XXXX` first, then
eight characters in one run, then `XXXX XXXX`. First-wave 6-character codes
are found only where their share is already named (the share page, a link).
"""

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qs

from .models import LEGACY_SHARE_CODE_LENGTH, SHARE_CODE_ALPHABET, SHARE_CODE_LENGTH

MAX_PASTE = 2048

# A link as chat apps copy it, perhaps with words after it: the query stops at a space.
_LINK = re.compile(r"/f/(?P<id>[A-Za-z0-9_-]{1,32})/?(?:\?(?P<query>[^#\s]*))?", re.IGNORECASE)
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


@dataclass(frozen=True)
class Pickup:
    """What a paste names: a share's id (from a link), a code, or both; None where absent."""

    unique_name: str | None = None
    code: str | None = None


def _normal(text: str | None) -> str:
    return unicodedata.normalize("NFKC", str(text or "")[:MAX_PASTE]).translate(_DASHES)


def code_find(text: str | None, *, lengths: tuple[int, ...] = (SHARE_CODE_LENGTH,)) -> str | None:
    """The first code in `text`, upper-case without its dash, or None.

    `lengths`: the code lengths to look for, in order (the share page also
    knows its first-wave 6-character code)."""
    normal = _normal(text)
    for length in lengths:
        for form in _FORMS[length]:
            for match in form.finditer(normal):
                candidate = (match.group(1) + match.group(2)).upper()
                if set(candidate) <= _IN_ALPHABET:
                    return candidate
    return None


def code_in(text: str | None, *, lengths: tuple[int, ...] = (SHARE_CODE_LENGTH,)) -> str | None:
    """`code_find`, or else the whole text when it is nothing but a code's
    length of letters and digits (a mistyped code, look-alikes and all, is
    a guess and counts as one); None when the text holds no code at all."""
    found = code_find(text, lengths=lengths)
    if found is not None:
        return found
    compact = re.sub(r"[\s-]", "", _normal(text))
    if compact.isascii() and compact.isalnum() and len(compact) in lengths:
        return compact.upper()
    return None


def pickup_parse(text: str | None) -> Pickup:
    """A link (its share's id and its `?code=`, any case) or a code in a paste."""
    normal = _normal(text)
    link = _LINK.search(normal)
    if link is not None:
        query = {key.lower(): values for key, values in parse_qs(link.group("query") or "").items()}
        given = (query.get("code") or [""])[0]
        lengths = (SHARE_CODE_LENGTH, LEGACY_SHARE_CODE_LENGTH)
        if given:
            return Pickup(unique_name=link.group("id"), code=code_in(given, lengths=lengths))
        # `链接：<link> 提取码：ABCD-2345`: the code beside the link, not in it.
        beside = normal[: link.start()] + " " + normal[link.end() :]
        return Pickup(unique_name=link.group("id"), code=code_find(beside, lengths=lengths))
    return Pickup(code=code_in(normal))
