"""A client (or its /24 network) over the code-guessing limits gets 429 with
`Retry-After` on every page that checks a code or a password, never a 500
(attack run finding G6): the site's error page (or the page's own form
again, with its countdown), and the API's error shape for a JSON client.

Codes and passwords of shares, drop-off requests and short links count in
the same layers (project/lib/secrets.py `guess_layers`), so the layers are
filled here with wrong drop-off codes and every page is asked after."""

import io

import pytest
from django.test import Client

from dropoff.services import drop_receive, request_create
from pan import services as pan_services
from pan.storing import IncomingFile
from shortener.services import short_link_create

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
JSON = {"HTTP_ACCEPT": "application/json"}
PASSWORD = "Kite-Harbour-55"


@pytest.fixture
def things(dana):
    """A drop-off request with a password and a drop, a share with a code, a short link with a password."""
    drop_request = request_create(owner=dana, title="Scans", password=PASSWORD)
    drop = drop_receive(
        request=drop_request, files=[IncomingFile(io.BytesIO(b"hi"), "a.txt")], name="n", note="", client="192.0.2.9"
    )
    share = pan_services.share_create(owner=dana, files=[IncomingFile(io.BytesIO(b"hello"), "hello.txt")])
    link, _created = short_link_create(url="https://example.com/", owner=dana, password=PASSWORD)
    return {"request": drop_request, "drop": drop, "share": share, "link": link}


# (method, address, form) for every page that checks a code or a password.
PAGES = {
    "request page": lambda t: ("get", f"/r/{t['request'].code}/", None),
    "request page, code with a dash": lambda t: ("get", f"/r/{t['request'].code[:4]}-{t['request'].code[4:]}/", None),
    "request password": lambda t: ("post", f"/r/{t['request'].code}/", {"password": PASSWORD}),
    "request drop": lambda t: ("post", f"/r/{t['request'].code}/", {"name": "x", "file": io.BytesIO(b"x")}),
    "receipt page": lambda t: ("get", f"/r/{t['request'].code}/receipt/{t['drop'].receipt_key}/", None),
    "share code": lambda t: ("post", f"/f/{t['share'].unique_name}/", {"code": t["share"].code}),
    "share download": lambda t: ("post", f"/f/{t['share'].unique_name}/download", {"code": t["share"].code}),
    "home page's code box": lambda t: ("post", "/pickup/", {"code": t["share"].code}),
    "short link password": lambda t: ("post", f"/s/{t['link'].key}", {"password": PASSWORD}),
}


def fill_layers(settings, addresses: list[str]) -> None:
    """Wrong codes from `addresses` until the layers are full."""
    for address in addresses:
        for _ in range(3):
            assert Client(REMOTE_ADDR=address).get("/r/ABCD2345/").status_code == 404
    assert Client(REMOTE_ADDR=addresses[-1]).get("/r/ABCD2345/").status_code == 429


def ask(client: Client, method: str, address: str, form, **headers):
    client.raise_request_exception = False
    if method == "get":
        return client.get(address, follow=True, **headers)
    return client.post(address, form, **headers)


def assert_limited(answer) -> int:
    assert answer.status_code == 429, answer.content[:400]
    seconds = int(answer["Retry-After"])
    assert seconds > 0
    return seconds


@pytest.mark.parametrize("page", PAGES)
def test_a_client_over_the_limit_gets_429_on_every_page_that_checks_codes(page, things, settings):
    settings.PAN_CODE_CLIENT_ALL_LIMIT = 3
    fill_layers(settings, ["198.51.100.7"])
    method, address, form = PAGES[page](things)
    answer = ask(Client(REMOTE_ADDR="198.51.100.7"), method, address, form, **EN)
    seconds = assert_limited(answer)
    html = answer.content.decode()
    assert f'data-retry-after="{seconds}"' in html
    assert "You can try again" in html


@pytest.mark.parametrize("page", PAGES)
def test_a_network_over_the_limit_gets_429_on_every_page_that_checks_codes(page, things, settings):
    settings.PAN_CODE_NETWORK_LIMIT = 6
    fill_layers(settings, ["203.0.113.1", "203.0.113.2"])
    method, address, form = PAGES[page](things)
    # Another address of the same /24, that guessed nothing itself.
    assert_limited(ask(Client(REMOTE_ADDR="203.0.113.200"), method, address, form, **EN))


@pytest.mark.parametrize("address", ["/r/{code}/", "/r/{code}/receipt/{receipt}/", "/api/requests/{code}"])
def test_a_json_client_over_the_limit_gets_the_api_error_shape(address, things, settings):
    settings.PAN_CODE_CLIENT_ALL_LIMIT = 3
    fill_layers(settings, ["198.51.100.8"])
    address = address.format(code=things["request"].code, receipt=things["drop"].receipt_key)
    client = Client(REMOTE_ADDR="198.51.100.8")
    client.raise_request_exception = False
    answer = client.get(address, **EN, **JSON)
    assert_limited(answer)
    assert answer.json() == {
        "error": {"code": "code_guessing_limited", "message": "Too many wrong codes. Try again later."}
    }
