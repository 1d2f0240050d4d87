"""File names people cannot see and zips every extractor can unpack (issue 27:
G10, G11). Invisible characters — Unicode's Default_Ignorable_Code_Point —
are removed from every name that comes in; a name made only of them is
refused. A zip never holds a file where another entry needs a folder, nor
two names that differ only in case. Resumable uploads: uploads/tests/test_tus_protocol.py."""

import io
import zipfile
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from pan.models import Share

from .conftest import body_of, multipart_files, post_share, post_upload

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}

# Zero-width space, variation selector 16, soft hyphen, Hangul filler (the
# Kutt PR #928 payload): each draws nothing, so "report.pdf" and
# "re<invisible>port.pdf" look the same in a list.
INVISIBLE = {"U+200B": "\u200b", "U+FE0F": "\ufe0f", "U+00AD": "\u00ad", "U+3164": "\u3164"}


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize("ch", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_invisible_characters_are_removed_from_share_paths(share_as, dana, api, ch):
    info = share_as(dana, [(f"ph{ch}otos/re{ch}port.pdf", b"1"), (f"no{ch}tes.txt", b"2")])
    assert [(i["path"], i["name"]) for i in info["items"]] == [
        ("photos/report.pdf", "report.pdf"),
        ("notes.txt", "notes.txt"),
    ]
    archive = api.get(f"/api/shares/{info['id']}/zip", HTTP_X_SHARE_CODE=info["code"])
    assert zipfile.ZipFile(io.BytesIO(body_of(archive))).namelist() == ["photos/report.pdf", "notes.txt"]


@pytest.mark.parametrize("ch", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_invisible_characters_are_removed_from_one_file_uploads(uploader, ch):
    response = post_upload(uploader, filename=f"re{ch}port.pdf")
    assert response.status_code == 201, response.content
    assert response.json()["file_name"] == "report.pdf"


@pytest.mark.parametrize("ch", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_invisible_characters_are_removed_from_dropped_files(api_as, dana, ch):
    request = api_as(dana).post("/api/requests", {"title": "Papers"}, format="json").json()
    body, ctype = multipart_files([(f"scans{ch}/in{ch}voice.pdf", b"%PDF")])
    response = APIClient().generic("POST", f"/api/requests/{request['code'].replace('-', '')}/drops", body, ctype)
    assert response.status_code == 201, response.content
    assert [f["path"] for f in response.json()["files"]] == ["scans/invoice.pdf"]


def test_an_emoji_keeps_its_picture_without_the_selector(share_as, dana):
    info = share_as(dana, [("\u2764\ufe0f love.png", b"1")])
    assert info["items"][0]["name"] == "\u2764 love.png"


@pytest.mark.parametrize(
    "path",
    ["\u200b", "\u3164\u3164", "a/\u200b\u00ad/b.txt", "\ufe0f/b.txt"],
    ids=["zwsp", "fillers", "folder of soft hyphen and zwsp", "folder of a selector"],
)
def test_a_name_made_only_of_invisible_characters_is_refused_in_both_languages(api_as, dana, path):
    messages = []
    for headers in (EN, ZH):
        response = post_share(api_as(dana), [("fine.txt", b"ok"), (path, b"x")], headers=headers)
        assert response.status_code == 400, response.content
        messages += response.json()["error"]["fields"]["file"]
    assert messages[0] == "A file or folder name is made only of invisible characters."
    assert _is_chinese(messages[1]), messages
    assert not Share.objects.exists()


def test_a_one_file_upload_named_only_invisibly_is_refused(uploader):
    response = post_upload(uploader, filename="\u200b\u3164", headers=ZH)
    assert response.status_code == 400
    assert _is_chinese(response.json()["error"]["fields"]["file"][0])
    assert not Share.objects.exists()


def test_dot_dot_behind_an_invisible_character_is_still_refused(api_as, dana):
    response = post_share(api_as(dana), [("a/\u200b../b.txt", b"x")], headers=EN)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["file"] == ["File paths may not contain “..”."]


def test_direction_overrides_are_still_refused_not_removed(api_as, dana):
    response = post_share(api_as(dana), [("evil\u202etxt.exe", b"x")], headers=EN)
    assert response.status_code == 400
    assert not Share.objects.exists()


# --- Zips every extractor can unpack (G11) -------------------------------------


def _extract(body: bytes, into: Path) -> dict[str, bytes]:
    zipfile.ZipFile(io.BytesIO(body)).extractall(into)
    return {str(p.relative_to(into)): p.read_bytes() for p in sorted(into.rglob("*")) if p.is_file()}


def test_a_file_and_a_folder_of_one_name_both_come_out_of_the_zip(share_as, dana, api, tmp_path):
    info = share_as(dana, [("dir", b"the file"), ("dir/x", b"in the folder"), ("Dir/y", b"other case")])
    # The share keeps the names as uploaded; only the archive renames.
    assert [i["path"] for i in info["items"]] == ["dir", "dir/x", "Dir/y"]
    archive = api.get(f"/api/shares/{info['id']}/zip", HTTP_X_SHARE_CODE=info["code"])
    assert archive.status_code == 200
    files = _extract(body_of(archive), tmp_path)
    assert files == {"dir (2)": b"the file", "dir/x": b"in the folder", "Dir/y": b"other case"}


def test_names_that_differ_only_in_case_are_numbered_in_the_zip(share_as, dana, api, tmp_path):
    info = share_as(dana, [("A.txt", b"upper"), ("a.txt", b"lower"), ("a (2).txt", b"taken")])
    assert [i["path"] for i in info["items"]] == ["A.txt", "a.txt", "a (2).txt"]
    archive = api.get(f"/api/shares/{info['id']}/zip", HTTP_X_SHARE_CODE=info["code"])
    names = zipfile.ZipFile(io.BytesIO(body_of(archive))).namelist()
    assert names == ["A.txt", "a (3).txt", "a (2).txt"]
    assert len({name.casefold() for name in names}) == 3


def test_the_zip_is_offered_under_its_title_without_hidden_characters(share_as, dana, api):
    from urllib.parse import unquote

    info = share_as(dana, [("a.txt", b"1")], title="Tax\u200b 2026/\u202efdp.exe")
    archive = api.get(f"/api/shares/{info['id']}/zip", HTTP_X_SHARE_CODE=info["code"])
    assert archive.status_code == 200
    offered = unquote(archive["Content-Disposition"].split("filename*=UTF-8''", 1)[1])
    assert offered == "Tax 2026_fdp.exe.zip"
