"""Texts, previews and passwords in Chromium: a Markdown share made of the
whole XSS corpus runs no script; audio plays and a PDF opens in the
browser's viewer; the password step; the upload page's text tab."""

import io
import math
import re
import secrets
import struct
import wave
from pathlib import Path

import httpx
import pytest

from project.testing import guarded_context

from .test_texts import xss_payloads

pytestmark = pytest.mark.browser

PASSWORD = "Lantern-Field-71"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# Everything the rendered area of a text may not contain, checked in the live DOM.
DOM_CHECK = """(areas) => {
  const found = [];
  const banned = new Set(["SCRIPT", "IFRAME", "OBJECT", "EMBED", "STYLE", "IMG", "SVG", "MATH", "FORM", "BASE",
                          "META", "LINK", "FRAME", "FRAMESET", "VIDEO", "AUDIO", "SOURCE", "INPUT", "BUTTON"]);
  for (const area of areas) {
    for (const el of area.querySelectorAll("*")) {
      if (banned.has(el.tagName.toUpperCase())) { found.push("tag " + el.tagName); }
      for (const attr of el.attributes) {
        if (/^on/i.test(attr.name) || ["style", "srcdoc", "src", "background", "formaction"].includes(attr.name)) {
          found.push(el.tagName + " @" + attr.name);
        }
      }
      if (el.hasAttribute("href")) {
        const protocol = new URL(el.getAttribute("href"), location.href).protocol;
        if (!["http:", "https:", "mailto:"].includes(protocol)) { found.push(el.tagName + " href " + protocol); }
      }
    }
  }
  return found;
}"""


