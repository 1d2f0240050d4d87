"""The files API for owners and admins, Django admin, and the commands."""

from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from pan.models import SharedFile

from .conftest import body_of, post_upload

pytestmark = pytest.mark.django_db


def stored(unique_name: str) -> bool:
    return (Path(settings.MEDIA_ROOT) / "files" / unique_name).exists()


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
    # A member with `visit` sees the metadata without the code; changes are 404.
    member = api_as(bob).get(url).json()
    assert member["file_name"] == "hello.txt" and "share_code" not in member
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
    assert stored(info["unique_name"])
    with django_capture_on_commit_callbacks(execute=True):
        assert api_as(alice).delete(f"/api/files/{info['unique_name']}").status_code == 204
    assert SharedFile.objects.count() == 0
    assert not stored(info["unique_name"])
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
    out = StringIO()
    with time_machine.travel(timezone.now() + timedelta(minutes=5)), django_capture_on_commit_callbacks(execute=True):
        call_command("purge_expired", stdout=out)
    text = out.getvalue()
    assert "old.txt" in text and "used.txt" in text and "revoked.txt" not in text
    assert "2 file(s) removed." in text
    with time_machine.travel(timezone.now() + timedelta(days=8)), django_capture_on_commit_callbacks(execute=True):
        call_command("purge_expired", stdout=StringIO())
    assert list(SharedFile.objects.values_list("unique_name", flat=True)) == [keep["unique_name"]]
    for gone in (expired, used, revoked):
        assert not stored(gone["unique_name"])
    assert stored(keep["unique_name"])


def test_import_files_shares_files_from_disk(tmp_path, alice, api):
    first = tmp_path / "第一.txt"
    first.write_bytes(b"one" * 1000)
    second = tmp_path / "two.bin"
    second.write_bytes(b"\x00" * 70000)
    out = StringIO()
    call_command("import_files", "--user", "alice", str(first), str(second), stdout=out, stderr=StringIO())
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 2
    shared_file = SharedFile.objects.get(file_name="第一.txt")
    assert f"/f/{shared_file.unique_name}/?code={shared_file.share_code}" in lines[0]
    response = api.get(f"/api/files/{shared_file.unique_name}/content?code={shared_file.share_code}")
    assert body_of(response) == b"one" * 1000
    assert SharedFile.objects.get(file_name="two.bin").size == 70000


def test_import_files_refuses_unknown_users_and_missing_paths(tmp_path, alice):
    with pytest.raises(CommandError):
        call_command("import_files", "--user", "nobody", str(tmp_path), stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("import_files", "--user", "alice", str(tmp_path / "missing"), stdout=StringIO())
    assert SharedFile.objects.count() == 0


def test_import_over_the_limit_keeps_nothing(tmp_path, alice, settings):
    before = set((Path(settings.MEDIA_ROOT) / "files").glob("*"))
    settings.PAN_MAX_UPLOAD_SIZE = 100
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 101)
    with pytest.raises(CommandError):
        call_command("import_files", "--user", "alice", str(big), stdout=StringIO(), stderr=StringIO())
    assert SharedFile.objects.count() == 0
    assert set((Path(settings.MEDIA_ROOT) / "files").glob("*")) == before


def test_admin_lists_searches_and_acts(alice, shared, django_capture_on_commit_callbacks):
    first = shared(filename="季度.xlsx")
    second = shared(filename="other.txt")
    admin = Client()
    admin.force_login(alice)
    listing = admin.get("/admin/pan/sharedfile/?q=季度")
    assert listing.status_code == 200
    assert "季度.xlsx" in listing.content.decode() and "other.txt" not in listing.content.decode()
    assert admin.get("/admin/pan/sharedfile/?state=active").status_code == 200
    ids = list(SharedFile.objects.values_list("pk", flat=True))
    admin.post("/admin/pan/sharedfile/", {"action": "regenerate_code", "_selected_action": ids})
    assert SharedFile.objects.get(unique_name=first["unique_name"]).share_code != first["share_code"]
    admin.post("/admin/pan/sharedfile/", {"action": "revoke", "_selected_action": ids})
    assert all(f.revoked for f in SharedFile.objects.all())
    pk = SharedFile.objects.get(unique_name=second["unique_name"]).pk
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/admin/pan/sharedfile/{pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not stored(second["unique_name"])
    with django_capture_on_commit_callbacks(execute=True):
        admin.post("/admin/pan/sharedfile/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"})
    assert SharedFile.objects.count() == 0
    assert not stored(first["unique_name"])


def test_admin_is_for_admins_only(bob, shared):
    shared()
    member = Client()
    member.force_login(bob)
    assert member.get("/admin/pan/sharedfile/").status_code == 302


def test_deleting_a_user_removes_their_files_bytes(make_user, api_as, django_capture_on_commit_callbacks):
    dave = make_user("dave", roles=["admin"])
    info = post_upload(api_as(dave), filename="d.txt").json()
    assert stored(info["unique_name"])
    with django_capture_on_commit_callbacks(execute=True):
        dave.delete()
    assert not SharedFile.objects.exists()
    assert not stored(info["unique_name"])
