import hashlib
import re
import unicodedata

import icu
from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

# One checker for the process: ICU's skeleton lookup is read-only and safe
# to share between threads once the checker is built.
_SPOOF_CHECKER = icu.SpoofChecker()


@deconstructible
class UsernameValidator:
    """2–150 characters: letters (any script, CJK included), digits, `_ - .`.

    `\\w` in Python's `re` covers letters and digits of every script plus `_`;
    marks, symbols, spaces and control or format characters are refused.
    Two characters because 小明 is a whole name.
    """

    pattern = re.compile(r"[\w.\-]{2,150}")
    message = _("Enter a username of 2–150 characters: letters, digits, CJK characters, _ - and . only.")
    code = "invalid_username"

    def __call__(self, value):
        if not isinstance(value, str) or not self.pattern.fullmatch(value):
            raise ValidationError(self.message, code=self.code)
        if any(unicodedata.category(ch).startswith(("M", "C")) for ch in value):
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other):
        return isinstance(other, UsernameValidator)


LOOK_ALIKE_MESSAGE = _("This username looks the same as an existing one. Choose another.")


def username_skeleton(username: str) -> str:
    """What a name looks like, as a fixed-length key: equal keys, look-alike names.

    The UTS #39 confusables skeleton (ICU's `SpoofChecker`) of the NFKC form,
    made case-insensitive by case-folding and taking the skeleton again until
    nothing changes (at most three rounds for any letter: "b0ss" → "bOss" →
    "boss"; "IiIy" → "lily"). Case-folding before the first skeleton would
    lose "I reads as l", so it comes after. The key is the SHA-256 of that
    text: a Hangul syllable's skeleton is up to seven letters, so 150 of them
    would pass PostgreSQL's limit for an index entry.
    """
    text = unicodedata.normalize("NFKC", username)
    for _round in range(5):
        folded = _SPOOF_CHECKER.getSkeleton(0, text).casefold()
        if folded == text:
            break
        text = folded
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
