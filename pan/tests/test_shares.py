"""The shares API: several items, folder paths, filling later, editing,
codes, revoke and restore, zips, bad input, and who may do what."""

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from pan.models import Item, Share

from .conftest import body_of, post_share

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
FILES = [("photos/2024/a.jpg", b"\xff\xd8jpeg-ish"), ("notes.txt", b"some notes"), ("报告.txt", "中文内容".encode())]


def stored_objects() -> set[Path]:
    """Stored bytes and temporary upload files alike."""
    return {p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()}


@pytest.fixture(autouse=True)
def _empty_media():
    for path in stored_objects():
        path.unlink()


def item_url(info, item, code=None) -> str:
    url = f"/api/shares/{info['id']}/items/{item['id']}/content"
    return url + (f"?code={code}" if code else "")


def test_a_share_of_several_files_keeps_folder_paths_and_round_trips(share_as, dana, api):
    info = share_as(dana, FILES, title="Trip", message="For you", max_downloads="5")
    assert info["title"] == "Trip" and info["message"] == "For you"
    assert len(info["code"]) == 8 and info["code_display"] == f"{info['code'][:4]}-{info['code'][4:]}"
    assert info["url"].endswith(f"/f/{info['id']}/") and info["state"] == "active"
    assert [(i["path"], i["name"]) for i in info["items"]] == [
        ("photos/2024/a.jpg", "a.jpg"),
        ("notes.txt", "notes.txt"),
        ("报告.txt", "报告.txt"),
    ]
    assert info["total_size"] == sum(len(data) for _name, data in FILES)
    for item, (_name, data) in zip(info["items"], FILES, strict=True):
        assert item["sha256"] == hashlib.sha256(data).hexdigest() and item["size"] == len(data)
        response = api.get(item_url(info, item), HTTP_X_SHARE_CODE=info["code_display"].lower())
        assert response.status_code == 200 and body_of(response) == data


def test_two_items_with_one_path_are_renamed_never_overwritten(share_as, dana):
    info = share_as(dana, [("a.txt", b"1"), ("a.txt", b"2"), ("d/a.txt", b"3"), ("a.txt", b"4")])
    assert [i["path"] for i in info["items"]] == ["a.txt", "a (2).txt", "d/a.txt", "a (3).txt"]
    assert len(stored_objects()) >= 4


@pytest.mark.parametrize(
    "path",
    [
        "../etc/passwd",
        "a/../../b.txt",
        "/etc/passwd",
        "C:/x/y.txt",
        "a\\b.txt",
        "a\x01b.txt",
        "a\u202eb.txt",
        "x" * 256 + "/a.txt",
        "/".join(["abcdefghij"] * 100),
    ],
    ids=["dotdot", "nested dotdot", "absolute", "drive", "backslash", "control", "bidi", "segment", "total"],
)
def test_bad_folder_paths_are_400_in_both_languages_and_nothing_is_kept(share_as, dana, api_as, path):
    before = stored_objects()
    response = post_share(api_as(dana), [("fine.txt", b"ok"), (path, b"bad")], headers=ZH)
    assert response.status_code == 400
    error = response.json()["error"]
    # A path over 1 024 bytes does not fit Django's limit on a part's headers: malformed.
    message = error["message"] if error["code"] == "malformed_upload" else error["fields"]["file"][0]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message
    assert Share.objects.count() == 0 and stored_objects() == before


def test_an_empty_share_is_400(api_as, dana):
    response = post_share(api_as(dana), [], title="nothing", headers=EN)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["file"] == ["Choose a file to upload."]


@override_settings(PAN_MAX_SHARE_ITEMS=3)
def test_more_items_than_allowed_is_413_and_nothing_is_kept(api_as, dana):
    response = post_share(api_as(dana), [(f"{n}.txt", b"x") for n in range(4)], headers=EN)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_many_items"
    assert "3" in response.json()["error"]["message"]
    assert Share.objects.count() == 0 and stored_objects() == set()


@override_settings(PAN_MAX_SHARE_SIZE=100)
def test_files_together_over_the_share_limit_are_413_and_nothing_is_kept(api_as, dana):
    response = post_share(api_as(dana), [("a", b"x" * 60), ("b", b"y" * 60)])
    assert response.status_code == 413 and response.json()["error"]["code"] == "share_too_large"
    assert Share.objects.count() == 0 and stored_objects() == set()


