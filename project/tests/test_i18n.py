import gettext
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}


def test_the_same_login_error_in_both_languages(api, bob):
    body = {"username": "bob", "password": "wrong"}
    english = api.post("/api/login", body, format="json", **EN).json()["error"]["message"]
    chinese = api.post("/api/login", body, format="json", **ZH).json()["error"]["message"]
    assert english == "The username or password is not correct."
    assert chinese == "用户名或密码不正确。"


def test_validation_errors_in_both_languages(api):
    body = {"username": "a b", "password": "83749201573"}
    english = api.post("/api/register", body, format="json", **EN).json()["error"]
    chinese = api.post("/api/register", body, format="json", **ZH).json()["error"]
    assert english["message"] == "Some fields are not valid."
    assert chinese["message"] == "部分字段无效。"
    assert "letters, digits" in english["fields"]["username"][0]
    assert "字母" in chinese["fields"]["username"][0]
    # Django's own validator messages come translated too.
    assert "This password is entirely numeric." in english["fields"]["password"]
    assert any("数字" in message for message in chinese["fields"]["password"])


def test_token_errors_in_both_languages(api):
    english = api.get("/api/me", HTTP_AUTHORIZATION="Bearer nope", **EN).json()["error"]["message"]
    chinese = api.get("/api/me", HTTP_AUTHORIZATION="Bearer nope", **ZH).json()["error"]["message"]
    assert english != chinese
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese)


def test_pages_follow_accept_language():
    assert "Log in" in Client().get("/login/", **EN).content.decode()
    assert "登录" in Client().get("/login/", **ZH).content.decode()


def test_the_language_switch_changes_the_page_language():
    client = Client()
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"}, **EN)
    assert response.status_code == 302
    page = client.get("/login/", **EN).content.decode()
    assert '<html lang="zh-hans">' in page
    assert "登录" in page


def test_404_page_in_both_languages():
    assert "There is nothing at this address." in Client().get("/no/such/page/", **EN).content.decode()
    assert "这个地址没有内容。" in Client().get("/no/such/page/", **ZH).content.decode()


def test_every_message_is_translated_and_the_compiled_catalog_is_current():
    po_path = Path(settings.BASE_DIR) / "locale/zh_Hans/LC_MESSAGES/django.po"
    catalog = polib.pofile(str(po_path))
    untranslated = [entry.msgid for entry in catalog if not entry.translated() and not entry.obsolete]
    assert untranslated == []
    with open(po_path.with_suffix(".mo"), "rb") as compiled:
        mo = gettext.GNUTranslations(compiled)
    for entry in catalog.translated_entries():
        if entry.msgid_plural or entry.msgctxt:
            continue
        assert mo.gettext(entry.msgid) == entry.msgstr, f"stale .mo for {entry.msgid!r}: run make messages"
