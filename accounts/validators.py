import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _


@deconstructible
class UsernameValidator:
    """3–150 characters: letters (any script, CJK included), digits, `_ - .`.

    `\\w` in Python's `re` covers letters and digits of every script plus `_`;
    marks, symbols, spaces and control or format characters are refused.
    """

    pattern = re.compile(r"[\w.\-]{3,150}")
    message = _("Enter a username of 3–150 characters: letters, digits, CJK characters, _ - and . only.")
    code = "invalid_username"

    def __call__(self, value):
        if not isinstance(value, str) or not self.pattern.fullmatch(value):
            raise ValidationError(self.message, code=self.code)
        if any(unicodedata.category(ch).startswith(("M", "C")) for ch in value):
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other):
        return isinstance(other, UsernameValidator)
