"""Text shares (SPEC §4.1, §4.3): a text alone or beside files, byte for
byte through the API, the zip and the page; shown on the share page once
unlocked (code and plain text escaped by Pygments, Markdown sanitised by
nh3), file items that read as text shown the same way; bad input refused."""

import io
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from pan.texts import pygments_css, text_format_validate

from .conftest import BOUNDARY, body_of, post_share

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
DATA = Path(__file__).parent / "data"
# Newlines of three kinds, a tab, trailing spaces, a leading newline, CJK and an emoji.
ODD_TEXT = "\nfirst line  \r\nsecond\tline\rthird 第三行 🎉\n\n  indented\n"
MARKDOWN = "# Notes\n\nSome **bold** text and a [link](https://example.com/a?b=1).\n\n- one\n- two\n"


def xss_payloads() -> list[str]:
    lines = (DATA / "xss_payloads.txt").read_text(encoding="utf-8").splitlines()
    return [line.replace("\\n", "\n") for line in lines if line.strip() and not line.startswith("# ")]


# 10 000-deep nesting of every kind Markdown (and HTML inside it) has.
DEEP = {
    "quotes": ">" * 10_000 + " deep",
    "brackets": "[" * 10_000 + "x" + "]" * 10_000,
    "links": "[a](" * 10_000 + ")" * 10_000,
    "lists": "- " * 10_000 + "x",
    "indented lists": "\n".join("  " * depth + "- x" for depth in range(400)),
    "emphasis": "*" * 10_000 + "x" + "*" * 10_000,
    "html": "<div>" * 10_000 + "x" + "</div>" * 10_000,
    "code spans": "`" * 10_000 + "x",
}


def post_text_part(client, data: bytes, **fields):
    """A share whose text comes as a file part named `text` (what the upload page sends)."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="text"; filename="text.txt"\r\n'
        "Content-Type: text/plain; charset=utf-8\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{BOUNDARY}--\r\n".encode())
    return client.generic(
        "POST", "/api/shares", b"".join(parts), content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )


def browser() -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.get("/")
    return client, client.cookies["csrftoken"].value


def unlocked_page(info, **post) -> tuple[Client, str]:
    """A fresh browser that typed the code (and `post` fields) on the share page: (client, page HTML)."""
    client, token = browser()
    response = client.post(f"/f/{info['id']}/", {"code": info["code"], "csrfmiddlewaretoken": token, **post})
    assert response.status_code == 302, response.content
    page = client.get(f"/f/{info['id']}/", **EN)
    assert page.status_code == 200
    return client, page.content.decode()


class RenderedText(HTMLParser):
    """Tags and attributes inside the page's rendered texts (`[data-text-rendered]`)."""

    VOID = {"br", "hr", "img", "input", "meta", "link", "source", "wbr", "col", "area", "base", "embed"}

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.tags: list[tuple[str, dict]] = []
        self.areas = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.depth:
            self.tags.append((tag, attrs))
            if tag not in self.VOID:
                self.depth += 1
        elif "data-text-rendered" in attrs:
            self.areas += 1
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth and tag not in self.VOID:
            self.depth -= 1


def assert_harmless(html: str) -> RenderedText:
    rendered = RenderedText(html)
    assert rendered.areas >= 1
    for tag, attrs in rendered.tags:
        assert tag not in {"script", "iframe", "object", "embed", "style", "img", "svg", "math", "base", "form"}, tag
        assert not [name for name in attrs if name.startswith("on") or name in {"style", "srcdoc", "src"}], (tag, attrs)
        for name in ("href", "action", "formaction", "xlink:href"):
            if name in attrs:
                # Relative links are harmless; a scheme must be one of these (urlsplit drops tabs and
                # newlines the way browsers do, so "jav\tascript:" is seen as javascript:).
                assert urlsplit(attrs[name].strip()).scheme.lower() in {"", "http", "https", "mailto"}, (tag, attrs)
    return rendered


# --- Round trips ---------------------------------------------------------------------


def test_a_text_share_round_trips_byte_for_byte_through_the_api_the_zip_and_the_page(share_as, dana, api):
    info = share_as(dana, [], text=ODD_TEXT, text_format="plain")
    [item] = info["items"]
    data = ODD_TEXT.encode()
    assert (item["name"], item["size"], item["content_type"]) == ("text.txt", len(data), "text/plain")
    content = api.get(f"/api/shares/{info['id']}/items/{item['id']}/content", HTTP_X_SHARE_CODE=info["code"])
    assert content.status_code == 200 and body_of(content) == data
    assert content["Content-Type"] == "text/plain; charset=utf-8"
    archive = api.get(f"/api/shares/{info['id']}/zip", HTTP_X_SHARE_CODE=info["code"])
    assert zipfile.ZipFile(io.BytesIO(body_of(archive))).read("text.txt") == data
    client, html = unlocked_page(info)
    raw = client.get(f"/f/{info['id']}/items/{item['id']}/download")
    assert raw.status_code == 200 and body_of(raw) == data
    assert raw["Content-Disposition"].startswith("attachment;")


