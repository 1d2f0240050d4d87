"""The echo through daphne started as the README starts it (and through
uvicorn, the documented alternative), with a real client and a real browser."""

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

pytestmark = pytest.mark.live

MIB = 1024 * 1024


@pytest.fixture(params=["daphne", "uvicorn"])
def echo_server(request):
    return request.getfixturevalue(f"{request.param}_server")


def echo_socket(server):
    url = server.url.replace("http://", "ws://") + "/ws/echo/"
    return connect(url, origin=server.url, max_size=None, open_timeout=10, close_timeout=5)


def test_text_binary_and_a_one_mib_message_come_back_unchanged(echo_server):
    with echo_socket(echo_server) as socket:
        socket.send("hello, 你好")
        assert socket.recv(timeout=5) == "hello, 你好"
        socket.send(b"\x00\x01\xfe\xff")
        assert socket.recv(timeout=5) == b"\x00\x01\xfe\xff"
        big = bytes(range(256)) * (MIB // 256)
        socket.send(big)
        assert socket.recv(timeout=10) == big
        text = "x" * MIB
        socket.send(text)
        assert socket.recv(timeout=10) == text


def test_a_hundred_messages_come_back_in_order(echo_server):
    with echo_socket(echo_server) as socket:
        for number in range(100):
            socket.send(f"message {number}")
        assert [socket.recv(timeout=5) for _ in range(100)] == [f"message {n}" for n in range(100)]


def test_an_over_size_message_closes_with_1009(echo_server):
    with echo_socket(echo_server) as socket:
        socket.send(b"\x00" * (MIB + 1))
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009


@pytest.mark.browser
def test_the_echo_page_sends_and_shows_the_echo(daphne_server, browser_context):
    page = browser_context.new_page()
    page.goto(f"{daphne_server.url}/ws-echo/")
    page.wait_for_selector('#ws-status[data-state="open"]', timeout=10000)
    page.fill("#ws-message", "你好, echo <b>not bold</b>")
    page.click("#ws-send")
    received = page.locator(".ws-received .ws-body")
    received.first.wait_for(timeout=10000)
    assert received.first.text_content() == "你好, echo <b>not bold</b>"
    assert page.locator(".ws-sent .ws-body").first.text_content() == "你好, echo <b>not bold</b>"
    assert page.locator(".ws-log b").count() == 0  # shown as text, never as markup
    # Enter sends too, and the order holds.
    page.fill("#ws-message", "second")
    page.press("#ws-message", "Enter")
    page.wait_for_function("() => document.querySelectorAll('.ws-received').length === 2")
    assert received.nth(1).text_content() == "second"
