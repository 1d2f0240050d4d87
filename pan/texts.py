"""Text items: their formats, and how the share page shows them.

A text is `plain`, `markdown`, or code in a language Pygments knows (its
short names: `python`, `js`, `go`…). Plain text and code are escaped and
shown with line numbers (code with Pygments' colours; the CSS is
static/css/pygments.css, light and dark). Markdown is rendered by
markdown-it-py with raw HTML off, images shown as links (never loaded from
elsewhere), and the result sanitised once more by nh3 with an allow-list:
no scripts, styles, event handlers, or links but http(s) and mailto.
"""

import hashlib
from dataclasses import dataclass

import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from project.lib.errors import ValidationFailed

PLAIN = "plain"
MARKDOWN = "markdown"

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "td": {"align"}, "th": {"align"}, "ol": {"start"}}


@dataclass(frozen=True)
class PreparedText:
    text: str
    text_format: str
    name: str
    content_type: str
    size: int
    sha256: str


def text_format_validate(value) -> str:
    """`plain` (default), `markdown`, or a Pygments language name; else 400."""
    value = (str(value).strip().lower() if value is not None else "") or PLAIN
    if value in (PLAIN, MARKDOWN, "md"):
        return MARKDOWN if value == "md" else value
    try:
        return get_lexer_by_name(value).aliases[0]
    except ClassNotFound:
        raise ValidationFailed(
            fields={"text_format": [_("Use plain, markdown, or the name of a programming language.")]}
        ) from None


def _name_for(text_format: str) -> tuple[str, str]:
    if text_format == PLAIN:
        return "text.txt", "text/plain"
    if text_format == MARKDOWN:
        return "text.md", "text/markdown"
    lexer = get_lexer_by_name(text_format)
    pattern = next((p for p in lexer.filenames if p.startswith("*.") and "*" not in p[2:]), "*.txt")
    return f"snippet{pattern[1:]}", "text/plain"


def text_prepare(raw, text_format, *, limit: int) -> PreparedText:
    """Check a text (a str, or bytes that must be UTF-8) and describe it as an item.

    Raises `TextTooLarge` (413) past `limit` UTF-8 bytes, `ValidationFailed`
    for invalid UTF-8, NUL characters or an unknown format.
    """
    from .errors import TextTooLarge

    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed(fields={"text": [_("The text is not valid UTF-8.")]}) from None
    if not isinstance(raw, str):
        raise ValidationFailed(fields={"text": [_("Enter text.")]})
    data = raw.encode("utf-8")
    if len(data) > limit:
        raise TextTooLarge(TextTooLarge.default_message % {"max": limit // 1024})
    if "\x00" in raw:
        raise ValidationFailed(fields={"text": [_("The text may not contain NUL characters.")]})
    if not raw.strip():
        raise ValidationFailed(fields={"text": [_("The text is empty.")]})
    text_format = text_format_validate(text_format)
    name, content_type = _name_for(text_format)
    return PreparedText(raw, text_format, name, content_type, len(data), hashlib.sha256(data).hexdigest())


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")

    def image_as_link(tokens, index, options, env):
        # An image from elsewhere would tell its host who read the share: a link instead.
        token = tokens[index]
        alt = escape(token.content or token.attrGet("src") or "")
        return f'<a href="{escape(token.attrGet("src") or "")}">{alt}</a>'

    md.add_render_rule("image", image_as_link)
    return md


_MD = _markdown()


def markdown_render(text: str) -> SafeString:
    html = _MD.render(text)
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
        strip_comments=True,
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 with the allow-list above


def code_render(text: str, text_format: str) -> SafeString:
    """Escaped text with line numbers; colours for code (Pygments escapes everything)."""
    lexer = get_lexer_by_name("text" if text_format == PLAIN else text_format, stripnl=False, ensurenl=False)
    formatter = HtmlFormatter(linenos="table", cssclass="highlight", wrapcode=True)
    return mark_safe(highlight(text, lexer, formatter))  # noqa: S308 - Pygments escapes its input


def text_render(*, text: str, text_format: str) -> SafeString:
    """The HTML the share page shows for a text item."""
    if text_format == MARKDOWN:
        return markdown_render(text)
    return code_render(text, text_format)
