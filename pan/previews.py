"""Text previews in bounded time: a budget, a cache, and a render worker.

The rule: a page view never highlights nor renders Markdown. It shows what
the cache holds for (item, content, format), or the text escaped as plain,
which takes linear time (a few milliseconds for 512 KiB).

- **Budget.** A text is highlighted (code) or rendered (Markdown) only when
  it is at most `PAN_TEXT_RENDER_MAX_BYTES` UTF-8 bytes and no line is
  longer than `PAN_TEXT_RENDER_MAX_LINE` characters; past either it is
  shown plain, with a note and its download link. `plain` texts are never
  sent to a renderer: they are escaped here, in Pygments' markup, with line
  numbers up to `NUMBERED_MAX_LINES` lines.
- **Once per item.** Renders happen in a child process
  (`pan/render_worker.py`), fed by one background thread per server
  process. Each has `PAN_TEXT_RENDER_TIMEOUT` seconds: a late worker is
  killed (a regex cannot be stopped otherwise) and restarted for the next
  text. The outcome is cached under the item id, a hash of its content,
  the format and the renderers' versions, so a changed text, format or
  renderer never shows stale HTML. A text that timed out is cached as such
  (shown plain, tried again after a day); so are long lines (the job checks
  them, off the page's path).
- **When.** Creating a share or adding items queues their texts at once
  and waits for them up to `PAN_TEXT_RENDER_WAIT` seconds in all, so a
  small text is rendered before its sharer sees the code. A page view that
  misses the cache (evicted, the wait ran out, created before this module)
  shows the text plain, queues it, and goes on: the next view has it.
  A cache claim (`add`) keeps two processes from rendering the same text;
  with the cache unreachable nothing is rendered (it could not be kept)
  and texts show plain.

The background thread touches no database: a job carries its text.
docs/decisions.md has the measurements behind the numbers.
"""

import hashlib
import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from importlib.metadata import version

from django.conf import settings
from django.db import connections
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from project.lib.optional_cache import optional_cache

from .render_worker import STARTUP_SECONDS, RenderFailed, RenderTimedOut, RenderWorker
from .texts import MARKDOWN, PLAIN, item_text_preview

logger = logging.getLogger(__name__)

# A page shows at most this much text inline (the raw text is in the page
# twice: shown, and in the copy button's textarea); later items are
# offered for download only.
PAGE_TEXTS_MAX_ITEMS = 20
PAGE_TEXTS_MAX_BYTES = 1024 * 1024

# Part of every cache key: new renderers (or a new way of calling them) render again.
RENDER_VERSION = "1-" + "-".join(version(name) for name in ("Pygments", "markdown-it-py", "nh3"))
CACHE_SECONDS = 30 * 24 * 3600
QUEUE_SIZE = 256

# How long a verdict that a text is shown plain is kept: a render that ran
# out of time is tried again after a day (it may have met a busy machine),
# one that failed (a worker that could not start) after ten minutes.
TOO_SLOW_SECONDS = 24 * 3600
FAILED_SECONDS = 600
# Plain texts get line numbers up to this many lines (a precomputed column, sliced).
NUMBERED_MAX_LINES = 10_000

# Why a text is shown plain (None: it is not).
LARGE = "large"
LONG_LINES = "long_lines"
TOO_SLOW = "too_slow"
FAILED = "failed"
PENDING = "pending"


NOTES = {
    LARGE: _("This text is too large to be coloured or rendered here, so it is shown as plain text."),
    LONG_LINES: _("This text has lines too long to be coloured or rendered here, so it is shown as plain text."),
    TOO_SLOW: _("This text took too long to colour or render, so it is shown as plain text."),
    FAILED: _("This text could not be coloured or rendered, so it is shown as plain text."),
    PENDING: _("This text is shown as plain text until it is coloured or rendered: reload the page in a moment."),
}