def test_a_text_beside_files_comes_first_and_every_item_round_trips(share_as, dana, api):
    files = [("photo.jpg", b"\xff\xd8 not really a jpeg"), ("notes/a.txt", b"alpha")]
    info = share_as(dana, files, text=MARKDOWN, text_format="md")
    assert [i["path"] for i in info["items"]] == ["text.md", "photo.jpg", "notes/a.txt"]
    expected = [MARKDOWN.encode(), *(data for _name, data in files)]
    for item, data in zip(info["items"], expected, strict=True):
        got = api.get(f"/api/shares/{info['id']}/items/{item['id']}/content", HTTP_X_SHARE_CODE=info["code"])
        assert body_of(got) == data


@pytest.mark.parametrize("as_json", [False, True], ids=["file part", "JSON body"])
def test_a_text_as_a_file_part_or_a_json_body_round_trips(as_json, api_as, dana, api):
    client = api_as(dana)
    if as_json:
        response = client.post("/api/shares", {"text": ODD_TEXT, "text_format": "python"}, format="json")
    else:
        response = post_text_part(client, ODD_TEXT.encode(), text_format="python")
    assert response.status_code == 201, response.content
    info = response.json()
    [item] = info["items"]
    assert item["name"] == "snippet.py"
    got = api.get(f"/api/shares/{info['id']}/items/{item['id']}/content", HTTP_X_SHARE_CODE=info["code"])
    assert body_of(got) == ODD_TEXT.encode()


# --- Bad input ---------------------------------------------------------------------------


