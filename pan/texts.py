"""Text items: their formats, and how the share page shows them.

A text is `plain`, `markdown`, or code in a language Pygments knows (its
short names: `python`, `js`, `go`…). Plain text and code are escaped and
shown with line numbers (code with Pygments' colours; the CSS is
static/css/pygments.css, light and dark). Markdown is rendered by
markdown-it-py with raw HTML off, images shown as links (never loaded from
elsewhere), and the result sanitised once more by nh3 with an allow-list:
no scripts, styles, event handlers, or links but http(s) and mailto.

File items that read as text (`text/*`, or a name Pygments knows; small
enough; valid UTF-8) are shown the same way (`item_text_preview`), except
that HTML, XML and SVG are only ever shown as escaped plain text.
"""

import hashlib
import logging
import mimetypes
from dataclasses import dataclass

import nh3
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
from pygments.util import ClassNotFound

from project.lib.errors import ValidationFailed

from .models import ItemKind
from .uploads import ACTIVE_TYPES, is_previewable

logger = logging.getLogger(__name__)

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

    def image_as_link(renderer, tokens, index, options, env):  # markdown-it-py passes the renderer first
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


# --- Texts on the share page -------------------------------------------------

# A page renders at most this much text inline (Pygments takes about a second
# per 500 KiB of code); items past it are offered for download only.
PAGE_TEXTS_MAX_ITEMS = 20
PAGE_TEXTS_MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class TextPreview:
    text: str
    text_format: str
    html: SafeString

    @property
    def label(self) -> str:
        """What the page calls the format: "Markdown", "Plain text", "Python"…"""
        if self.text_format == MARKDOWN:
            return "Markdown"
        if self.text_format == PLAIN:
            return str(_("Plain text"))
        try:
            return get_lexer_by_name(self.text_format).name
        except ClassNotFound:
            return self.text_format

    @property
    def is_markdown(self) -> bool:
        return self.text_format == MARKDOWN


def _mime(content_type: str) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _is_active(content_type: str) -> bool:
    return content_type in ACTIVE_TYPES or content_type.endswith("+xml")


def _file_text_format(name: str, content_type: str) -> str | None:
    """The format to show a file in, or None when it does not look like text."""
    guessed = _mime(mimetypes.guess_type(name, strict=False)[0] or "")
    try:
        alias = get_lexer_for_filename(name).aliases[0]
    except (ClassNotFound, IndexError):
        alias = None
    if not content_type.startswith("text/") and alias is None:
        return None
    if _is_active(content_type) or _is_active(guessed):
        return PLAIN  # a browser could run these: shown as escaped text, never rendered
    if content_type == "text/markdown" or alias == MARKDOWN:
        return MARKDOWN
    return PLAIN if alias in (None, "text") else alias


def item_text_preview(item) -> tuple[str, str] | None:
    """(text, text_format) to show an item as text on the share page, or None.

    A text item is itself. A file item qualifies when its type is `text/*`
    or Pygments knows its name, it is at most `PAN_MAX_TEXT_SIZE` bytes and
    its stored bytes are valid UTF-8 without NUL; images, video, audio and
    PDF keep their own previews. HTML, XML and SVG come back as `plain`.
    """
    if item.kind == ItemKind.TEXT:
        return item.text, item.text_format or PLAIN
    content_type = _mime(item.content_type)
    limit = settings.PAN_MAX_TEXT_SIZE
    if not item.storage_key or not 0 < item.size <= limit or is_previewable(content_type):
        return None
    text_format = _file_text_format(item.name, content_type)
    if text_format is None:
        return None
    try:
        with default_storage.open(item.storage_key, "rb") as stored:
            data = stored.read(limit + 1)  # never more, whatever the row says
    except Exception:  # a preview never breaks the page: the download reports a missing object
        logger.warning("text preview: item %s could not be read", item.pk, exc_info=True)
        return None
    if len(data) > limit or b"\x00" in data:
        return None
    try:
        return data.decode("utf-8"), text_format
    except UnicodeDecodeError:
        return None


def share_text_previews(items) -> dict[int, TextPreview]:
    """Item id → `TextPreview` for the items shown as text, within the page's budget.

    Only for a share the visitor has unlocked: the caller decides that.
    """
    previews: dict[int, TextPreview] = {}
    budget = PAGE_TEXTS_MAX_BYTES
    for item in items:
        if len(previews) >= PAGE_TEXTS_MAX_ITEMS:
            break
        if item.size > budget:
            continue
        found = item_text_preview(item)
        if found is None:
            continue
        text, text_format = found
        try:
            html = text_render(text=text, text_format=text_format)
        except ClassNotFound:  # a language Pygments no longer knows: still readable
            text_format = PLAIN
            html = text_render(text=text, text_format=PLAIN)
        budget -= item.size
        previews[item.pk] = TextPreview(text, text_format, html)
    return previews


# --- Pygments' CSS -------------------------------------------------------------

PYGMENTS_LIGHT = "default"
PYGMENTS_DARK = "github-dark"
PYGMENTS_CSS_PATH = "static/css/pygments.css"


def _pygments_rules(style: str) -> list[str]:
    formatter = HtmlFormatter(style=style, cssclass="highlight")
    # Pygments writes the line-number rules unscoped (`td.linenos …`, `pre`);
    # every rule here stays inside `.highlight`.
    rules = [f".highlight {rule}" for rule in formatter.get_linenos_style_defs()]
    rules += formatter.get_background_style_defs(".highlight")
    rules += formatter.get_token_style_defs(".highlight")
    return rules


def pygments_css() -> str:
    """static/css/pygments.css: a light style, and a dark one when the system asks for it."""
    lines = [
        "/* Generated by `python manage.py pygments_css`: do not edit by hand. */",
        f"/* Light: Pygments' {PYGMENTS_LIGHT!r}. Dark: {PYGMENTS_DARK!r}. */",
        *_pygments_rules(PYGMENTS_LIGHT),
        "@media (prefers-color-scheme: dark) {",
        *(f"  {rule}" for rule in _pygments_rules(PYGMENTS_DARK)),
        "}",
    ]
    return "\n".join(lines) + "\n"
