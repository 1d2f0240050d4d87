"""Managing a short link on `/short/` in Chromium (SPEC §5): set a password,
pause, resume, follow it through the password page, delete with a
confirmation; no console errors."""

import secrets

import httpx
import pytest

from project.testing import guarded_context

pytestmark = pytest.mark.browser

PASSWORD = "Lantern-Field-71"
LINK_PASSWORD = "Kite-Harbour-58"


def test_an_owner_manages_a_link_and_a_visitor_passes_its_password_page(daphne_server, chromium):
    name = f"links-{secrets.token_hex(3)}"
    daphne_server.register(name, PASSWORD)
    token = httpx.post(f"{daphne_server.url}/api/login", json={"username": name, "password": PASSWORD}).json()["access"]
    slug = f"m{secrets.token_hex(4)}"
    made = httpx.post(
        f"{daphne_server.url}/api/short",
        json={"url": "https://example.com/landing", "slug": slug},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert made.status_code == 201, made.text

    owner = guarded_context(chromium, locale="en-US").new_page()
    errors = []
    owner.on("console", lambda message: message.type == "error" and errors.append(message.text))
    owner.goto(f"{daphne_server.url}/login/")
    owner.fill("#id_username", name)
    owner.fill("#id_password", PASSWORD)
    owner.click("form button[type=submit]")
    owner.wait_for_url(lambda url: "/login/" not in url)
    owner.goto(f"{daphne_server.url}/short/")
    row = owner.locator(f'tr[data-key="{slug}"]')
    tools = owner.locator(f'tr[data-tools-of="{slug}"]')  # the full-width row below the link
    row.locator(".link-tools-toggle").click()
    tools.locator(f"#pw-{slug}").fill(LINK_PASSWORD)
    tools.locator(".link-edit button[type=submit]").click()
    owner.wait_for_load_state()
    row = owner.locator(f'tr[data-key="{slug}"]')
    assert row.locator(".state-password").count() == 1
    row.locator(".link-tools-toggle").click()
    tools.locator("button[value=pause]").click()
    owner.wait_for_load_state()

    visitor_context = guarded_context(chromium, locale="zh-CN")
    visitor_context.route("https://example.com/**", lambda route: route.fulfill(body="target reached"))
    visitor = visitor_context.new_page()
    paused = visitor.goto(f"{daphne_server.url}/s/{slug}")
    assert paused.status == 410 and "暂停" in visitor.content()

    row = owner.locator(f'tr[data-key="{slug}"]')
    row.locator(".link-tools-toggle").click()
    tools.locator("button[value=resume]").click()
    owner.wait_for_load_state()

    asked = visitor.goto(f"{daphne_server.url}/s/{slug}")
    assert asked.status == 401 and "example.com" not in visitor.content()
    visitor.fill("#id_link_password", LINK_PASSWORD)
    visitor.click("#link-password-form button[type=submit]")
    visitor.wait_for_url("https://example.com/landing")
    assert "target reached" in visitor.content()

    owner.on("dialog", lambda dialog: dialog.accept())
    row = owner.locator(f'tr[data-key="{slug}"]')
    row.locator(".link-tools-toggle").click()
    tools.locator("button[value=delete]").click()
    owner.wait_for_load_state()
    assert owner.locator(f'tr[data-key="{slug}"]').count() == 0
    assert httpx.get(f"{daphne_server.url}/s/{slug}").status_code == 404
    assert errors == []
