"""The client's own texts, in English and Simplified Chinese (a small dict:
the client has few sentences). The server's messages come translated by the
server: every request sends `Accept-Language` from the same choice."""

import json
import os
from pathlib import Path

# English text -> Simplified Chinese (zh_Hans.json beside this file). A text missing there is shown in English.
ZH_HANS = json.loads((Path(__file__).with_name("zh_Hans.json")).read_text(encoding="utf-8"))


def language() -> str:
    """The user's language as the server understands it: `zh-Hans` for any Chinese locale, else `en`.
    POSIX order: LC_ALL, then LC_MESSAGES, then LANG (the first that is set and not empty)."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "zh-Hans" if value.lower().startswith("zh") else "en"
    return "en"


def t(message: str, /, **values) -> str:
    """`message` in the user's language, with `values` filled in."""
    if language() == "zh-Hans":
        message = ZH_HANS.get(message, message)
    return message.format(**values) if values else message