@override_settings(PAN_MAX_UPLOAD_SIZE=50)
def test_one_file_over_the_file_limit_fails_the_whole_share(api_as, dana):
    response = post_share(api_as(dana), [("a", b"x" * 10), ("b", b"y" * 51)])
    assert response.status_code == 413 and response.json()["error"]["code"] == "file_too_large"
    assert Share.objects.count() == 0 and stored_objects() == set()


def test_parts_named_file_that_are_not_files_are_refused(api_as, dana):
    # `curl -F file=a.txt` (no @) sends a plain field: refused, not silently dropped (the schema says binary).
    client = api_as(dana)
    response = post_share(client, [("a.txt", b"a")], file="not a file part")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"file"}
    assert client.get("/api/shares").json()["count"] == 0


def test_a_share_created_first_is_still_uploading_until_completed(api_as, api, dana):
    owner = api_as(dana)
    created = post_share(owner, [], uploading="true", title="Later").json()
    assert created["state"] == "uploading" and created["items"] == [] and created["code"]
    url = f"/api/shares/{created['id']}"
    waiting = api.get(f"{url}/zip", HTTP_X_SHARE_CODE=created["code"], **EN)
    assert waiting.status_code == 409 and waiting.json()["error"]["code"] == "share_uploading"
    first = post_share(owner, [("one.txt", b"1")], path=f"{url}/items")
    assert first.status_code == 201 and first.json()["state"] == "uploading"
    last = post_share(owner, [("one.txt", b"2")], path=f"{url}/items", complete="true").json()
    assert last["state"] == "active" and [i["path"] for i in last["items"]] == ["one.txt", "one (2).txt"]
    assert post_share(owner, [("x", b"x")], path=f"{url}/items").status_code == 409
    archive = api.get(f"{url}/zip", HTTP_X_SHARE_CODE=created["code"])
    assert archive.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(body_of(archive))).namelist() == ["one.txt", "one (2).txt"]


def test_an_empty_open_share_cannot_be_completed(api_as, dana):
    created = post_share(api_as(dana), [], uploading="true").json()
    response = api_as(dana).patch(f"/api/shares/{created['id']}", {"complete": True}, format="json")
    assert response.status_code == 400


def test_patch_edits_what_is_editable_and_refuses_the_rest(api_as, share_as, dana):
    info = share_as(dana, max_downloads="2")
    owner = api_as(dana)
    url = f"/api/shares/{info['id']}"
    changed = owner.patch(url, {"title": "New", "message": "Hi", "max_downloads": 9, "expires_in": 0}, format="json")
    assert changed.status_code == 200, changed.content
    data = changed.json()
    assert (data["title"], data["message"], data["max_downloads"], data["expires_at"]) == ("New", "Hi", 9, None)
    assert owner.patch(url, {"max_downloads": None}, format="json").json()["max_downloads"] is None
    for bad in ({"code": "AAAA2222"}, {"download_count": 0}, {"owner": "bob"}, {"max_downloads": 0}):
        response = owner.patch(url, bad, format="json")
        assert response.status_code == 400, bad
    for bad_number in (-1, "many", 10**12):
        assert owner.patch(url, {"max_downloads": bad_number}, format="json").status_code == 400
    assert owner.patch(url, ["not", "an", "object"], format="json").status_code == 400
    share = Share.objects.get()
    assert (share.title, share.max_downloads, share.download_count) == ("New", None, 0)


def test_revoke_then_restore_brings_the_same_code_back(api_as, api, share_as, dana):
    info = share_as(dana)
    item = info["items"][0]
    owner = api_as(dana)
    assert owner.post(f"/api/shares/{info['id']}/revoke").json()["state"] == "revoked"
    gone = api.get(item_url(info, item, info["code"]))
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "file_revoked"
    restored = owner.post(f"/api/shares/{info['id']}/restore").json()
    assert restored["state"] == "active" and restored["code"] == info["code"]
    assert api.get(item_url(info, item, info["code"])).status_code == 200


def test_a_new_code_kills_the_old_one_at_once(api_as, api, share_as, dana):
    info = share_as(dana)
    new = api_as(dana).post(f"/api/shares/{info['id']}/code").json()
    assert new["code"] != info["code"] and len(new["code"]) == 8
    assert api.get(item_url(info, info["items"][0], info["code"])).status_code == 403
    assert api.get(item_url(info, info["items"][0], new["code"])).status_code == 200