@dataclass(frozen=True)
class TextPreview:
    text: str
    text_format: str
    html: SafeString
    plain_because: str | None = None  # LARGE, LONG_LINES, TOO_SLOW, FAILED, PENDING: shown plain

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
    def note(self) -> str:
        """Why the page shows this text plain ("" when it does not, or for plain texts)."""
        return NOTES.get(self.plain_because, "")

    @property
    def is_markdown(self) -> bool:
        """Shown as rendered Markdown (not as its plain source)."""
        return self.text_format == MARKDOWN and self.plain_because is None


# --- Budget and plain HTML ----------------------------------------------------------


def too_large(text: str) -> bool:
    """Past the render budget's size (the page checks this; the line length is checked by the job)."""
    return len(text) > settings.PAN_TEXT_RENDER_MAX_BYTES or len(text.encode()) > settings.PAN_TEXT_RENDER_MAX_BYTES


def has_long_lines(text: str) -> bool:
    """A line (as Pygments splits them: LF, CRLF or CR) past `PAN_TEXT_RENDER_MAX_LINE` characters."""
    limit = settings.PAN_TEXT_RENDER_MAX_LINE
    return len(text) > limit and max(map(len, text.replace("\r", "\n").split("\n"))) > limit


_numbers_lock = threading.Lock()
_numbers: tuple[str, list[int]] | None = None


def _line_numbers(count: int) -> str:
    """Pygments' line-number column for `count` lines: a slice of one string built once."""
    global _numbers
    with _numbers_lock:
        if _numbers is None:
            spans = [f'<span class="normal">{number}</span>' for number in range(1, NUMBERED_MAX_LINES + 1)]
            ends = [0]
            for span in spans:
                ends.append(ends[-1] + len(span) + 1)
            _numbers = ("\n".join(spans), ends)
    column, ends = _numbers
    return column[: ends[count] - 1]


