"""DRF's JSON parser, refusing deep nesting before parsing (SPEC §8).

`json.loads` recurses once per level: 2 KB of `[` answered 500 with a
RecursionError, and a few hundred levels that parse still reach code that
walks them (serialisers, the error handler). No request of Pan's API nests
deeper than a few levels, so anything past `MAX_DEPTH` is a 400 in the API
error shape before `json` sees it; so is any other JSON that does not parse,
with a message in the caller's language instead of Python's English.
"""

import json
import re
from itertools import accumulate

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils.json import strict_constant

MAX_DEPTH = 32

# Left to right: a string (its closing quote optional, so an unterminated one
# ends the scan instead of being retried from every later quote, which
# would take quadratic time) or a bracket, captured. Linear in the body.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|([\[\]{}])', re.DOTALL)
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1, "": 0}


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text` (0 for a scalar).

    Brackets inside strings do not count. Malformed text gets some number;
    it fails to parse afterwards anyway.
    """
    return max(accumulate(_STEP[bracket] for bracket in _TOKENS.findall(text)), default=0)


class DepthLimitedJSONParser(JSONParser):
    """`JSONParser` with a nesting limit and translated parse errors."""

    max_depth = MAX_DEPTH

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(_("The request body is not valid JSON.")) from exc
        if json_depth(text) > self.max_depth:
            raise ParseError(
                _("The JSON in the request is nested too deeply (more than %(depth)d levels).")
                % {"depth": self.max_depth}
            )
        try:
            return json.loads(text, parse_constant=strict_constant if self.strict else None)
        except json.JSONDecodeError as exc:
            raise ParseError(
                _("The request body is not valid JSON (line %(line)d, column %(column)d).")
                % {"line": exc.lineno, "column": exc.colno}
            ) from exc
        except (ValueError, RecursionError) as exc:
            # strict_constant refuses NaN and Infinity with a plain ValueError.
            raise ParseError(_("The request body is not valid JSON.")) from exc
