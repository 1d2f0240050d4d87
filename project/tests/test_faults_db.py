"""PostgreSQL unreachable: requests fail within seconds with 503 (SPEC §8).

Real daphne processes whose DATABASE_URL points at a server that refuses
(a closed port) or that accepts and never answers (a socket nobody reads).
Before the connect and pool timeouts every such request waited 30 s for a
500, a short-link redirect 60 s, and /server-status 30 s.
"""

import socket
import time

import httpx
import pytest

from project.testing import LiveServer, refusing_port

pytestmark = pytest.mark.live

# The defaults, as a real installation gets them (project/settings.py).
POOL_TIMEOUT = 5
PROBE_TIMEOUT = 3
# A request waits out the pool timeout once; the slack covers a loaded machine.
BOUND = POOL_TIMEOUT + 3
STATUS_BOUND = PROBE_TIMEOUT + 1.5
UNAVAILABLE = "The database is not answering right now. Try again in a moment."
UNAVAILABLE_ZH = "数据库暂时没有响应，请稍后再试。"


def _server_with_database_at(port: int):
    env = {"DATABASE_URL": f"postgres://postgres@127.0.0.1:{port}/pan"}
    return LiveServer(extra_env=env, migrate=False)


@pytest.fixture(scope="module")
def refused():
    """Nothing listens on the database's port: every connection is refused at once."""
    with _server_with_database_at(refusing_port()) as live:
        yield live


@pytest.fixture(scope="module")
def silent():
    """The database's port accepts connections and never answers (a stalled or firewalled server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        with _server_with_database_at(listener.getsockname()[1]) as live:
            yield live


def timed(method: str, url: str, **kwargs) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.request(method, url, timeout=120, follow_redirects=False, **kwargs)
    return response, time.monotonic() - started


def login(server, language: str = "en") -> tuple[httpx.Response, float]:
    return timed(
        "POST",
        f"{server.url}/api/login",
        json={"username": "someone", "password": "Lantern-Field-71"},
        headers={"Accept-Language": language},
    )


@pytest.mark.parametrize(("language", "message"), [("en", UNAVAILABLE), ("zh-hans", UNAVAILABLE_ZH)])
def test_an_api_request_is_a_503_in_the_callers_language_within_seconds(refused, language, message):
    response, seconds = login(refused, language)
    assert response.status_code == 503, response.text
    assert response.json() == {"error": {"code": "database_unavailable", "message": message}}
    assert seconds < BOUND
    # One warning line, no traceback: an outage is not a bug.
    assert "database unavailable: OperationalError" in refused.log()
    assert "Traceback" not in refused.log()


def test_a_database_that_never_answers_is_a_503_within_seconds_too(silent):
    response, seconds = login(silent)
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "database_unavailable"
    assert seconds < BOUND


@pytest.mark.parametrize("path", ["/f/NoSuchShare0123456789/", "/videos/1/stream"])  # a sync and an async view
def test_a_page_is_the_sites_503_page_within_seconds(refused, path):
    response, seconds = timed("GET", f"{refused.url}{path}", headers={"Accept-Language": "zh-hans"})
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<h1>503</h1>" in response.text
    assert UNAVAILABLE_ZH in response.text
    assert 'lang="zh-hans"' in response.text
    assert seconds < BOUND


def test_a_signed_in_browser_gets_the_503_page_too(refused):
    # The session's user is looked up in middleware, before any view.
    cookies = {"sessionid": "a" * 32}
    response, seconds = timed("GET", f"{refused.url}/login/", cookies=cookies, headers={"Accept-Language": "zh-hans"})
    assert response.status_code == 503
    assert UNAVAILABLE_ZH in response.text
    assert seconds < BOUND


def test_a_short_link_redirect_is_a_503(refused):
    response, seconds = timed("GET", f"{refused.url}/s/abcd")
    assert response.status_code == 503
    assert seconds < BOUND  # the fast path answers itself, rather than letting Django wait again


@pytest.mark.parametrize("fault", ["refused", "silent"])
def test_the_status_endpoint_is_a_503_within_its_probe_timeout(request, fault):
    server = request.getfixturevalue(fault)
    token = server.env["SERVER_STATUS_TOKEN"]
    response, seconds = timed("GET", f"{server.url}/server-status", params={"token": token})
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"] != "ok"
    assert body["cache"] == body["channel_layer"] == body["storage"] == "ok"
    assert seconds < STATUS_BOUND


def test_pages_that_need_no_database_still_answer_at_once(refused):
    response, seconds = timed("GET", f"{refused.url}/login/")
    assert response.status_code == 200
    assert seconds < 2