@pytest.mark.parametrize("typed", ["{c}", "{lower}", "{dashed}", " {dashed_lower} ", "{fullwidth}"])
def test_codes_are_accepted_with_or_without_the_dash_in_any_case(share_as, dana, api, typed):
    info = share_as(dana)
    code = info["code"]
    fullwidth = "".join(chr(ord(ch) + 0xFEE0) for ch in info["code_display"].replace("-", "")).lower()
    text = typed.format(
        c=code,
        lower=code.lower(),
        dashed=info["code_display"],
        dashed_lower=info["code_display"].lower(),
        fullwidth=fullwidth,
    )
    response = api.get(item_url(info, info["items"][0]), HTTP_X_SHARE_CODE=text)
    assert response.status_code == 200


def test_zip_of_all_or_some_items_keeps_paths_and_bytes(share_as, dana, api):
    info = share_as(dana, FILES)
    whole = api.get(f"/api/shares/{info['id']}/zip", HTTP_X_SHARE_CODE=info["code"])
    assert whole.status_code == 200 and whole["Content-Type"] == "application/zip"
    body = body_of(whole)
    assert whole["Content-Length"] == str(len(body))
    assert whole["Content-Disposition"].startswith("attachment;")
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.namelist() == [name for name, _data in FILES]
    for name, data in FILES:
        assert archive.read(name) == data
        assert archive.getinfo(name).compress_type == zipfile.ZIP_STORED
    assert archive.getinfo("报告.txt").flag_bits & 0x800  # UTF-8 name
    picked_ids = f"{info['items'][0]['id']},{info['items'][2]['id']}"
    picked = api.get(f"/api/shares/{info['id']}/zip?items={picked_ids}", HTTP_X_SHARE_CODE=info["code"])
    assert zipfile.ZipFile(io.BytesIO(body_of(picked))).namelist() == ["photos/2024/a.jpg", "报告.txt"]
    head = api.head(f"/api/shares/{info['id']}/zip", HTTP_X_SHARE_CODE=info["code"])
    assert head.status_code == 200 and head["Content-Length"] == str(len(body))


def test_items_of_another_share_or_garbage_are_refused(share_as, dana, api):
    info = share_as(dana, FILES)
    other = share_as(dana, [("x.txt", b"x")])
    url = f"/api/shares/{info['id']}/zip?items="
    headers = {"HTTP_X_SHARE_CODE": info["code"], **EN}
    assert api.get(url + str(other["items"][0]["id"]), **headers).status_code == 404
    for garbage in ("abc", "1;2", ",,,", "1.5", "9" * 40):
        response = api.get(url + garbage, **headers)
        assert response.status_code in (400, 404), garbage
        assert response.json()["error"]["code"] in ("invalid", "item_not_found")
    foreign = f"/api/shares/{info['id']}/items/{other['items'][0]['id']}/content"
    assert api.get(foreign, **headers).status_code == 404


def test_a_missing_stored_object_answers_410_and_marks_the_share_broken(share_as, dana, api, api_as):
    info = share_as(dana, FILES)
    item = Item.objects.get(pk=info["items"][1]["id"])
    (Path(settings.MEDIA_ROOT) / item.storage_key).unlink()
    response = api.get(item_url(info, info["items"][1], info["code"]), **EN)
    assert response.status_code == 410 and response.json()["error"]["code"] == "item_missing"
    archive = api.get(f"/api/shares/{info['id']}/zip", HTTP_X_SHARE_CODE=info["code"])
    assert archive.status_code == 410
    assert api_as(dana).get(f"/api/shares/{info['id']}").json()["broken"] is True
    # The other items still download, and the failures counted nothing.
    assert Share.objects.get().download_count == 0
    fine = api.get(item_url(info, info["items"][0], info["code"]))
    assert fine.status_code == 200 and body_of(fine) == FILES[0][1]
    assert Share.objects.get().download_count == 1


