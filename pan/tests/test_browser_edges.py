"""The rough edges of share pages in Chromium (issue 19, item 4): a phone
(390×844) and a desktop (1366×768), both languages, both themes.

Every page touched here fits the phone with every disclosure open, and
axe-core finds nothing serious or critical on it."""

import secrets

import httpx
import pytest

from project.testing import inject_script

from . import test_browser_sharer as sharer
from .test_browser_sharer import AXE_RUN, HOST, PASSWORD, PHONE, Watched, log_in, uploader

# One live server, one Chromium and axe-core for this module too (the sharer's module fixtures).
server = sharer.server
chromium = sharer.chromium
axe_source = sharer.axe_source

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 768}
LANGUAGE = {"en-US": "Edit", "zh-CN": "编辑"}


def token_of(server, name: str) -> str:
    return httpx.post(f"{server.url}/api/login", json={"username": name, "password": PASSWORD}).json()["access"]


def api(server, name: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token_of(server, name)}"})


def open_every_disclosure(page) -> None:
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")


def checked(page, axe_source, width: int) -> None:
    """The page fits, with every disclosure open, and axe finds nothing serious."""
    open_every_disclosure(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url
    inject_script(page, axe_source)
    assert page.evaluate(AXE_RUN) == [], page.url


@pytest.mark.parametrize(
    "locale, viewport, scheme",
    [("en-US", PHONE, "light"), ("zh-CN", PHONE, "dark"), ("zh-CN", DESKTOP, "light"), ("en-US", DESKTOP, "dark")],
)
def test_files_offers_only_working_actions_and_edits_a_share(server, chromium, axe_source, locale, viewport, scheme):
    name = uploader(server)
    with api(server, name) as client:
        made = client.post(
            "/api/shares",
            data={"title": "Edit me", "max_downloads": "1"},
            files=[("file", ("notes.txt", b"x" * 99, "text/plain"))],
        ).json()
        stopped = client.post(
            "/api/shares", data={"title": "Stopped"}, files=[("file", ("gone.txt", b"gone", "text/plain"))]
        ).json()
        assert client.post(f"/api/shares/{stopped['id']}/revoke").status_code == 200
    # Used up: its one download taken, by a recipient (the owner's own downloads do not count).
    content = f"{server.url}/api/shares/{made['id']}/items/{made['items'][0]['id']}/content"
    assert httpx.get(content, headers={"X-Share-Code": made["code"]}).status_code == 200
    watched = Watched(chromium, locale=locale, viewport=viewport, color_scheme=scheme)
    page = watched.page()
    log_in(page, server.plain_url, name)
    page.goto(f"{server.plain_url}/files/")
    used_up = page.locator(f'.share-row[data-unique="{made["id"]}"]')
    revoked = page.locator(f'.share-row[data-unique="{stopped["id"]}"]')
    assert used_up.get_attribute("data-state") == "used_up"
    for row in (used_up, revoked):
        assert row.locator("button.new-code").count() == 0
        assert row.locator(".share-details").count() == 0 and row.locator(".share-dead").is_visible()
    assert revoked.locator("button.restore").count() == 1
    # The search box looks like the other inputs (a border in the control colour, not the browser's default).
    search_border = page.eval_on_selector("#files-q", "el => getComputedStyle(el).borderTopColor")
    select_border = page.eval_on_selector("#files-sort", "el => getComputedStyle(el).borderTopColor")
    assert search_border == select_border
    assert page.eval_on_selector("#files-q", "el => getComputedStyle(el).borderTopLeftRadius") == "6px"
    checked(page, axe_source, viewport["width"])

    # Edit: title, expiry, limit, password and listed, through the form of the row.
    if used_up.locator(".share-edit").get_attribute("open") is None:  # opened above by checked()
        used_up.locator(".share-edit > summary").click()
    assert used_up.locator(".share-edit > summary").text_content().strip() == LANGUAGE[locale]
    form = used_up.locator(".share-edit-form")
    form.locator("input[name=title]").fill("Edited")
    form.locator("select[name=expires_in]").select_option("2592000")
    form.locator("input[name=max_downloads]").fill("5")
    form.locator("input[name=password]").fill("Another-Secret-9")
    form.locator("input[name=listed]").check()
    form.locator("button.edit-save").click()
    page.wait_for_selector(".message")
    row = page.locator(f'.share-row[data-unique="{made["id"]}"]')
    assert row.get_attribute("data-state") == "active"
    assert row.locator(".share-name").text_content() == "Edited"
    assert "1 / 5" in row.locator(".share-downloads").text_content()
    assert row.locator(".share-listed").count() == 1
    assert row.locator("button.new-code").count() == 1 and row.locator(".share-details").count() == 1
    checked(page, axe_source, viewport["width"])
    with api(server, name) as client:
        detail = client.get(f"/api/shares/{made['id']}").json()
    assert detail["title"] == "Edited" and detail["listed"] is True and detail["max_downloads"] == 5
    # The new password holds: a recipient with the right code is asked for it.
    opened = httpx.get(f"{server.url}/api/shares/{made['id']}/zip", headers={"X-Share-Code": made["code"]})
    assert opened.status_code in (401, 403) and "password" in opened.text.lower()
    watched.close()


@pytest.mark.parametrize("locale, viewport, scheme", [("en-US", PHONE, "dark"), ("zh-CN", DESKTOP, "light")])
def test_a_share_still_uploading_shows_no_working_download_and_keeps_following(
    server,
    chromium,
    axe_source,
    locale,
    viewport,
    scheme,
):
    name = uploader(server)
    with api(server, name) as client:
        # Multipart like upload.js sends, with no file yet.
        made = client.post("/api/shares", files={"title": (None, "Filling"), "uploading": (None, "true")}).json()
        for file_name in ("one.txt", "two.txt"):
            response = client.post(
                f"/api/shares/{made['id']}/items", files=[("file", (file_name, b"y" * 99, "text/plain"))]
            )
            assert response.status_code in (200, 201), response.text
    watched = Watched(chromium, locale=locale, viewport=viewport, color_scheme=scheme)
    page = watched.page()
    page.goto(made["url"].replace("127.0.0.1", HOST) + f"?code={made['code']}")
    page.click("#unlock-button")
    page.wait_for_selector(".items .item")
    assert page.locator("a.item-download, a.download-all").count() == 0  # nothing that looks like it works
    assert page.locator("button.item-download[disabled]").count() == 2
    assert page.locator("button.download-all[disabled]").count() == 1
    assert page.locator("#uploading-note").is_visible()
    assert page.locator("[data-reload-when-complete]").count() == 1  # still following the upload
    # One size format: "99 B" everywhere, never "99 bytes" beside it.
    text = page.text_content("main")
    assert "99 B" in text and "bytes" not in text and "字节" not in text
    page.wait_for_function("() => document.getElementById('live-events').dataset.following")
    checked(page, axe_source, viewport["width"])
    # Completing the share reloads the page with working downloads.
    with page.expect_navigation():
        with api(server, name) as client:
            assert client.patch(f"/api/shares/{made['id']}", json={"complete": True}).status_code == 200
    page.wait_for_selector("a.item-download")
    assert page.locator("button.item-download[disabled]").count() == 0
    watched.close()


@pytest.mark.parametrize("locale, sentence", [("en-US", "This share has expired."), ("zh-CN", "这个分享已过期。")])
@pytest.mark.parametrize("viewport, scheme", [(PHONE, "dark"), (DESKTOP, "light")])
def test_the_410_page_leads_with_a_sentence(server, chromium, axe_source, locale, sentence, viewport, scheme):
    name = uploader(server)
    with api(server, name) as client:
        made = client.post(
            "/api/shares",
            data={"title": "Short-lived", "expires_in": "1"},
            files=[("file", ("a.txt", b"a", "text/plain"))],
        ).json()
    watched = Watched(chromium, locale=locale, viewport=viewport, color_scheme=scheme)
    page = watched.page()
    page.on("console", lambda message: None)
    page.wait_for_timeout(1100)  # the share's one second runs out (a live server: no time machine)
    response = page.goto(made["url"].replace("127.0.0.1", HOST))
    assert response.status == 410
    watched.errors.clear()  # the 410 itself is logged by Chromium as a failed resource
    assert page.text_content("h1").strip() == sentence
    first = page.evaluate("document.querySelector('main').innerText.trim().split('\\n')[0]")
    assert first == sentence
    assert float(page.eval_on_selector("h1", "el => parseFloat(getComputedStyle(el).fontSize)")) < 40
    checked(page, axe_source, viewport["width"])
    watched.close()


@pytest.mark.parametrize("locale, viewport, scheme", [("en-US", PHONE, "light"), ("zh-CN", PHONE, "dark")])
def test_the_drop_off_receipt_fits_a_phone(server, chromium, axe_source, locale, viewport, scheme):
    name = uploader(server)
    with api(server, name) as client:
        made = client.post("/api/requests", json={"title": "Papers", "max_files": 5, "max_bytes": 10**6}).json()
    code = made["code"].replace("-", "")
    files = [
        ("file", ("a-rather-long-file-name-for-the-receipt-table.pdf", secrets.token_bytes(99), "application/pdf")),
        ("file", ("scans/page1.png", b"\x89PNG page", "image/png")),
    ]
    receipt = httpx.post(f"{server.url}/api/requests/{code}/drops", files=files, data={"name": "Mrs Li"})
    assert receipt.status_code == 201, receipt.text
    watched = Watched(chromium, locale=locale, viewport=viewport, color_scheme=scheme)
    page = watched.page()
    page.goto(receipt.json()["receipt_url"].replace("127.0.0.1", HOST))
    assert page.locator("code.sha256").count() == 2
    assert "99 B" in page.text_content(".receipt-files")
    checked(page, axe_source, viewport["width"])
    watched.close()
