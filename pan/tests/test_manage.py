"""The one-file API paths for owners and admins, and the commands."""

from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from pan.models import Item, Share

from .conftest import body_of, post_upload

pytestmark = pytest.mark.django_db


def storage_keys(info: dict) -> list[str]:
    return list(Item.objects.filter(share__unique_name=info["unique_name"]).values_list("storage_key", flat=True))


def stored(keys: list[str]) -> bool:
    """Are all these objects in storage (and is there at least one)?"""
    return bool(keys) and all((Path(settings.MEDIA_ROOT) / key).exists() for key in keys)


def none_stored(keys: list[str]) -> bool:
    return bool(keys) and not any((Path(settings.MEDIA_ROOT) / key).exists() for key in keys)


def test_listing_shows_own_files_and_everything_for_manage(api_as, alice, make_user, shared):
    dave = make_user("dave", roles=["admin"])
    alices = shared(filename="a.txt")
    daves_client = api_as(dave)
    daves = post_upload(daves_client, filename="d.txt").json()
    bob_view = api_as(make_user("erin"))
    assert bob_view.get("/api/files").json()["count"] == 0
    listing = api_as(alice).get("/api/files").json()
    assert {row["unique_name"] for row in listing["results"]} == {alices["unique_name"], daves["unique_name"]}
    assert all("share_code" in row for row in listing["results"])


def test_listing_paginates(api_as, alice, shared):
    for number in range(25):
        shared(filename=f"{number}.txt")
    first = api_as(alice).get("/api/files").json()
    assert first["count"] == 25 and len(first["results"]) == 20 and first["next"]
    assert len(api_as(alice).get(first["next"]).json()["results"]) == 5


def test_permission_matrix_for_one_file(api, api_as, alice, bob, charlie, make_user, shared):
    info = shared()
    url = f"/api/files/{info['unique_name']}"
    # Anonymous: 401 everywhere but the content endpoint.
    assert api.get(url).status_code == 401
    assert api.delete(url).status_code == 401
    # A member with `visit` sees that it exists, nothing it holds, before the code (SPEC §4.3); changes are 404.
    member = api_as(bob).get(url).json()
    assert member["locked"] is True and "file_name" not in member and "share_code" not in member
    unlocked = api_as(bob).get(url, HTTP_X_SHARE_CODE=info["share_code"]).json()
    assert unlocked["file_name"] == "hello.txt" and "share_code" not in unlocked
    assert api_as(bob).delete(url).status_code == 404
    assert api_as(bob).post(f"{url}/code").status_code == 404
    assert api_as(bob).post(f"{url}/revoke").status_code == 404
    # A stranger without roles: as if the file did not exist.
    assert api_as(charlie).get(url).status_code == 404
    # The owner sees the code and may change it.
    owner = api_as(alice).get(url).json()
    assert owner["share_code"] == info["share_code"]
    # Another admin (manage) may too.
    other_admin = api_as(make_user("frank", roles=["admin"]))
    assert other_admin.get(url).json()["share_code"] == info["share_code"]
    assert other_admin.post(f"{url}/revoke").json()["state"] == "revoked"


def test_regenerating_a_code_retires_the_old_one(api, api_as, alice, shared):
    info = shared()
    new = api_as(alice).post(f"/api/files/{info['unique_name']}/code").json()
    assert new["share_code"] != info["share_code"]
    content = f"/api/files/{info['unique_name']}/content"
    assert api.get(content, HTTP_X_SHARE_CODE=info["share_code"]).status_code == 403
    assert api.get(content, HTTP_X_SHARE_CODE=new["share_code"]).status_code == 200


def test_delete_removes_row_and_bytes(api_as, alice, shared, django_capture_on_commit_callbacks):
    info = shared()
    keys = storage_keys(info)
    assert stored(keys)
    with django_capture_on_commit_callbacks(execute=True):
        assert api_as(alice).delete(f"/api/files/{info['unique_name']}").status_code == 204
    assert Share.objects.count() == 0 and Item.objects.count() == 0
    assert none_stored(keys)
    assert api_as(alice).delete(f"/api/files/{info['unique_name']}").status_code == 404