def test_a_text_over_the_limit_is_413_and_nothing_is_kept(api_as, dana):
    from pan.models import Share

    client = api_as(dana)
    limit = settings.PAN_MAX_TEXT_SIZE
    assert limit == 512 * 1024
    at_limit = post_share(client, [], text="é" * (limit // 2))  # exactly the limit in UTF-8 bytes
    assert at_limit.status_code == 201, at_limit.content
    for over in (post_share(client, [], text="x" * limit + "y"), post_text_part(client, b"x" * (limit + 1))):
        assert over.status_code == 413
        assert over.json()["error"]["code"] == "text_too_large"
    assert Share.objects.count() == 1


@pytest.mark.parametrize("as_json", [False, True], ids=["file part", "JSON body"])
def test_invalid_utf8_is_400(as_json, api_as, dana):
    client = api_as(dana)
    if as_json:
        body = b'{"text": "caf\xe9 \xff\xfe", "text_format": "plain"}'
        response = client.generic("POST", "/api/shares", body, content_type="application/json")
    else:
        response = post_text_part(client, b"caf\xe9 \xff\xfe")
    assert response.status_code == 400, response.content
    assert "error" in response.json()


@pytest.mark.parametrize("text_format", ["klingon", "<script>", "x" * 200])
def test_an_unknown_text_format_is_400(text_format, share_as, api_as, dana):
    response = post_share(api_as(dana), [], text="hello", text_format=text_format)
    assert response.status_code == 400
    assert "text_format" in response.json()["error"]["fields"]


@pytest.mark.parametrize("text", ["", "   \n\t", "nul \x00 inside"], ids=["empty", "blank", "NUL"])
def test_an_empty_or_nul_text_is_400(text, api_as, dana):
    response = api_as(dana).post("/api/shares", {"text": text}, format="json")
    assert response.status_code == 400
    assert "text" in response.json()["error"]["fields"]


@pytest.mark.parametrize("kind", sorted(DEEP))
def test_ten_thousand_deep_nesting_renders_without_a_500(kind, api_as, dana):
    response = api_as(dana).post("/api/shares", {"text": DEEP[kind], "text_format": "markdown"}, format="json")
    assert response.status_code == 201, response.content
    _client, html = unlocked_page(response.json())
    assert_harmless(html)


# --- The share page ------------------------------------------------------------------------


def test_texts_are_shown_only_once_the_share_is_unlocked(share_as, dana):
    secret = "the-secret-paragraph-4471"
    info = share_as(dana, [], text=f"# Hi\n\n{secret}\n", text_format="markdown")
    locked = Client().get(f"/f/{info['id']}/", **EN).content.decode()
    assert secret not in locked and "data-text-rendered" not in locked and "pygments.css" not in locked
    client, token = browser()
    wrong = client.post(f"/f/{info['id']}/", {"code": "ZZZZZZZZ", "csrfmiddlewaretoken": token}, **EN)
    assert wrong.status_code == 403 and secret not in wrong.content.decode()
    _client, html = unlocked_page(info)
    assert secret in html and "pygments.css" in html
    assert "code=" not in html and info["code"] not in html


def test_texts_stay_hidden_at_the_password_step(share_as, dana):
    secret = "behind-the-password-9021"
    info = share_as(dana, [], text=secret, password="open sesame 42")
    client, token = browser()
    step = client.post(f"/f/{info['id']}/", {"code": info["code"], "csrfmiddlewaretoken": token}, **EN)
    html = step.content.decode()
    assert secret not in html and 'type="password"' in html and 'name="password"' in html
    assert 'autocomplete="off"' in html and "enter it to open the share" in html
    assert "X-Share-Password" not in html  # the API's wording is not the page's
    wrong = client.post(f"/f/{info['id']}/", {"password": "nope", "csrfmiddlewaretoken": token}, **EN)
    assert wrong.status_code == 403 and "The password is not correct." in wrong.content.decode()
    assert secret not in wrong.content.decode()
    right = client.post(f"/f/{info['id']}/", {"password": "open sesame 42", "csrfmiddlewaretoken": token})
    assert right.status_code == 302
    html = client.get(f"/f/{info['id']}/", **EN).content.decode()
    assert secret in html and "open sesame" not in html and "code=" not in html and info["code"] not in html


def test_markdown_plain_text_and_code_render_on_the_page(share_as, dana):
    markdown = share_as(dana, [], text=MARKDOWN + "\n![a cat](https://example.com/cat.png)\n", text_format="markdown")
    _client, html = unlocked_page(markdown)
    assert "<h1>Notes</h1>" in html and "<strong>bold</strong>" in html
    assert '<a href="https://example.com/a?b=1" rel="nofollow noopener noreferrer">link</a>' in html
    assert "<li>one</li>" in html
    # An image from elsewhere would tell its host who read the share: a link, never loaded.
    assert '<a href="https://example.com/cat.png" rel="nofollow noopener noreferrer">a cat</a>' in html
    assert_harmless(html)

    plain = share_as(dana, [], text="<b>not bold</b>\nline two\n", text_format="plain")
    _client, html = unlocked_page(plain)
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html and "<b>not bold</b>" not in html
    assert 'class="linenos"' in html and "Plain text" in html

    code = share_as(dana, [], text="def greet(name):\n    return f'hi {name}'\n", text_format="python")
    _client, html = unlocked_page(code)
    assert '<span class="k">def</span>' in html and '<span class="nf">greet</span>' in html
    assert 'class="highlight"' in html and "Python" in html


def test_the_copy_button_holds_the_raw_text_escaped(share_as, dana):
    text = '\n</textarea><script>window.__xss=1</script> & "quotes"\n'
    info = share_as(dana, [], text=text, text_format="markdown")
    item = info["items"][0]["id"]
    _client, html = unlocked_page(info)
    assert f'data-copy="#raw-{item}"' in html and "data-copy-raw" in html
    start = html.index(f'id="raw-{item}"')
    raw = html[html.index(">", start) + 1 : html.index("</textarea>", start)]
    # One newline after the start tag is eaten by the HTML parser, so the text's own survives.
    assert raw == "\n" + text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    assert html.count("<script") == html.count("<script src=")


def test_file_items_that_read_as_text_are_shown_like_texts(share_as, dana):
    files = [
        ("notes.txt", b"plain notes <i>here</i>", "text/plain"),
        ("tool.py", b"import os\nprint(os.sep)\n", "application/octet-stream"),
        ("README.md", b"## Read me\n\n*soon*\n", "text/markdown"),
        ("page.html", b"<h1>hi</h1><script>window.__xss=1</script>", "text/html"),
        ("drawing.svg", b'<svg onload="window.__xss=1"/>', "image/svg+xml"),
        ("latin1.txt", b"caf\xe9", "text/plain"),
        ("blob.bin", b"\x00\x01binary", "application/octet-stream"),
        ("nul.txt", b"a\x00b", "text/plain"),
        ("dot.png", b"\x89PNG\r\n\x1a\n", "image/png"),
    ]
    info = share_as(dana, files)
    ids = {item["name"]: item["id"] for item in info["items"]}
    _client, html = unlocked_page(info)
    shown = {name for name, item in ids.items() if f'id="raw-{item}"' in html}
    assert shown == {"notes.txt", "tool.py", "README.md", "page.html", "drawing.svg"}
    assert "plain notes &lt;i&gt;here&lt;/i&gt;" in html
    assert '<span class="kn">import</span>' in html  # a name Pygments knows, whatever the type said
    assert "<h2>Read me</h2>" in html and "<em>soon</em>" in html
    # HTML and SVG: escaped plain text, never rendered, not even as highlighted markup.
    assert "&lt;h1&gt;hi&lt;/h1&gt;" in html and "<h1>hi</h1>" not in html and '<span class="nt">' not in html
    assert "&lt;svg onload=" in html
    assert_harmless(html)


def test_file_items_over_the_text_limit_are_download_only(share_as, dana, settings):
    settings.PAN_MAX_TEXT_SIZE = 64
    info = share_as(dana, [("small.txt", b"s" * 64), ("large.txt", b"l" * 65)])
    small, large = (item["id"] for item in info["items"])
    _client, html = unlocked_page(info)
    assert f'id="raw-{small}"' in html and f'id="raw-{large}"' not in html
    assert f"/items/{large}/download" in html


def test_the_xss_corpus_renders_harmlessly_in_the_html(share_as, dana):
    payloads = xss_payloads()
    assert len(payloads) >= 30
    info = share_as(dana, [], text="\n\n".join(payloads), text_format="markdown")
    _client, html = unlocked_page(info)
    rendered = assert_harmless(html)
    assert rendered.tags  # something was rendered
    assert html.count("<script") == html.count("<script src=")


def test_each_payload_alone_renders_harmlessly_as_markdown_and_as_code():
    from pan.texts import text_render

    for payload in xss_payloads():
        for text_format in ("markdown", "plain", "html"):
            html = f"<div data-text-rendered>{text_render(text=payload, text_format=text_format)}</div>"
            assert_harmless(html)


def test_the_share_page_offers_audio_and_a_pdf_link_never_a_frame(share_as, dana):
    files = [("song.mp3", b"ID3 not really", "audio/mpeg"), ("paper.pdf", b"%PDF-1.4 fake", "application/pdf")]
    info = share_as(dana, files)
    audio, pdf = (item["id"] for item in info["items"])
    _client, html = unlocked_page(info)
    assert f'<audio controls preload="metadata" src="/f/{info["id"]}/items/{audio}/preview">' in html
    assert f'href="/f/{info["id"]}/items/{pdf}/preview" target="_blank" rel="noopener noreferrer"' in html
    assert "<iframe" not in html and "<object" not in html and "<embed" not in html


# --- Pygments' CSS ------------------------------------------------------------------------------


def test_the_pygments_css_is_what_the_generator_writes():
    path = Path(settings.BASE_DIR) / "static/css/pygments.css"
    css = path.read_text(encoding="utf-8")
    assert css == pygments_css(), "run `python manage.py pygments_css`"
    call_command("pygments_css", "--check", stdout=io.StringIO())
    # Scoped: every rule (light and dark) sits under .highlight.
    rules = [line.strip() for line in css.splitlines() if "{" in line and not line.startswith(("/*", "@media"))]
    assert rules and all(rule.startswith(".highlight") for rule in rules)
    assert "@media (prefers-color-scheme: dark)" in css


def test_the_upload_page_has_a_text_tab_a_format_list_the_api_accepts_and_a_password(dana):
    client = Client()
    client.force_login(dana)
    html = client.get("/welcome/", **EN).content.decode()
    assert 'id="tab-text"' in html and 'id="upload-text"' in html
    assert re.search(r'<input type="password" id="upload-password" name="password"', html)
    offered = re.findall(r'<option value="([^"]+)"', html[html.index('id="upload-text-format"') :])
    offered = offered[: offered.index("html") + 1]
    assert offered == "plain markdown python javascript go rust java c cpp bash json yaml sql html".split()
    assert [text_format_validate(value) for value in offered] == offered


def test_the_json_form_states_its_types(api_as, dana):
    client = api_as(dana)
    assert client.post("/api/shares", {"text": "hi", "password": None}, format="json").status_code == 400
    assert client.post("/api/shares", {"text": "hi", "max_downloads": "many"}, format="json").status_code == 400
    opened = client.post("/api/shares", {"uploading": True}, format="json")
    assert opened.status_code == 201 and opened.json()["state"] == "uploading"