@pytest.fixture(scope="module")
def uploader(daphne_server) -> dict:
    """A user with the uploaders role on the live server: name and API token."""
    name = f"texts-{secrets.token_hex(3)}"
    daphne_server.register(name, PASSWORD)
    daphne_server.manage("grant_role", name, "uploaders")
    response = httpx.post(f"{daphne_server.url}/api/login", json={"username": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"name": name, "token": response.json()["access"]}


def create_share(server, uploader, files=(), **fields) -> dict:
    headers = {"Authorization": f"Bearer {uploader['token']}"}
    if files:
        parts = [("file", (name, data, content_type)) for name, data, content_type in files]
        response = httpx.post(f"{server.url}/api/shares", data=fields, files=parts, headers=headers, timeout=30)
    else:
        response = httpx.post(f"{server.url}/api/shares", json=fields, headers=headers, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def share_page_url(server, info) -> str:
    return f"{server.url}/f/{info['id']}/"


def open_with_code(page, server, info):
    page.goto(share_page_url(server, info))
    page.fill("#id_code", info["code_display"])
    page.click("#unlock-button")


def fits_the_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def pdf_bytes(text: str = "Hello from Pan") -> bytes:
    """A one-page PDF with one line of text, built by hand (offsets and all)."""
    stream = f"BT /F1 24 Tf 20 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def wav_bytes(seconds: float = 0.5, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        samples = (int(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(seconds * rate)))
        audio.writeframes(b"".join(struct.pack("<h", sample) for sample in samples))
    return buffer.getvalue()


def test_a_markdown_share_of_the_xss_corpus_runs_no_script_in_chromium(daphne_server, browser_context, uploader):
    corpus = "\n\n".join(xss_payloads())
    info = create_share(daphne_server, uploader, text=corpus, text_format="markdown", title="Corpus")
    browser_context.grant_permissions(["clipboard-read", "clipboard-write"], origin=daphne_server.url)
    page = browser_context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_with_code(page, daphne_server, info)
    area = page.locator("[data-text-rendered]")
    area.wait_for()
    page.wait_for_load_state("networkidle")
    # Whatever the payloads left behind gets the chance to fire: hover and focus every link.
    for link in area.locator("a").all():
        link.hover()
        link.focus()
    page.mouse.move(5, 5)
    page.wait_for_load_state("networkidle")
    assert dialogs == []
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("[data-text-rendered]").evaluate_all(DOM_CHECK) == []
    # The page's own scripts are the only ones, all from /static/.
    scripts = page.eval_on_selector_all("script", "scripts => scripts.map(s => s.getAttribute('src'))")
    assert scripts and all(src and src.startswith("/static/") for src in scripts)
    assert "code=" not in page.content()

    # Copy gives the raw Markdown exactly; the download gives its bytes.
    page.click(".item-copy")
    page.wait_for_function("() => document.querySelector('.item-copy').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == corpus
    with page.expect_download() as download_info:
        page.click(".item-download")
    assert Path(download_info.value.path()).read_bytes() == corpus.encode()
    assert dialogs == [] and page.evaluate("typeof window.__xss") == "undefined"


def test_markdown_and_code_on_desktop_and_a_phone(daphne_server, browser_context, uploader, tmp_path):
    markdown = (
        "# Release notes\n\nA **bold** claim, some `inline code` and a [link](https://example.com).\n\n"
        "> A quote that goes on long enough to wrap on a phone screen without scrolling sideways.\n\n"
        "| column | another column |\n|---|---|\n| 1 | a rather long cell that must wrap |\n\n"
        "```\nfenced code block that is quite long and would overflow on a narrow screen = True\n```\n"
    )
    code = "".join(f"def step_{n}(value: int) -> int:\n    return value * {n}  # a comment\n\n" for n in range(12))
    info = create_share(daphne_server, uploader, text=markdown, text_format="markdown", title="Notes")
    snippet = create_share(daphne_server, uploader, text=code, text_format="python", title="Snippet")
    page = browser_context.new_page()
    for shared, name in ((info, "markdown"), (snippet, "code")):
        page.set_viewport_size(DESKTOP)
        open_with_code(page, daphne_server, shared)
        page.locator("[data-text-rendered]").wait_for()
        page.screenshot(path=tmp_path / f"{name}-desktop.png", full_page=True)
        page.set_viewport_size(PHONE)
        page.screenshot(path=tmp_path / f"{name}-phone.png", full_page=True)
        assert fits_the_phone(page), name
    # Pygments' colours are served locally and apply.
    keyword = page.locator(".highlight .k").first
    assert keyword.evaluate("el => getComputedStyle(el).fontWeight") == "700"
    assert page.locator("link[href*='/pygments.']").count() == 1


def test_audio_plays_and_a_pdf_opens_in_the_browser_viewer(daphne_server, browser_context, uploader):
    files = [("tone.wav", wav_bytes(), "audio/wav"), ("paper.pdf", pdf_bytes(), "application/pdf")]
    info = create_share(daphne_server, uploader, files)
    audio_id, pdf_id = (item["id"] for item in info["items"])
    page = browser_context.new_page()
    open_with_code(page, daphne_server, info)
    page.locator(".preview audio").wait_for()
    assert page.get_attribute(".preview audio", "src") == f"/f/{info['id']}/items/{audio_id}/preview"
    page.wait_for_function("() => document.querySelector('.preview audio').readyState >= 1", timeout=10_000)
    assert abs(page.eval_on_selector(".preview audio", "audio => audio.duration") - 0.5) < 0.05
    assert page.locator(".preview iframe, .preview object, .preview embed").count() == 0

    # "Open the PDF": a new tab, the browser's own viewer, sandboxed by the response's CSP.
    link = page.locator(".pdf-open")
    assert link.get_attribute("href") == f"/f/{info['id']}/items/{pdf_id}/preview"
    with browser_context.expect_page() as opened:
        link.click()
    viewer = opened.value
    viewer.wait_for_load_state("load")
    assert viewer.url == f"{daphne_server.url}/f/{info['id']}/items/{pdf_id}/preview"
    assert viewer.evaluate("document.contentType") == "application/pdf"

    # Why the page has no frame. As served, nothing can frame a preview (X-Frame-Options:
    # DENY, site-wide); and even without that header Chromium refuses its PDF viewer in any
    # <iframe sandbox>, while a plain frame of the same response (CSP: sandbox) renders.
    # If this changes, the page could frame PDFs (docs/files.md, "Previews").
    preview = f"/f/{info['id']}/items/{pdf_id}/preview"
    probe = f"{daphne_server.url}/__pdf_frame_probe__"
    html = f'<!doctype html><iframe id="sandboxed" sandbox src="{preview}"></iframe><iframe id="plain" src="{preview}">'
    page.route(probe, lambda route: route.fulfill(status=200, content_type="text/html", body=html))

    def frame_urls() -> tuple[str, str]:
        page.goto(probe)
        page.wait_for_load_state("networkidle")
        return tuple(page.query_selector(f"#{name}").content_frame().url for name in ("sandboxed", "plain"))

    assert frame_urls() == ("chrome-error://chromewebdata/", "chrome-error://chromewebdata/")

    def without_frame_options(route):
        response = route.fetch()
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["content-security-policy"] == "sandbox"
        headers = {name: value for name, value in response.headers.items() if name != "x-frame-options"}
        route.fulfill(response=response, headers=headers)

    page.route(f"**{preview}", without_frame_options)
    assert frame_urls() == ("chrome-error://chromewebdata/", f"{daphne_server.url}{preview}")


def test_the_password_step_then_downloads_with_no_secret_in_any_url(daphne_server, browser_context, uploader, tmp_path):
    secret_password = "correct horse 电池 9"
    text = "# Private\n\nOnly with the password.\n"
    info = create_share(daphne_server, uploader, text=text, text_format="markdown", password=secret_password)
    page = browser_context.new_page()
    urls = []
    page.on("request", lambda request: urls.append(request.url))
    open_with_code(page, daphne_server, info)
    page.locator("#id_password").wait_for()
    assert page.get_attribute("#id_password", "type") == "password"
    assert page.get_attribute("#id_password", "autocomplete") == "off"
    assert page.locator("[data-text-rendered]").count() == 0
    assert "X-Share-Password" not in page.content()
    for viewport, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page.set_viewport_size(viewport)
        page.screenshot(path=tmp_path / f"password-{name}.png", full_page=True)
    assert fits_the_phone(page)

    page.fill("#id_password", "wrong password")
    page.click("#password-button")
    assert "The password is not correct." in page.text_content(".code-error")
    assert page.locator("[data-text-rendered]").count() == 0
    page.fill("#id_password", secret_password)
    page.click("#password-button")
    page.locator("[data-text-rendered] h1").wait_for()
    assert page.text_content("[data-text-rendered] h1") == "Private"
    with page.expect_download() as download_info:
        page.click(".item-download")
    assert Path(download_info.value.path()).read_bytes() == text.encode()
    html = page.content()
    assert "code=" not in html and info["code"] not in html and secret_password not in html
    quoted = {info["code"], info["code_display"], secret_password, "correct+horse", "correct%20horse"}
    assert not [url for url in urls for secret in quoted if secret in url]


def test_locked_codes_disable_the_button_until_the_wait_is_over(daphne_server, browser_context, uploader):
    info = create_share(daphne_server, uploader, text="locked away", text_format="plain")
    page = browser_context.new_page()
    page.clock.install()
    page.goto(share_page_url(daphne_server, info))
    for _attempt in range(6):
        page.fill("#id_code", "ZZZZ-ZZZZ")
        page.click("#unlock-button")
        if page.locator("[data-retry-after]").count():
            break
    retry = page.locator("[data-retry-after]")
    wait = int(retry.get_attribute("data-retry-after"))
    assert wait > 60 and "You can try again in about" in retry.text_content()
    assert retry.get_attribute("data-retry-form") == "code-form"
    button = page.locator("#unlock-button")
    assert button.is_disabled()
    assert re.fullmatch(r"Open \(\d+:\d\d\)", button.text_content().strip())
    page.clock.run_for(wait * 1000 + 1500)
    assert button.is_enabled() and button.text_content().strip() == "Open"
    assert retry.text_content() == "You can try again now."


def test_the_upload_page_text_tab_shares_a_text_with_a_password(daphne_server, chromium, uploader, tmp_path):
    text = "# Shopping\n\n- 苹果 🍎\n- bread\n\nthen:\n\n    indented code\n\nend without newline"
    owner = guarded_context(chromium, locale="en-US")
    page = owner.new_page()
    page.goto(f"{daphne_server.url}/login/")
    page.fill("#id_username", uploader["name"])
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/welcome/")
    assert page.locator("#panel-text").is_hidden()
    page.click("#tab-text")
    assert page.locator("#panel-text").is_visible() and page.locator("#dropzone").is_hidden()
    assert page.evaluate("document.activeElement.id") == "upload-text"
    page.fill("#upload-text", text)
    page.select_option("#upload-text-format", "markdown")
    page.fill("#upload-title", "Groceries")
    page.fill("#upload-password", "pantry-key-55")
    page.set_viewport_size(PHONE)
    page.screenshot(path=tmp_path / "upload-text-phone.png", full_page=True)
    assert fits_the_phone(page)
    page.click("#upload-button")
    page.wait_for_selector("#upload-result", state="visible", timeout=30_000)
    assert page.text_content("#result-name") == "Groceries"
    assert page.input_value("#upload-text") == "" and page.input_value("#upload-password") == ""
    link = page.input_value("#result-link")
    owner.close()

    receiver = guarded_context(chromium, locale="en-US", accept_downloads=True)
    page = receiver.new_page()
    page.goto(link)  # the link carries the code: it is pre-filled
    page.click("#unlock-button")
    page.fill("#id_password", "pantry-key-55")
    page.click("#password-button")
    page.locator("[data-text-rendered] h1").wait_for()
    assert page.locator("[data-text-rendered] li").all_text_contents() == ["苹果 🍎", "bread"]
    assert page.text_content(".item-name") == "text.md"
    with page.expect_download() as download_info:
        page.click(".item-download")
    # Sent as a UTF-8 Blob part, so no newline became CRLF on the way.
    assert Path(download_info.value.path()).read_bytes() == text.encode()
    receiver.close()


def test_existing_flows_still_upload_files_from_the_files_tab(daphne_server, chromium, uploader):
    owner = guarded_context(chromium, locale="en-US")
    page = owner.new_page()
    page.goto(f"{daphne_server.url}/login/")
    page.fill("#id_username", uploader["name"])
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/welcome/")
    page.click("#upload-button")
    assert "Choose at least one file or write a text to share." in page.text_content("#upload-error")
    page.set_input_files("#upload-file", {"name": "a.txt", "mimeType": "text/plain", "buffer": b"alpha"})
    page.click("#tab-text")
    page.fill("#upload-text", "and a note")
    page.click("#upload-button")
    page.wait_for_selector("#upload-result", state="visible", timeout=30_000)
    assert page.text_content("#result-items") == "(2)"
    owner.close()
