"""The API docs pages fetch nothing from any other host (SPEC §7: "fully offline"),
checked in Chromium with every request intercepted."""

from urllib.parse import urlsplit

import pytest

from project.testing import csp_guard_of

pytestmark = [pytest.mark.live, pytest.mark.browser]


def outside_requests(server, browser_context, path: str, ready: str, console: list | None = None) -> list[str]:
    """Load `path`, wait until `ready` is visible and the network is quiet; return every
    URL the page asked for on another host (each refused, so nothing leaves the machine)."""
    own = urlsplit(server.url).netloc
    outside: list[str] = []
    console = [] if console is None else console

    def route(request_route):
        url = request_route.request.url
        if urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).netloc != own:
            outside.append(url)
            request_route.abort()
        else:
            request_route.continue_()

    browser_context.route("**/*", route)
    page = browser_context.new_page()
    page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: console.append(str(error)))
    page.goto(f"{server.url}{path}")
    page.wait_for_selector(ready, timeout=15000)
    page.wait_for_load_state("networkidle", timeout=15000)
    return outside


def test_redoc_renders_from_this_server_only(daphne_server, browser_context):
    errors: list[str] = []
    outside = outside_requests(daphne_server, browser_context, "/api/redoc/", 'h1:has-text("Pan API")', errors)
    assert outside == []
    # The page's policy refuses ReDoc's Redocly logo and nothing else: the docs themselves work.
    assert all("cdn.redoc.ly/redoc/logo-mini.svg" in error for error in errors), errors
    blocked = [(violation["directive"], violation["blocked"]) for violation in csp_guard_of(browser_context).take()]
    assert blocked == [("img-src", "https://cdn.redoc.ly/redoc/logo-mini.svg")]


def test_swagger_ui_renders_from_this_server_only(daphne_server, browser_context):
    outside = outside_requests(daphne_server, browser_context, "/api/docs/", ".swagger-ui .info")
    assert outside == []
