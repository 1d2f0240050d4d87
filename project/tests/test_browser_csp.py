"""The Content-Security-Policy in Chromium (docs/security.md): what it
blocks, that the tests' guard sees it (project.testing.csp_guard), that
user Markdown could run nothing even if the sanitiser let it through, that
the admin works under it, and that report-only mode reports and blocks
nothing."""

import httpx
import pytest

from project.testing import LiveServer, check_csp_guards, csp_guard_of, guarded_context

pytestmark = [pytest.mark.live, pytest.mark.browser]

PASSWORD = "Lantern-Field-71"


@pytest.fixture(scope="module")
def server():
    """A server of this module's own: the accounts it makes (an admin among
    them) are no other module's first users."""
    with LiveServer() as live:
        yield live


# What a sanitiser that failed would let into a page: an inline script and
# an inline event handler, each setting window.__xss if it ran. A fragment
# made by createContextualFragment runs its scripts when inserted (unlike
# innerHTML), as markup written by the server would.
HOSTILE = '<script>window.__xss = "script";</script><img src="data:," onerror="window.__xss = \'onerror\'">'
INSERT_HOSTILE = """([selector, html]) => {
  const area = document.querySelector(selector);
  area.append(document.createRange().createContextualFragment(html));
}"""
# A style attribute: applied, the paragraph's colour would be rgb(255, 0, 0).
STYLE_ATTRIBUTE = """() => {
  const probe = document.createElement("p");
  probe.setAttribute("style", "color: rgb(255, 0, 0)");
  document.body.append(probe);
  return getComputedStyle(probe).color;
}"""


def uploader(server) -> tuple[str, str]:
    return server.uploader("csp", PASSWORD)


def log_in(page, server, name: str) -> None:
    page.goto(f"{server.url}/login/")
    page.fill("#id_username", name)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def blocked(violations: list[dict]) -> set[tuple[str, str]]:
    return {(violation["directive"], violation["blocked"]) for violation in violations}


def test_the_guard_fails_a_test_on_an_inline_script_without_the_nonce(server, browser_context):
    page = browser_context.new_page()
    response = page.goto(f"{server.url}/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # A deliberately un-nonced inline script, an inline handler and a style attribute, on a real page.
    page.evaluate(INSERT_HOSTILE, ["main", HOSTILE])
    assert page.evaluate(STYLE_ATTRIBUTE) != "rgb(255, 0, 0)"
    assert page.evaluate("typeof window.__xss") == "undefined"
    with pytest.raises(AssertionError) as failure:
        check_csp_guards()  # what conftest.py runs after every test
    message = str(failure.value)
    for directive in ("script-src-elem", "script-src-attr", "style-src-attr"):
        assert f"{directive} blocked inline on {server.url}/login/" in message
    check_csp_guards()  # reported once: the next test starts clean


def test_markdown_from_a_user_is_sanitised_and_the_policy_would_block_it_anyway(server, browser_context):
    _name, token = uploader(server)
    text = f"# Notes\n\n{HOSTILE}\n\n[a link](javascript:window.__xss='link')\n"
    info = httpx.post(
        f"{server.url}/api/shares",
        json={"text": text, "text_format": "markdown", "title": "Hostile"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    page = browser_context.new_page()
    page.goto(f"{server.url}/f/{info['id']}/")
    page.fill("#id_code", info["code_display"])
    page.click("#unlock-button")
    area = page.locator("[data-text-rendered]")
    area.wait_for()
    for link in area.locator("a").all():
        link.click()  # a javascript: URL, had it survived, would run here
    # Sanitised: nothing hostile reached the page, so there was nothing to block.
    assert area.locator("script, img, [onerror]").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"
    guard = csp_guard_of(browser_context)
    assert guard.take() == []

    # Had the sanitiser let it through, the policy blocks both and reports them.
    page.evaluate(INSERT_HOSTILE, ["[data-text-rendered]", HOSTILE])
    assert area.locator("script").count() == 1 and area.locator("img[onerror]").count() == 1
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert blocked(guard.take()) == {("script-src-elem", "inline"), ("script-src-attr", "inline")}


def test_the_admin_works_under_the_policy(server, browser_context):
    name, token = uploader(server)
    server.manage("grant_role", name, "admin")
    share = httpx.post(
        f"{server.url}/api/shares",
        json={"text": "downloaded once", "title": "Counted"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    item = share["items"][0]["id"]
    content = httpx.get(
        f"{server.url}/api/shares/{share['id']}/items/{item}/content", headers={"X-Share-Code": share["code"]}
    )
    assert content.status_code == 200  # a counted download: today's bar is the dashboard's longest
    page = browser_context.new_page()
    log_in(page, server, name)
    # Django admin's own pages and scripts (the changelist's actions, the
    # date and time widgets of a form): any violation fails this test.
    key = httpx.post(
        f"{server.url}/api/short",
        json={"url": "https://example.com/csp"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()["key"]
    for path in ("/admin/", "/admin/pan/share/", "/admin/accounts/user/", f"/admin/shortener/shortlink/?q={key}"):
        page.goto(f"{server.url}{path}")
    page.click(f"#result_list a:text-is('{key}')")
    page.locator(".datetimeshortcuts a").first.click()  # "Today": the widgets' script ran
    assert page.input_value("#id_expires_at_0") != ""

    # The dashboard's bars: each as long as its day's share of the busiest, from the nonced rules.
    page.goto(f"{server.url}/admin/dashboard/")
    widths = page.eval_on_selector_all(
        "#downloads-per-day .bar",
        """bars => bars.map(bar => {
          const cell = getComputedStyle(bar.parentElement);
          const room = bar.parentElement.clientWidth - parseFloat(cell.paddingLeft) - parseFloat(cell.paddingRight);
          return [Math.round(bar.getBoundingClientRect().width), Math.round(room)];
        })""",
    )
    assert len(widths) == 30
    longest, room = max(widths)
    assert longest > 0 and abs(longest - room) <= 1  # the busiest day fills its cell
    assert all(0 <= width <= longest for width, _room in widths)


def test_report_only_reports_violations_and_blocks_nothing(chromium):
    with LiveServer(extra_env={"CSP_REPORT_ONLY": "true"}) as server:
        context = guarded_context(chromium, locale="en-US")
        page = context.new_page()
        response = page.goto(f"{server.url}/login/")
        assert "content-security-policy" not in response.headers
        assert "script-src 'self'" in response.headers["content-security-policy-report-only"]
        page.evaluate(INSERT_HOSTILE, ["main", HOSTILE])
        page.wait_for_function("() => window.__xss !== undefined")  # it ran
        violations = csp_guard_of(context).take()
        assert ("script-src-elem", "inline") in blocked(violations)
        assert {violation["disposition"] for violation in violations} == {"report"}
        context.close()
