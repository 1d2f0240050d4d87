"""The /short/ page in Chromium against a real daphne server."""

import re

import pytest

pytestmark = pytest.mark.browser


def test_shorten_in_the_browser_copy_the_link_and_see_the_qr_code(daphne_server, browser_context):
    browser_context.grant_permissions(["clipboard-read", "clipboard-write"], origin=daphne_server.url)
    page = browser_context.new_page()
    page.goto(f"{daphne_server.url}/short/")

    # A refused target: the server's message is shown on the page.
    page.fill("#id_url", "javascript:alert(1)")
    page.click("#shorten-form button[type=submit]")
    page.wait_for_selector('.field-errors[data-for="id_url"] p')
    assert "Only http and https links can be shortened." in page.text_content('.field-errors[data-for="id_url"]')

    page.fill("#id_url", "example.com/from-the-browser")
    page.click("#shorten-form button[type=submit]")
    page.wait_for_selector("#short-result")
    short_url = page.input_value("#short-url")
    assert re.fullmatch(rf"{re.escape(daphne_server.url)}/s/[2-9a-zA-Z]{{8}}", short_url)
    assert "https://example.com/from-the-browser" in page.text_content(".short-target")
    qr = page.locator("#short-qr svg")
    assert qr.count() == 1 and qr.bounding_box()["width"] > 50

    page.click("#copy-short-url")
    page.wait_for_function("() => document.querySelector('#copy-short-url').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == short_url

    # Following the link would leave this machine; check the redirect itself.
    response = page.request.get(short_url, max_redirects=0)
    assert response.status == 302
    assert response.headers["location"] == "https://example.com/from-the-browser"
    assert response.headers["referrer-policy"] == "no-referrer"
