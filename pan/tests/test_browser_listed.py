"""In Chromium: a share uploaded with "Everyone signed in to this Pan can
open it" is on /share/ for a member, who opens it without a code on a
390 px phone; anonymous visitors still see only its title and a code field
(SPEC §4.3; issue 19, item 1)."""

import secrets

import pytest

from project.testing import guarded_context

from .test_browser import PASSWORD, PHONE, fits_the_phone, log_in

pytestmark = pytest.mark.browser


def test_a_member_opens_a_listed_share_from_the_share_list_without_a_code(daphne_server, chromium, tmp_path):
    sharer, member = f"lister-{secrets.token_hex(3)}", f"member-{secrets.token_hex(3)}"
    daphne_server.register(sharer, PASSWORD)
    daphne_server.manage("grant_role", sharer, "uploaders")
    daphne_server.register(member, PASSWORD)
    title = f"Team photos {secrets.token_hex(2)}"

    owner = guarded_context(chromium, locale="en-US")
    page = log_in(owner, daphne_server, sharer)
    page.set_input_files("#upload-file", {"name": "menu-2026.txt", "mimeType": "text/plain", "buffer": b"soup"})
    page.fill("#upload-title", title)
    page.check("#upload-listed")
    page.click("#upload-button")
    page.wait_for_selector("#result-state:not(.uploading)", timeout=30_000)
    link = page.input_value("#result-link").split("?")[0]
    owner.close()

    reader = guarded_context(chromium, locale="en-US")
    page = log_in(reader, daphne_server, member)
    page.set_viewport_size(PHONE)
    page.goto(f"{daphne_server.url}/share/")
    row = page.locator(".share-row", has_text=title)
    assert row.count() == 1
    assert fits_the_phone(page)
    row.locator("a.share-name").click()
    page.wait_for_selector(".share-page")
    assert page.locator("#id_code").count() == 0
    assert "menu-2026.txt" in page.text_content(".items")
    assert page.locator(".item-download").count() == 1
    page.screenshot(path=tmp_path / "listed-phone.png", full_page=True)
    assert fits_the_phone(page)
    reader.close()

    stranger = guarded_context(chromium, locale="en-US")
    page = stranger.new_page()
    page.goto(link)
    assert page.locator("#id_code").count() == 1
    assert title in page.text_content("h1") and "menu-2026.txt" not in page.content()
    stranger.close()