def test_purge_removes_expired_used_up_and_long_revoked_files(
    api, api_as, alice, shared, django_capture_on_commit_callbacks
):
    keep = shared(filename="keep.txt", expires_in="0")
    expired = shared(filename="old.txt", expires_in="60")
    used = shared(filename="used.txt", max_downloads="1")
    body_of(api.get(f"/api/files/{used['unique_name']}/content?code={used['share_code']}"))
    revoked = shared(filename="revoked.txt", expires_in="0")
    api_as(alice).post(f"/api/files/{revoked['unique_name']}/revoke")
    keys = {info["unique_name"]: storage_keys(info) for info in (keep, expired, used, revoked)}
    out = StringIO()
    with time_machine.travel(timezone.now() + timedelta(minutes=5)), django_capture_on_commit_callbacks(execute=True):
        call_command("purge_expired", stdout=out)
    text = out.getvalue()
    assert "old.txt" in text and "used.txt" in text and "revoked.txt" not in text
    assert "2 share(s) and 0 leftover(s) removed." in text
    with time_machine.travel(timezone.now() + timedelta(days=8)), django_capture_on_commit_callbacks(execute=True):
        call_command("purge_expired", stdout=StringIO())
    assert list(Share.objects.values_list("unique_name", flat=True)) == [keep["unique_name"]]
    for gone in (expired, used, revoked):
        assert none_stored(keys[gone["unique_name"]])
    assert stored(keys[keep["unique_name"]])


def test_import_files_shares_files_and_folders_from_disk_as_one_share(tmp_path, alice, api):
    first = tmp_path / "第一.txt"
    first.write_bytes(b"one" * 1000)
    folder = tmp_path / "photos"
    (folder / "2024").mkdir(parents=True)
    (folder / "2024" / "a.bin").write_bytes(b"\x00" * 70000)
    out = StringIO()
    call_command("import_files", "--user", "alice", str(first), str(folder), stdout=out, stderr=StringIO())
    share = Share.objects.get()
    assert sorted(share.items.values_list("path", "size")) == [("photos/2024/a.bin", 70000), ("第一.txt", 3000)]
    assert f"/f/{share.unique_name}/?code={share.code}" in out.getvalue()
    item = share.items.get(path="第一.txt")
    response = api.get(f"/api/shares/{share.unique_name}/items/{item.pk}/content?code={share.code}")
    assert body_of(response) == b"one" * 1000


def test_import_files_refuses_unknown_users_and_missing_paths(tmp_path, alice):
    with pytest.raises(CommandError):
        call_command("import_files", "--user", "nobody", str(tmp_path), stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("import_files", "--user", "alice", str(tmp_path / "missing"), stdout=StringIO())
    assert Share.objects.count() == 0


def test_import_over_the_limit_keeps_nothing(tmp_path, alice, settings):
    before = set(Path(settings.MEDIA_ROOT).rglob("*"))
    settings.PAN_MAX_UPLOAD_SIZE = 100
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 101)
    with pytest.raises(CommandError):
        call_command("import_files", "--user", "alice", str(big), stdout=StringIO(), stderr=StringIO())
    assert Share.objects.count() == 0
    assert set(Path(settings.MEDIA_ROOT).rglob("*")) == before


def test_deleting_a_user_removes_their_files_bytes(make_user, api_as, django_capture_on_commit_callbacks):
    dave = make_user("dave", roles=["admin"])
    info = post_upload(api_as(dave), filename="d.txt").json()
    keys = storage_keys(info)
    assert stored(keys)
    with django_capture_on_commit_callbacks(execute=True):
        dave.delete()
    assert not Share.objects.exists()
    assert none_stored(keys)
