"""The account's pages in Chromium against a live daphne: the hub (`/account/`), API keys
(`/account/keys/`) and webhooks (`/account/webhooks/`), as people use them.

Pairwise, not every combination: each page runs once on a phone and once on a desktop,
one of them in English and the other in Chinese, so every pair of (page, layout),
(page, language) and (layout, language) is met once. One Chromium and one server for the
module. Every state is checked with axe-core and, on a phone, for horizontal scrolling;
keys and webhooks are made, copied and removed with the keyboard alone (Tab to a control,
then Enter or Space), the page's CSP enforced (guarded_context).
"""

import itertools
import re

import httpx
import pytest
from standardwebhooks import Webhook

from project.testing import wait_until
from project.testing_browser import DESKTOP, PASSWORD, PHONE, axe_violations, log_in
from webhooks.tests.helpers import Receiver

pytestmark = pytest.mark.browser

# (layout, language): each page gets two of these, together all four.
PAIRS = {
    "hub": [("phone", "zh-CN"), ("desktop", "en-US")],
    "keys": [("phone", "en-US"), ("desktop", "zh-CN")],
    "webhooks": [("phone", "zh-CN"), ("desktop", "en-US")],
}
LAYOUTS = {"phone": PHONE, "desktop": DESKTOP}
TEXT = {
    "en-US": {"account": "Account", "copied": "Copied", "lang": "en", "revoked": "is revoked", "deleted": "is deleted"},
    "zh-CN": {"account": "账户", "copied": "已复制", "lang": "zh-hans", "revoked": "已吊销", "deleted": "已删除"},
}
_names = itertools.count(1)


def ids(pairs):
    return [f"{layout}-{language}" for layout, language in pairs]


@pytest.fixture(scope="module")
def account_server():
    """A server whose webhooks may reach 127.0.0.1 (this module's receivers) and nothing else
    private, with a task worker that delivers them."""
    from project.testing import LiveServer

    env = {
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
        "WEBHOOK_RETRY_SCHEDULE": "3600",  # a failed try stays pending, with its status code, for the page
        "RATE_LIMIT_ENABLED": "false",
    }
    with LiveServer(extra_env=env, task_workers=1) as server:
        server.register("chief", PASSWORD)  # the first account is the admin; the tests use others
        yield server


@pytest.fixture
def person(account_server):
    name = f"keeper{next(_names)}"
    account_server.register(name, PASSWORD)
    return name


@pytest.fixture
def open_page(account_server, chromium, person):
    """A signed-in page in a fresh guarded context with the given layout and language."""
    from project.testing import guarded_context

    contexts = []

    def make(layout: str, language: str):
        context = guarded_context(chromium, viewport=LAYOUTS[layout], locale=language)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=account_server.url)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("dialog", lambda dialog: dialog.accept())  # "Revoke this key?", "Delete this webhook?"
        log_in(page, account_server.url, person)
        return page

    yield make
    for context in contexts:
        context.close()


def looked_at(page, layout: str, language: str) -> None:
    """What every state of every page must be: in its language, axe-clean, no sideways scrolling."""
    assert page.get_attribute("html", "lang") == TEXT[language]["lang"]
    assert axe_violations(page) == [], page.url
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url} scrolls sideways on a {layout}: {width}"


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until `selector` has the focus: the control is reachable with the keyboard."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} was not reached with Tab in {limit} presses on {page.url}")


def cookies(page) -> dict:
    return {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}


def copy_button_works(page, button: str, field: str, language: str) -> str:
    value = page.input_value(field)
    tab_to(page, button)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "(args) => document.querySelector(args[0]).textContent.trim() === args[1]",
        arg=[button, TEXT[language]["copied"]],
    )
    assert page.evaluate("() => navigator.clipboard.readText()") == value
    return value


