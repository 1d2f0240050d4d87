"""The account pages in a real browser against a real daphne server."""

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def fresh_server():
    """A server nobody has registered on yet: the first account becomes the admin
    (the session's `daphne_server` has accounts of whichever tests ran before)."""
    from project.testing import LiveServer

    with LiveServer() as server:
        yield server


def test_register_then_log_in_through_the_pages(fresh_server, browser_context):
    daphne_server = fresh_server
    page = browser_context.new_page()
    page.goto(f"{daphne_server.url}/register/")
    # The browser refuses what the server would refuse, before sending.
    page.fill("#id_username", "a")
    page.fill("#id_password", "Lantern-Field-71")
    page.fill("#id_password2", "Lantern-Field-71")
    page.click("button[type=submit]")
    assert page.url.endswith("/register/")
    assert page.locator('.field-errors[data-for="id_username"] p').count() == 1

    page.fill("#id_username", "浏览器用户")
    page.fill("#id_password", "Lantern-Field-71")  # password fields never come back filled
    page.fill("#id_password2", "Lantern-Field-71")
    page.click("button[type=submit]")
    page.wait_for_url("**/welcome/")
    assert "浏览器用户" in page.text_content("h1")
    assert page.locator('.badge[data-role="admin"]').count() == 1  # first user

    page.click("text=Log out")
    page.goto(f"{daphne_server.url}/login/")
    page.fill("#id_username", "浏览器用户")
    page.fill("#id_password", "wrong-password")
    page.click("button[type=submit]")
    assert "The username or password is not correct." in page.content()
    page.fill("#id_password", "Lantern-Field-71")
    page.click("button[type=submit]")
    page.wait_for_url("**/welcome/")


def test_the_language_switch_turns_the_page_chinese(daphne_server, browser_context):
    page = browser_context.new_page()
    page.goto(f"{daphne_server.url}/login/")
    assert page.get_attribute("html", "lang") == "en"
    page.select_option("#lang-select", "zh-hans")
    page.wait_for_load_state("load")
    page.wait_for_function("() => document.documentElement.lang === 'zh-hans'")
    assert "登录" in page.text_content("h1")