def plain_html(text: str) -> SafeString:
    """The text escaped in Pygments' own markup (so its CSS applies), in linear time.

    Newlines are those Pygments shows (CRLF and CR become LF). Up to
    `NUMBERED_MAX_LINES` lines it has the line-number column Pygments'
    `linenos="table"` draws; longer texts have none.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    code = f"<pre><span></span><code>{escape(text)}</code></pre>"
    lines = text.count("\n")
    if lines > NUMBERED_MAX_LINES:
        return mark_safe(f'<div class="highlight">{code}</div>\n')  # noqa: S308 - escaped above
    return mark_safe(  # noqa: S308 - escaped above
        '<div class="highlight"><table class="highlighttable"><tr><td class="linenos"><div class="linenodiv">'
        f'<pre>{_line_numbers(lines)}</pre></div></td><td class="code"><div>{code}</div></td></tr></table></div>\n'
    )


def preview_key(item_id: int, text: str, text_format: str) -> str:
    digest = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    return f"text-preview:{RENDER_VERSION}:{item_id}:{digest}:{text_format}"


# --- The background renderer ------------------------------------------------------------------


@dataclass(frozen=True)
class RenderJob:
    key: str
    text: str
    text_format: str


def render_to_cache(job: RenderJob, worker: RenderWorker) -> None:
    """Render one text in the worker (or decide it stays plain) and cache the outcome."""
    if optional_cache.get(job.key) is not None:
        return
    timeout = settings.PAN_TEXT_RENDER_TIMEOUT
    # Another process may be on it; with the cache unreachable (None) a render could not be kept.
    if not optional_cache.add(f"{job.key}:claim", 1, timeout * 2 + STARTUP_SECONDS):
        return
    started = time.monotonic()
    seconds = CACHE_SECONDS
    if has_long_lines(job.text):
        entry = {"plain_because": LONG_LINES}
    else:
        try:
            entry = {"html": worker.render(job.text, job.text_format, timeout=timeout)}
        except RenderTimedOut:
            logger.warning("text preview: %s took over %ss; shown plain", job.key, timeout)
            entry, seconds = {"plain_because": TOO_SLOW}, TOO_SLOW_SECONDS
        except RenderFailed as exc:
            logger.warning("text preview: %s could not be rendered (%s); shown plain", job.key, exc)
            entry, seconds = {"plain_because": FAILED}, FAILED_SECONDS
    entry["seconds"] = round(time.monotonic() - started, 4)
    optional_cache.set(job.key, entry, seconds)
    optional_cache.delete(f"{job.key}:claim")


class Renderer:
    """One thread per process rendering queued texts through one `RenderWorker`."""

    def __init__(self):
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[RenderJob, Future]] = queue.Queue(QUEUE_SIZE)
        self._pending: dict[str, Future] = {}
        self._thread: threading.Thread | None = None
        self.worker = RenderWorker()

    def submit(self, job: RenderJob) -> Future:
        """Queue a render (once per key at a time); the future answers when it is cached or given up."""
        with self._lock:
            if job.key in self._pending:
                return self._pending[job.key]
            future: Future = Future()
            try:
                self._queue.put_nowait((job, future))
            except queue.Full:  # a flood of texts: shown plain, queued again by a later view
                future.set_result(None)
                return future
            self._pending[job.key] = future
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="pan-text-render", daemon=True)
                self._thread.start()
            return future

    def _run(self) -> None:
        while True:
            job, future = self._queue.get()
            try:
                render_to_cache(job, self.worker)
            except Exception:  # the thread must outlive any one text
                logger.exception("text preview: render of %s failed", job.key)
            finally:
                # Nothing here uses the database; should a cache backend ever do, its connection goes back.
                connections.close_all()
                with self._lock:
                    self._pending.pop(job.key, None)
                future.set_result(None)


renderer = Renderer()


# --- Creating and showing ----------------------------------------------------------------------


def _job_for(item, text: str, text_format: str) -> RenderJob | None:
    """The render a text needs, or None: plain, or past the size budget."""
    if text_format == PLAIN or too_large(text):
        return None
    return RenderJob(preview_key(item.pk, text, text_format), text, text_format)


def text_previews_prepare(*, items, wait: float | None = None) -> None:
    """Queue the renders of new items that read as text; wait for them up to `wait` seconds in all.

    `wait` defaults to `PAN_TEXT_RENDER_WAIT`. Renders still running then
    go on in the background.
    """
    futures = []
    for item in items:
        found = item_text_preview(item)
        job = found and _job_for(item, *found)
        if job:
            futures.append(renderer.submit(job))
    deadline = time.monotonic() + (settings.PAN_TEXT_RENDER_WAIT if wait is None else wait)
    for future in futures:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            future.result(timeout=left)
        except TimeoutError:
            break


def _preview(text: str, text_format: str, job: RenderJob | None, entry: dict | None) -> TextPreview:
    if job is None:  # plain, or too large to render
        return TextPreview(text, text_format, plain_html(text), None if text_format == PLAIN else LARGE)
    if entry is None:
        renderer.submit(job)
        return TextPreview(text, text_format, plain_html(text), PENDING)
    if "html" in entry:
        return TextPreview(text, text_format, mark_safe(entry["html"]))  # noqa: S308 - from pan.render_worker
    return TextPreview(text, text_format, plain_html(text), entry.get("plain_because", FAILED))


def share_text_previews(items) -> dict[int, TextPreview]:
    """Item id → `TextPreview` for the items shown as text, within the page's budget.

    Only for a share the visitor has unlocked: the caller decides that.
    Renders nothing: one cache round trip, and escaping.
    """
    found = []
    budget = PAGE_TEXTS_MAX_BYTES
    for item in items:
        if len(found) >= PAGE_TEXTS_MAX_ITEMS:
            break
        if item.size > budget:
            continue
        text_and_format = item_text_preview(item)
        if text_and_format is None:
            continue
        budget -= item.size
        text, text_format = text_and_format
        found.append((item, text, text_format, _job_for(item, text, text_format)))
    keys = [job.key for *_rest, job in found if job]
    cached = optional_cache.get_many(keys) if keys else {}
    return {
        item.pk: _preview(text, text_format, job, job and cached.get(job.key)) for item, text, text_format, job in found
    }
