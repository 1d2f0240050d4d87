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

`pickup_parse` finds the link or the code (how a code is found in text
is the kernel's: `project.lib.secrets.code_in`). Text with neither finds
nothing, and callers answer "no code found" (400) without counting a
guess: only a code that was actually given can be a wrong one. First-wave
6-character codes are found only where their share is already named (the
share page, a link).
"""

import re
from dataclasses import dataclass
from urllib.parse import parse_qs

from project.lib.secrets import LEGACY_SHARE_CODE_LENGTH, SHARE_CODE_LENGTH, code_find, code_in, paste_normal

# A link as chat apps copy it, perhaps with words after it: the query stops at a space.
_LINK = re.compile(r"/f/(?P<id>[A-Za-z0-9_-]{1,32})/?(?:\?(?P<query>[^#\s]*))?", re.IGNORECASE)


@dataclass(frozen=True)
class Pickup:
    """What a paste names: a share's id (from a link), a code, or both; None where absent."""

    unique_name: str | None = None
    code: str | None = None


def pickup_parse(text: str | None) -> Pickup:
    """A link (its share's id and its `?code=`, any case) or a code in a paste."""
    normal = paste_normal(text)
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