@pytest.mark.parametrize(("layout", "language"), PAIRS["hub"], ids=ids(PAIRS["hub"]))
def test_the_hub_is_in_the_navigation_and_links_the_four_pages(open_page, account_server, layout, language):
    page = open_page(layout, language)
    page.goto(f"{account_server.url}/welcome/")
    nav = page.locator('.site-nav a[data-nav="account"]')
    assert nav.is_visible() and nav.text_content().strip() == TEXT[language]["account"]
    tab_to(page, '.site-nav a[data-nav="account"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/account/")
    looked_at(page, layout, language)
    links = page.eval_on_selector_all(".account-links a", "(links) => links.map(a => a.getAttribute('href'))")
    assert links == ["/welcome/", "/account/keys/", "/account/security/", "/account/webhooks/"]
    for href in links:
        page.goto(account_server.url + href)
        assert page.get_attribute("html", "lang") == TEXT[language]["lang"]
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"{href} scrolls sideways on a {layout}: {width}"
        if href != "/welcome/":  # the three account pages lead back to the hub
            assert page.locator('.breadcrumb a[href="/account/"]').count() == 1, href


@pytest.mark.parametrize(("layout", "language"), PAIRS["keys"], ids=ids(PAIRS["keys"]))
def test_an_api_key_made_copied_and_revoked_with_the_keyboard(open_page, account_server, layout, language):
    page = open_page(layout, language)
    page.goto(f"{account_server.url}/account/keys/")
    looked_at(page, layout, language)
    tab_to(page, "#key-name")
    page.keyboard.type("backup script")
    tab_to(page, 'input[name="scopes"][value="shares:read"]')
    page.keyboard.press("Space")
    tab_to(page, "#key-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#key-created")
    looked_at(page, layout, language)

    key = copy_button_works(page, 'button[data-copy="#new-key"]', "#new-key", language)
    assert re.fullmatch(r"pan_[A-Za-z0-9_-]{32}", key)
    prefix = page.text_content(".key-row .key-prefix").strip().rstrip("…")
    assert key.startswith(prefix)
    # The key works against the API, in a request of its own (no cookies).
    answer = page.context.request.get(
        f"{account_server.url}/api/me", headers={"Authorization": f"Bearer {key}", "Cookie": ""}
    )
    assert answer.status == 200, answer.text()

    page.goto(f"{account_server.url}/account/keys/")  # shown once: never again
    assert page.locator("#key-created").count() == 0 and key not in page.content()
    assert page.locator(".key-row").count() == 1
    tab_to(page, '.key-row button[value="revoke"]')
    page.keyboard.press("Enter")
    page.wait_for_selector(".messages")
    assert TEXT[language]["revoked"] in page.text_content(".messages")
    assert page.locator(".key-row").count() == 0
    looked_at(page, layout, language)
    refused = page.context.request.get(
        f"{account_server.url}/api/me", headers={"Authorization": f"Bearer {key}", "Cookie": ""}
    )
    assert refused.status == 401


@pytest.mark.parametrize(("layout", "language"), PAIRS["webhooks"], ids=ids(PAIRS["webhooks"]))
def test_a_webhook_added_its_secret_copied_and_deleted_with_the_keyboard(
    open_page, account_server, person, layout, language
):
    page = open_page(layout, language)
    account_server.manage("grant_role", person, "uploaders")  # to make a share that sends an event
    with Receiver(statuses=[500]) as receiver:
        url = receiver.url("127.0.0.1", "/hooks/pan/a-receiver-with-a-rather-long-path/0123456789abcdef")
        page.goto(f"{account_server.url}/account/webhooks/")
        looked_at(page, layout, language)
        tab_to(page, "#webhook-url")
        page.keyboard.type(url)
        tab_to(page, 'input[name="events"][value="share.created"]')
        page.keyboard.press("Space")
        tab_to(page, 'input[name="events"][value="drop.received"]')
        page.keyboard.press("Space")
        tab_to(page, "#webhook-form button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_selector("#webhook-created")
        looked_at(page, layout, language)

        secret = copy_button_works(page, 'button[data-copy="#webhook-secret"]', "#webhook-secret", language)
        assert secret.startswith("whsec_")
        row = page.locator(".webhook-row")
        assert row.count() == 1 and url in row.text_content()
        assert "share.created" in row.text_content() and "drop.received" in row.text_content()

        # A share made through the API: the worker's try gets a 500, shown in the row's deliveries.
        token = httpx.post(
            f"{account_server.url}/api/login", json={"username": person, "password": PASSWORD}, timeout=10
        ).json()["access"]
        made = httpx.post(
            f"{account_server.url}/api/shares",
            files={"file": ("a.txt", b"hello")},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert made.status_code == 201, made.text
        wait_until(lambda: len(receiver.received) == 1, timeout=30, message="the worker's try")
        Webhook(secret).verify(receiver.received[0]["body"], receiver.received[0]["headers"])
        wait_until(
            lambda: "HTTP 500" in httpx.get(f"{account_server.url}/account/webhooks/", cookies=cookies(page)).text,
            timeout=10,
            message="the try recorded",
        )
        page.goto(f"{account_server.url}/account/webhooks/")  # the secret is shown once: never again
        assert page.locator("#webhook-created").count() == 0 and secret not in page.content()
        delivery = page.locator(".webhook-deliveries tbody tr")
        assert delivery.count() == 1 and delivery.get_attribute("data-status") == "pending"
        assert "share.created" in delivery.text_content() and "HTTP 500" in delivery.text_content()
        looked_at(page, layout, language)

        # A refused target is shown on the page, in the page's language, with what was typed kept.
        tab_to(page, ".webhook-new summary")  # closed once there is one: opened with the keyboard
        page.keyboard.press("Enter")
        page.fill("#webhook-url", "http://10.0.0.1/hook")
        page.check('input[name="events"][value="link.expired"]')
        page.click("#webhook-form button[type=submit]")
        page.wait_for_selector("#webhook-error")
        assert page.input_value("#webhook-url") == "http://10.0.0.1/hook"
        if language.startswith("zh"):
            assert re.search(r"[\u4e00-\u9fff]", page.text_content("#webhook-error"))
        looked_at(page, layout, language)
        assert page.locator(".webhook-row").count() == 1

        tab_to(page, '.webhook-row button[value="delete"]')
        page.keyboard.press("Enter")
        page.wait_for_selector(".messages")
        assert TEXT[language]["deleted"] in page.text_content(".messages")
        assert page.locator(".webhook-row").count() == 0
        looked_at(page, layout, language)
