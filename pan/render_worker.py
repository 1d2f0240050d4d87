"""The renderers of text previews, and the child process that runs them.

`render(text, text_format)` turns a text into the HTML the share page shows:
Markdown through markdown-it-py (raw HTML off, nesting capped at 20 levels,
images as links) and nh3's allow-list; everything else through Pygments
(escaped, line numbers). It imports nothing from Django, so the same code
runs in Pan's processes (tests, `pan.texts.text_render`) and in the render
worker, a child process `pan.previews` talks to over a pipe:

    python -m pan.render_worker   (cwd: the project; one JSON object per line)
    → {"text": "...", "format": "python", "timeout": 2.0}
    ← {"html": "..."} or {"error": "ValueError"}

Why a process: a regular expression cannot be interrupted from a thread,
and a few Pygments lexers take seconds for a few KiB (docs/decisions.md).
The parent (`RenderWorker`, below) kills the worker when an answer is late
and starts a new one for the next text. In case the parent
itself is gone, the worker arms `SIGALRM` with its default action for each
render, so the kernel ends it mid-regex a second after the deadline; it
runs `nice`d, and with its address space capped so a render cannot take the
machine's memory.
"""

import html
import json
import math
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import nh3
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name

PLAIN = "plain"
MARKDOWN = "markdown"

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "td": {"align"}, "th": {"align"}, "ol": {"start"}}

WORKER_MEMORY_BYTES = 1024 * 1024 * 1024
WORKER_NICE = 5
STARTUP_SECONDS = 20.0  # importing Pygments, markdown-it and nh3 in a fresh process
PROJECT_DIR = Path(__file__).resolve().parent.parent  # where `-m pan.render_worker` is found


def _markdown() -> MarkdownIt:
    # CommonMark's preset caps nesting (`maxNesting`) at 20: deeper quotes and lists render flat.
    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")

    def image_as_link(renderer, tokens, index, options, env):  # markdown-it-py passes the renderer first
        # An image from elsewhere would tell its host who read the share: a link instead.
        token = tokens[index]
        alt = html.escape(token.content or token.attrGet("src") or "")
        return f'<a href="{html.escape(token.attrGet("src") or "")}">{alt}</a>'

    md.add_render_rule("image", image_as_link)
    return md


_MD = _markdown()


def markdown_render(text: str) -> str:
    return nh3.clean(
        _MD.render(text),
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
        strip_comments=True,
    )


def code_render(text: str, text_format: str) -> str:
    """Escaped text with line numbers; colours for code (Pygments escapes everything)."""
    lexer = get_lexer_by_name("text" if text_format == PLAIN else text_format, stripnl=False, ensurenl=False)
    formatter = HtmlFormatter(linenos="table", cssclass="highlight", wrapcode=True)
    return highlight(text, lexer, formatter)


def render(text: str, text_format: str) -> str:
    """The HTML for a text: sanitised Markdown, or escaped (highlighted) code.

    Raises pygments.util.ClassNotFound for a language Pygments does not know.
    """
    if text_format == MARKDOWN:
        return markdown_render(text)
    return code_render(text, text_format)


def _serve(stdin, stdout) -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    except (ImportError, ValueError, OSError):  # not on every platform; the parent's deadline still holds
        pass
    os.nice(WORKER_NICE)
    # The default action of SIGALRM ends the process, even inside a regex.
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    # Ctrl-C in a terminal reaches the whole group: the worker ends with its parent (stdin closes).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stdout.write('{"ready": true}\n')
    stdout.flush()
    for line in stdin:
        request = json.loads(line)
        signal.alarm(math.ceil(float(request.get("timeout", 10))) + 1)
        try:
            answer = {"html": render(request["text"], request["format"])}
        except Exception as exc:  # the parent shows the text plain
            answer = {"error": type(exc).__name__}
        signal.alarm(0)
        stdout.write(json.dumps(answer) + "\n")
        stdout.flush()


# --- The parent's side ----------------------------------------------------------------


class RenderTimedOut(Exception):
    pass


class RenderFailed(Exception):
    pass


class RenderWorker:
    """One `pan.render_worker` child; `render` kills it when the answer is late.

    Only the background thread calls it (one render at a time).
    """

    def __init__(self):
        self.process: subprocess.Popen | None = None
        self._buffer = b""

    def _start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            [sys.executable, "-m", "pan.render_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=PROJECT_DIR,
        )
        self._buffer = b""
        try:
            ready = json.loads(self._read_line(time.monotonic() + STARTUP_SECONDS))
        except RenderTimedOut:
            raise RenderFailed("the render worker did not start in time") from None
        if ready != {"ready": True}:
            raise RenderFailed("the render worker did not start")

    def _read_line(self, deadline: float) -> bytes:
        stdout = self.process.stdout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([stdout], [], [], left)[0]:
                raise RenderTimedOut()
            chunk = stdout.read1(1024 * 1024)
            if not chunk:
                raise RenderFailed("the render worker exited")
            self._buffer += chunk
        line, _newline, self._buffer = self._buffer.partition(b"\n")
        return line

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process.stdin.close()
            self.process.stdout.close()
            self.process = None

    def render(self, text: str, text_format: str, *, timeout: float) -> str:
        """The worker's HTML; `RenderTimedOut` past `timeout` seconds, `RenderFailed` on an error."""
        try:
            if self.process is None:
                self._start()
            request = {"text": text, "format": text_format, "timeout": timeout}
            deadline = time.monotonic() + timeout
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
            answer = json.loads(self._read_line(deadline))
        except (RenderTimedOut, RenderFailed, OSError, ValueError) as exc:
            self.stop()
            if isinstance(exc, RenderTimedOut | RenderFailed):
                raise
            raise RenderFailed(f"{type(exc).__name__}: {exc}") from exc
        if "html" not in answer:
            raise RenderFailed(answer.get("error", "no answer"))
        return answer["html"]


if __name__ == "__main__":
    _serve(sys.stdin, sys.stdout)