def test_the_one_file_paths_still_work_for_a_share_of_one(share_as, dana, api, api_as):
    info = share_as(dana, [("only.bin", b"\x00\x01")])
    legacy = api_as(dana).get(f"/api/files/{info['id']}").json()
    assert legacy["unique_name"] == info["id"] and legacy["share_code"] == info["code"]
    assert legacy["file_name"] == "only.bin" and len(legacy["items"]) == 1
    response = api.get(f"/api/files/{info['id']}/content", HTTP_X_SHARE_CODE=info["code"])
    assert body_of(response) == b"\x00\x01"


# --- Who may do what: dana (owner, not a manager), alice (manager), bob
# (member), charlie (no roles), anonymous --------------------------------------


def test_every_owner_rule_holds_for_an_owner_who_is_not_a_manager(share_as, api, api_as, dana, alice, bob, charlie):
    info = share_as(dana, FILES)
    url = f"/api/shares/{info['id']}"
    owner, manager, member, stranger = api_as(dana), api_as(alice), api_as(bob), api_as(charlie)
    # Seeing the code
    assert owner.get(url).json()["code"] == info["code"]
    assert manager.get(url).json()["code"] == info["code"]
    assert "code" not in member.get(url).json()
    assert stranger.get(url).status_code == 404
    assert api.get(url).status_code == 401
    # Listing
    assert [s["id"] for s in owner.get("/api/shares").json()["results"]] == [info["id"]]
    assert [s["id"] for s in manager.get("/api/shares").json()["results"]] == [info["id"]]
    assert member.get("/api/shares").json()["count"] == 0
    # Changing: the owner and a manager may, others get 404 (nothing to enumerate)
    for client, allowed in ((member, False), (stranger, False), (owner, True), (manager, True)):
        for action in ("code", "revoke", "restore"):
            status = client.post(f"{url}/{action}").status_code
            assert status == (200 if allowed else 404), (client, action, status)
        patch = client.patch(url, {"title": "x"}, format="json").status_code
        assert patch == (200 if allowed else 404)
        items = post_share(client, [("more.txt", b"m")], path=f"{url}/items").status_code
        # Adding items needs `upload` first (403), then ownership (a closed share: 409).
        assert items == (409 if allowed else 403)
    code = Share.objects.get().code
    # Downloading: the owner and a manager need no code; the others do
    item = info["items"][0]
    assert owner.get(item_url(info, item)).status_code == 200
    assert manager.get(item_url(info, item)).status_code == 200
    for client in (member, stranger, api):
        assert client.get(item_url(info, item)).status_code == 403
        assert client.get(item_url(info, item, code)).status_code == 200
    # Deleting
    assert member.delete(url).status_code == 404
    assert stranger.delete(url).status_code == 404
    assert owner.delete(url).status_code == 204


def test_a_share_of_someone_else_is_404_for_an_uploader(share_as, api_as, dana, make_user):
    info = share_as(dana)
    erin = api_as(make_user("erin", roles=["uploaders"]))
    url = f"/api/shares/{info['id']}"
    assert erin.get(url).status_code == 404
    assert erin.delete(url).status_code == 404
    assert erin.patch(url, {"title": "x"}, format="json").status_code == 404
    assert post_share(erin, [("x", b"x")], path=f"{url}/items").status_code == 404
    assert erin.get("/api/shares").json()["count"] == 0


def test_uploading_needs_the_upload_permission(api, api_as, dana, bob, charlie):
    assert post_share(api, FILES).status_code == 401
    assert post_share(api_as(bob), FILES).status_code == 403
    assert post_share(api_as(charlie), FILES).status_code == 403
    assert post_share(api_as(dana), FILES).status_code == 201


def test_restoring_a_share_whose_code_a_live_share_took_meanwhile_gives_it_a_new_code(share_as, dana, api_as):
    first = share_as(dana)
    owner = api_as(dana)
    owner.post(f"/api/shares/{first['id']}/revoke")
    second = share_as(dana)
    Share.objects.filter(unique_name=second["id"]).update(code=first["code"])
    restored = owner.post(f"/api/shares/{first['id']}/restore").json()
    assert restored["state"] == "active" and restored["code"] != first["code"]
    assert Share.objects.filter(code=first["code"], revoked_at__isnull=True).count() == 1


def test_a_share_may_hold_more_files_than_djangos_default_of_100_parts(share_as, dana):
    info = share_as(dana, [(f"n/{number}.txt", str(number).encode()) for number in range(150)])
    assert len(info["items"]) == 150
