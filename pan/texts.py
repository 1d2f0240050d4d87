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

The renderers themselves are in `pan.render_worker`; the share page shows
texts through `pan.previews`, which renders each once, in a worker
process, within a size and time budget.
"""

import hashlib
import logging
import mimetypes
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
from pygments.util import ClassNotFound

from project.lib.errors import ValidationFailed

from .models import ItemKind
from .render_worker import MARKDOWN, PLAIN, render
from .uploads import ACTIVE_TYPES, is_previewable

logger = logging.getLogger(__name__)


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


def text_render(*, text: str, text_format: str) -> SafeString:
    """The HTML for a text, rendered here and now, in no bounded time: pages go through
    `pan.previews`, which renders in a worker process within a budget."""
    return mark_safe(render(text, text_format))  # noqa: S308 - Pygments escapes, nh3 sanitises (pan.render_worker)


# --- Files that read as text -------------------------------------------------


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
