"""Pickup by code (SPEC §4.2, §6): the home page's box and `POST /api/pickup`.

A code typed on its own (any spelling) or a whole pasted link opens its share;
wrong codes are refused in both languages and counted in the guessing layers
(a code alone: the client's and the network's; a link: all four); gone shares
say why; a password is asked for next, on the share page; nothing here counts
as a download and the answer never carries the code."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.test import Client, override_settings
from django.utils import timezone

from pan.models import Share

from .conftest import body_of

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
PASSWORD = "Quiet-Harbour-93"


def wrong_code(info) -> str:
    """A well-formed code that opens nothing (codes avoid 0, 1, I, L and O, so this is never one)."""
    return "2222-2222" if info["code"] != "22222222" else "3333-3333"


def pickup(api, code, **headers):
    return api.post("/api/pickup", {"code": code}, format="json", **headers)


def error_of(response) -> dict:
    return response.json()["error"]


def browser() -> tuple[Client, str]:
    """A client that checks CSRF like a browser would, with its token."""
    client = Client(enforce_csrf_checks=True)
    client.get("/")
    return client, client.cookies["csrftoken"].value


def page_pickup(client, token, code, **headers):
    return client.post("/pickup/", {"code": code, "csrfmiddlewaretoken": token}, **headers)


def downloads_of(info) -> int:
    return Share.objects.get(unique_name=info["id"]).download_count


# --- The API ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        lambda code: code,  # ABCD2345
        lambda code: f"{code[:4]}-{code[4:]}",  # ABCD-2345
        lambda code: f"{code[:4]}-{code[4:]}".lower(),  # abcd-2345
        lambda code: f"  {code[:4]} {code[4:]}\n",  # pasted with spaces around and inside
        lambda code: f"{code[:4]}－{code[4:]}".translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)}),  # full width
    ],
    ids=["plain", "dash", "lower-case", "spaces", "full-width"],
)
def test_every_spelling_of_a_code_opens_its_share(share_as, dana, api, spelling):
    info = share_as(dana, [("report.pdf", b"%PDF-1.4 report")], title="Quarterly")
    typed = spelling(info["code"])
    response = pickup(api, typed)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == info["id"]
    assert body["title"] == "Quarterly"
    assert body["url"] == f"http://testserver/f/{info['id']}/"
    assert [item["name"] for item in body["items"]] == ["report.pdf"]
    assert body["state"] == "active" and body["has_password"] is False


def test_the_full_width_spelling_is_what_a_chinese_keyboard_types(share_as, dana, api):
    info = share_as(dana)
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in info["code"])
    full_width = f"{full_width[:4]}－{full_width[4:]}"  # ＡＢＣＤ－２３４５
    assert all(ord(c) > 0xFF00 for c in full_width)
    assert pickup(api, full_width).json()["id"] == info["id"]


def test_a_pasted_link_opens_its_share_with_or_without_the_host(share_as, dana, api):
    info = share_as(dana)
    with_host = info["share_url"]
    assert with_host.startswith("http://testserver/f/") and f"code={info['code']}" in with_host
    assert pickup(api, with_host).json()["id"] == info["id"]
    assert pickup(api, f"链接：{with_host}").json()["id"] == info["id"]
    without_host = f"/f/{info['id']}/?code={info['code_display'].lower()}"
    assert pickup(api, without_host).json()["id"] == info["id"]


def test_a_link_pasted_with_words_after_it_opens_its_share(share_as, dana, api):
    # What chat apps copy: "链接：https://…/f/<id>/?code=ABCD2345 提取码：ABCD-2345".
    info = share_as(dana)
    response = pickup(api, f"链接：{info['share_url']} 提取码：{info['code_display']}")
    assert response.status_code == 200, response.content
    assert response.json()["id"] == info["id"]


def test_a_link_to_an_unknown_share_is_404_and_a_link_with_a_wrong_code_403(share_as, dana, api):
    info = share_as(dana)
    response = pickup(api, f"http://testserver/f/AAAAAAAAAAAAAAAAAAAAAA/?code={info['code']}")
    assert response.status_code == 404
    assert error_of(response)["code"] == "file_not_found"
    response = pickup(api, f"http://testserver/f/{info['id']}/?code={wrong_code(info)}")
    assert response.status_code == 403
    assert error_of(response)["code"] == "code_rejected"


def test_the_metadata_never_contains_the_code(share_as, dana, api):
    info = share_as(dana, title="No secrets", message="Just files")
    for typed in (info["code"], info["share_url"]):
        response = pickup(api, typed)
        assert response.status_code == 200
        assert not {"code", "code_display", "share_url", "qr"} & set(response.json())
        assert info["code"] not in response.content.decode()
        assert info["code_display"] not in response.content.decode()


def test_a_wrong_code_is_refused_in_both_languages(share_as, dana, api):
    info = share_as(dana)
    response = pickup(api, wrong_code(info), **EN)
    assert response.status_code == 403
    assert error_of(response) == {"code": "code_rejected", "message": "The share code is not correct."}
    response = pickup(api, wrong_code(info), **ZH)
    assert response.status_code == 403
    assert error_of(response) == {"code": "code_rejected", "message": "提取码不正确。"}
    blank = pickup(api, "", **EN)  # a blank code opens nothing and guesses nothing
    assert blank.status_code == 400 and error_of(blank)["code"] == "no_code"


@pytest.mark.parametrize(
    "body, content_type",
    [
        (json.dumps({"code": 5}), "application/json"),
        (json.dumps({"code": None}), "application/json"),
        (json.dumps(["ABCD-2345"]), "application/json"),
        (json.dumps("ABCD-2345"), "application/json"),
        (json.dumps({}), "application/json"),
        ("", "application/json"),
        ("{not json", "application/json"),
    ],
    ids=["number", "null", "list", "string", "no-code", "no-body", "broken-json"],
)
def test_malformed_bodies_are_400_in_the_api_error_shape(api, body, content_type):
    response = api.generic("POST", "/api/pickup", body, content_type=content_type, **EN)
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert set(error) <= {"code", "message", "fields"}
    assert error["code"] in {"invalid", "parse_error"}
    assert isinstance(error["message"], str) and error["message"]


def test_a_code_in_a_form_body_works_too(share_as, dana, api):
    info = share_as(dana)
    response = api.post("/api/pickup", {"code": info["code_display"]})  # multipart, as curl -F sends
    assert response.status_code == 200
    assert response.json()["id"] == info["id"]


# --- Guessing limits -------------------------------------------------------------


@override_settings(PAN_CODE_CLIENT_ALL_LIMIT=3, PAN_CODE_NETWORK_LIMIT=100)
def test_wrong_codes_from_one_client_are_limited_then_429_with_retry_after(share_as, dana, api):
    info = share_as(dana)
    for _attempt in range(3):
        assert pickup(api, wrong_code(info), REMOTE_ADDR="198.51.100.7").status_code == 403
    response = pickup(api, wrong_code(info), REMOTE_ADDR="198.51.100.7", **ZH)
    assert response.status_code == 429
    assert error_of(response)["code"] == "code_guessing_limited"
    assert error_of(response)["message"] == "错误提取码次数过多，请稍后再试。"
    assert 0 < int(response["Retry-After"]) <= 3600
    # Even the right code waits, from that client only.
    assert pickup(api, info["code"], REMOTE_ADDR="198.51.100.7").status_code == 429
    assert pickup(api, info["code"], REMOTE_ADDR="203.0.113.5").status_code == 200


@override_settings(PAN_CODE_CLIENT_ALL_LIMIT=100, PAN_CODE_NETWORK_LIMIT=3)
def test_wrong_codes_from_one_network_are_limited_across_its_addresses(share_as, dana, api):
    info = share_as(dana)
    for host in (1, 2, 3):
        assert pickup(api, wrong_code(info), REMOTE_ADDR=f"198.51.100.{host}").status_code == 403
    # A fourth address of the same /24 is the same network.
    response = pickup(api, wrong_code(info), REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 429
    assert error_of(response)["code"] == "code_guessing_limited"
    assert int(response["Retry-After"]) > 0
    # IPv6: the network is the /48.
    for host in (1, 2, 3):
        assert pickup(api, wrong_code(info), REMOTE_ADDR=f"2001:db8:1:{host}::1").status_code == 403
    assert pickup(api, wrong_code(info), REMOTE_ADDR="2001:db8:1:ffff::9").status_code == 429
    assert pickup(api, info["code"], REMOTE_ADDR="203.0.113.5").status_code == 200


@override_settings(PAN_CODE_CLIENT_ALL_LIMIT=3, PAN_CODE_NETWORK_LIMIT=3)
def test_right_codes_give_their_attempt_back(share_as, dana, api):
    info = share_as(dana)
    for _attempt in range(10):
        assert pickup(api, info["code"], REMOTE_ADDR="198.51.100.7").status_code == 200
    assert pickup(api, wrong_code(info), REMOTE_ADDR="198.51.100.7").status_code == 403


# One override, not the decorator and the `settings` fixture together: their
# undoing would run out of order and leave these limits to later tests.
@override_settings(
    PAN_CODE_CLIENT_LIMIT=100, PAN_CODE_CLIENT_ALL_LIMIT=100, PAN_CODE_NETWORK_LIMIT=100, PAN_CODE_SHARE_LIMIT=3
)
def test_wrong_codes_in_pasted_links_lock_the_share_for_everyone(share_as, dana, api):
    info = share_as(dana)
    link = f"http://testserver/f/{info['id']}/?code={wrong_code(info)}"
    for network in (1, 2, 3):
        assert pickup(api, link, REMOTE_ADDR=f"192.0.{network}.9").status_code == 403
    response = pickup(api, link, REMOTE_ADDR="192.0.4.9")
    assert response.status_code == 429
    assert error_of(response)["code"] == "file_locked"
    assert int(response["Retry-After"]) > 0
    # While the share is locked its right code, typed alone, waits as well.
    response = pickup(api, info["code"], REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 429
    assert error_of(response)["code"] == "file_locked"


@override_settings(PAN_CODE_CLIENT_LIMIT=2, PAN_CODE_CLIENT_ALL_LIMIT=100, PAN_CODE_NETWORK_LIMIT=100)
def test_wrong_codes_in_pasted_links_count_per_client_and_share(share_as, dana, api):
    info = share_as(dana)
    link = f"/f/{info['id']}/?code={wrong_code(info)}"
    assert [pickup(api, link, REMOTE_ADDR="198.51.100.7").status_code for _ in range(3)] == [403, 403, 429]


# --- Gone shares ---------------------------------------------------------------


def test_an_expired_share_is_410(share_as, dana, api):
    info = share_as(dana, expires_in="60")
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        for typed in (info["code"], info["share_url"]):
            response = pickup(api, typed, **ZH)
            assert response.status_code == 410
            assert error_of(response) == {"code": "file_expired", "message": "这个分享已过期。"}


def test_a_revoked_share_is_410(share_as, dana, api, api_as):
    info = share_as(dana)
    assert api_as(dana).post(f"/api/shares/{info['id']}/revoke").status_code == 200
    for typed in (info["code_display"], info["share_url"]):
        response = pickup(api, typed)
        assert response.status_code == 410
        assert error_of(response)["code"] == "file_revoked"


def test_a_used_up_share_is_410(share_as, dana, api):
    info = share_as(dana, max_downloads="1")
    content = f"/api/shares/{info['id']}/items/{info['items'][0]['id']}/content"
    download = api.get(content, HTTP_X_SHARE_CODE=info["code"], HTTP_USER_AGENT="curl/8.5")
    assert body_of(download) == b"hello world"
    assert downloads_of(info) == 1
    response = pickup(api, info["code"], REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 410
    assert error_of(response)["code"] == "file_used_up"


# --- Passwords -----------------------------------------------------------------


def test_a_share_with_a_password_says_so_and_its_page_asks_for_it(share_as, dana, api):
    info = share_as(dana, password=PASSWORD)
    response = pickup(api, info["code"])
    assert response.status_code == 200
    assert response.json()["has_password"] is True
    client, token = browser()
    response = page_pickup(client, token, info["code_display"].lower())
    assert response.status_code == 302
    assert response["Location"] == f"/f/{info['id']}/"
    page = client.get(response["Location"], **EN)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="password"' in html
    assert "data-unlocked" not in html and "item-download" not in html
    assert PASSWORD not in html and info["code"] not in html


# --- The home page ---------------------------------------------------------------


def test_the_pickup_box_is_the_first_thing_on_the_home_page(db):
    for headers, label, button in ((EN, "Share code or link", "Pick up"), (ZH, "提取码或链接", "提取")):
        html = Client().get("/", **headers).content.decode()
        main = html[html.index('<main class="content">') :]
        box = main.index('class="pickup"')
        assert box < main.index('class="hero"') < main.index('href="/login/"') and 'href="/register/"' in main
        assert f'<label class="pickup-label" for="pickup-code">{label}</label>' in main
        assert f">{button}</button>" in main
        for attribute in (
            'name="code"',
            'placeholder="XXXX-XXXX"',
            'autocomplete="off"',
            'autocapitalize="characters"',
            'spellcheck="false"',
            'inputmode="text"',
            'maxlength="2048"',
            'action="/pickup/"',
        ):
            assert attribute in main, attribute


@pytest.mark.parametrize(
    "spelling",
    [
        lambda info: info["code_display"].lower(),
        lambda info: f" {info['code'][:4]} {info['code'][4:]} ",
        lambda info: "".join(chr(ord(c) + 0xFEE0) if c != "-" else "－" for c in info["code_display"]),
        lambda info: info["share_url"],
        lambda info: info["share_url"].removeprefix("http://testserver"),
    ],
    ids=["lower-case", "spaces", "full-width", "link", "link-without-host"],
)
def test_the_home_page_box_opens_the_share_unlocked(share_as, dana, spelling):
    info = share_as(dana, [("a.txt", b"alpha"), ("b.txt", b"beta")])
    client, token = browser()
    response = page_pickup(client, token, spelling(info))
    assert response.status_code == 302
    assert response["Location"] == f"/f/{info['id']}/"  # no code in the address
    html = client.get(response["Location"], **EN).content.decode()
    assert "data-unlocked" in html
    assert html.count("item-download") == 2
    assert 'name="code"' not in html  # nothing left to type
    download = client.get(f"/f/{info['id']}/items/{info['items'][0]['id']}/download")
    assert download.status_code == 200 and body_of(download) == b"alpha"


def test_the_home_page_needs_the_csrf_token(share_as, dana):
    info = share_as(dana)
    client, _token = browser()
    assert client.post("/pickup/", {"code": info["code"]}).status_code == 403
    assert Client().get("/pickup/").status_code == 405


def test_a_wrong_code_on_the_home_page_shows_the_error_in_both_languages(share_as, dana):
    info = share_as(dana)
    for headers, message in ((EN, "The share code is not correct."), (ZH, "提取码不正确。")):
        client, token = browser()
        response = page_pickup(client, token, wrong_code(info).lower(), **headers)
        html = response.content.decode()
        assert response.status_code == 403
        assert f'<p class="pickup-message">{message}</p>' in html
        assert 'role="alert"' in html and 'aria-invalid="true"' in html
        assert f'value="{wrong_code(info).lower()}"' in html  # what was typed stays, to correct it
        assert "data-retry-after" not in html


def test_a_gone_share_on_the_home_page_says_why(share_as, dana, api_as):
    info = share_as(dana)
    assert api_as(dana).post(f"/api/shares/{info['id']}/revoke").status_code == 200
    client, token = browser()
    response = page_pickup(client, token, info["code"], **EN)
    assert response.status_code == 410
    assert "The owner has stopped sharing this." in response.content.decode()


@override_settings(PAN_CODE_CLIENT_ALL_LIMIT=2, PAN_CODE_NETWORK_LIMIT=100)
def test_the_home_page_says_how_long_to_wait_and_disables_the_button(share_as, dana):
    info = share_as(dana)
    client, token = browser()
    for _attempt in range(2):
        assert page_pickup(client, token, wrong_code(info)).status_code == 403
    for headers, wait in ((EN, "You can try again in about 60 minutes."), (ZH, "大约 60 分钟后可以再试。")):
        response = page_pickup(client, token, info["code"], **headers)
        html = response.content.decode()
        assert response.status_code == 429
        retry_after = int(response["Retry-After"])
        assert 3590 <= retry_after <= 3600  # the window's remaining time (Redis counts it in whole seconds)
        assert f'data-retry-after="{retry_after}"' in html and wait in html
        assert 'class="pickup-button" disabled data-countdown>' in html


@override_settings(PAN_CODE_CLIENT_ALL_LIMIT=2, PAN_CODE_NETWORK_LIMIT=100, PAN_CODE_CLIENT_ALL_WINDOW=45)
def test_a_short_wait_is_said_in_seconds(share_as, dana):
    info = share_as(dana)
    client, token = browser()
    for _attempt in range(2):
        page_pickup(client, token, wrong_code(info))
    with time_machine.travel(timezone.now(), tick=False):
        response = page_pickup(client, token, wrong_code(info), **EN)
    assert response.status_code == 429
    seconds = int(response["Retry-After"])
    assert 0 < seconds <= 45
    assert f"You can try again in {seconds} second" in response.content.decode()


# --- Nothing counts as a download -------------------------------------------------


def test_pickup_counts_nothing_as_a_download(share_as, dana, api):
    # Not a text file: a page that shows a text in full counts like a download (pan/grants.py).
    info = share_as(dana, [("hello.bin", b"hello world")], max_downloads="1")
    for _attempt in range(3):
        assert pickup(api, info["code"]).status_code == 200
        assert pickup(api, info["share_url"]).status_code == 200
        client, token = browser()
        response = page_pickup(client, token, info["code"])
        assert client.get(response["Location"]).status_code == 200
    assert downloads_of(info) == 0
    # The one download is still there for whoever takes it.
    content = f"/api/shares/{info['id']}/items/{info['items'][0]['id']}/content"
    assert body_of(api.get(content, HTTP_X_SHARE_CODE=info["code"])) == b"hello world"
    assert downloads_of(info) == 1


def test_a_first_wave_six_character_code_opens_its_share_only_with_its_link(dana, api, settings):
    from io import BytesIO

    from pan.services import IncomingFile, share_create

    share = share_create(owner=dana, files=[IncomingFile(BytesIO(b"old"), "old.txt")])
    Share.objects.filter(pk=share.pk).update(code="ABCDEF")
    assert pickup(api, "abcdef").status_code == 400  # no code of today's length in it
    assert pickup(api, f"/f/{share.unique_name}/?code=abcdef").status_code == 200
    # Not even a guess: six-character codes on their own do not use up the allowance.
    for _attempt in range(settings.PAN_CODE_CLIENT_ALL_LIMIT + 1):
        assert pickup(api, "zzzzzz").status_code == 400


# --- What people paste (issue 19, item 2) -------------------------------------------


def spelled(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


PASTES = [
    lambda code, link: f"提取码: {spelled(code)}",
    lambda code, link: f"提取码：{spelled(code)}",
    lambda code, link: f"提取码 {spelled(code)}",
    lambda code, link: f"提取码：{code.lower()}",
    lambda code, link: f"code: {code.lower()}",
    lambda code, link: f"Hi! Here is the report, have fun: {spelled(code).lower()} (valid for a week)",
    lambda code, link: f"链接：{link} 提取码：{spelled(code)} 复制这段内容后打开",
    lambda code, link: f"{link}?code={code}".lower(),
    lambda code, link: f"{link}?CODE={spelled(code).lower()} see you",
    lambda code, link: f"ＡＢ{spelled(code)}"[2:],  # full-width dash and spaces come in through NFKC
]


@pytest.mark.parametrize("paste", PASTES)
def test_what_people_paste_opens_the_share(share_as, dana, api, paste):
    info = share_as(dana)
    link = f"http://testserver/f/{info['id']}/"
    answer = pickup(api, paste(info["code"], link))
    assert answer.status_code == 200, answer.content
    assert answer.json()["id"] == info["id"]


@pytest.mark.parametrize("paste", PASTES)
def test_the_home_box_takes_what_people_paste(share_as, dana, paste):
    info = share_as(dana)
    client, token = browser()
    opened = page_pickup(client, token, paste(info["code"], f"http://testserver/f/{info['id']}/"))
    assert opened.status_code == 302 and opened["Location"] == f"/f/{info['id']}/"
    page = client.get(opened["Location"])
    assert page.status_code == 200 and 'name="code"' not in page.content.decode()  # unlocked


@pytest.mark.parametrize(
    "text", ["hello", "提取码：", "see you tomorrow at the station", "https://example.com/x", "--"]
)
def test_a_paste_with_no_code_is_a_400_and_never_a_guess(share_as, dana, api, settings, text):
    info = share_as(dana)
    for _attempt in range(settings.PAN_CODE_CLIENT_ALL_LIMIT + 2):
        answer = pickup(api, text, **ZH)
        assert answer.status_code == 400
        assert error_of(answer)["code"] == "no_code" and "提取码" in error_of(answer)["message"]
    # Nothing was counted: the right code still opens at once.
    assert pickup(api, info["code"]).status_code == 200


def test_a_link_without_its_code_opens_the_code_prompt_and_counts_nothing(share_as, dana, api, settings):
    info = share_as(dana)
    link = f"http://testserver/f/{info['id']}/"
    client, token = browser()
    for _attempt in range(settings.PAN_CODE_CLIENT_LIMIT + 2):
        opened = page_pickup(client, token, link.upper().replace("HTTP://TESTSERVER", "http://testserver"))
        assert opened.status_code == 302 and opened["Location"] == f"/f/{info['id']}/"
    prompt = client.get(opened["Location"])
    assert 'name="code"' in prompt.content.decode()
    # A tool has no prompt: the API says no code was found, and counts nothing either.
    assert pickup(api, link).status_code == 400
    assert pickup(api, f"{link}?code={info['code']}").status_code == 200


def test_the_share_page_field_takes_a_pasted_code_too(share_as, dana):
    info = share_as(dana)
    client, token = browser()
    unlocked = client.post(
        f"/f/{info['id']}/", {"code": f"提取码：{spelled(info['code']).lower()}", "csrfmiddlewaretoken": token}
    )
    assert unlocked.status_code == 302
    assert 'name="code"' not in client.get(f"/f/{info['id']}/").content.decode()


def test_a_code_word_that_looks_like_a_code_is_not_taken_before_the_real_one():
    from pan.codes import pickup_parse
    from project.lib.secrets import code_find

    # "HAVE" and "THEM" are letters of the alphabet; the dashed form wins.
    assert code_find("have them: ABCD-2345") == "ABCD2345"
    assert code_find("ABCD2345") == "ABCD2345"
    assert code_find("abcd 2345") == "ABCD2345"
    assert code_find("zzzz-zzzz-zzzz") is None  # not a code: longer than one
    assert code_find("ABCD-2345X") is None
    assert pickup_parse("https://pan.example/f/AbC_dEf-123/?code=abcd-2345").code == "ABCD2345"
    assert pickup_parse("https://pan.example/f/AbC_dEf-123/").code is None
