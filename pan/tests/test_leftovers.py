"""What a killed upload leaves behind, and `upload_leftovers_purge` removing it.

Through real storage: the local file system, and S3 both on moto's server
and on SeaweedFS, a real object store (`object_store`).
"""

import contextlib
import os
import secrets
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from botocore.config import Config
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.utils import timezone

from pan import leftovers
from pan.leftovers import upload_leftovers_purge
from pan.models import Item, Share
from project.testing import refusing_port, wait_until

pytestmark = pytest.mark.django_db

AGE = 24 * 3600
OLD = 2 * AGE
FRESH = 3600


@pytest.fixture
def spool(tmp_path, settings):
    """Pan's own FILE_UPLOAD_TEMP_DIR, empty, and the leftover age known to the test."""
    path = tmp_path / "upload-tmp"
    path.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(path)
    settings.PAN_UPLOAD_LEFTOVER_AGE = AGE
    return path


@pytest.fixture
def local_storage(spool, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    return default_storage


def s3_options(endpoint_url: str, bucket: str, **extra) -> dict:
    """Options for a storage nobody answers (no key is ever checked there)."""
    return {
        "bucket_name": bucket,
        "endpoint_url": endpoint_url,
        "access_key": "testing",
        "secret_key": "testing",
        "region_name": "us-east-1",
        "addressing_style": "path",
        "default_acl": None,
        "file_overwrite": False,
        **extra,
    }


def use_s3(settings, options: dict) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options},
    }


@pytest.fixture
def bucket(object_store):
    name = f"pan-{secrets.token_hex(4)}"
    object_store.create_bucket(name)
    return name


@pytest.fixture
def s3(object_store):
    """A boto3 client of its own, to look at the bucket behind Pan's back."""
    return object_store.client()


def make_old(path, seconds: int) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def referenced_by_an_item(make_user, *keys: str) -> None:
    share = Share.objects.create(owner=make_user(f"dana-{secrets.token_hex(3)}"), title="kept")
    for number, key in enumerate(keys):
        Item.objects.create(
            share=share, name=f"f{number}.bin", path=f"f{number}.bin", size=1, sha256="0" * 64, storage_key=key
        )


def stored(*names: str) -> None:
    for name in names:
        assert default_storage.save(name, ContentFile(b"bytes of " + name.encode())) == name


# --- Temporary upload files ---------------------------------------------------


def test_old_temporary_upload_files_are_removed_fresh_and_foreign_ones_kept(spool):
    # The very files Django's upload handler makes, left open as a killed process leaves them.
    killed = TemporaryUploadedFile("holiday photo.jpg", "image/jpeg", 0, None)
    killed_no_extension = TemporaryUploadedFile("README", "text/plain", 0, None)
    in_progress = TemporaryUploadedFile("video.mp4", "video/mp4", 0, None)
    killed.write(b"half a photo")
    for upload in (killed, killed_no_extension):
        make_old(upload.temporary_file_path(), OLD)
    make_old(in_progress.temporary_file_path(), FRESH)
    foreign = spool / "notes.txt"
    foreign.write_text("not an upload")
    make_old(foreign, OLD)
    folder = spool / "tmpabcdefgh.upload"
    folder.mkdir()
    make_old(folder, OLD)

    lines = upload_leftovers_purge()

    assert Path(killed.temporary_file_path()).name.endswith(".upload.jpg")
    assert not Path(killed.temporary_file_path()).exists()
    assert not Path(killed_no_extension.temporary_file_path()).exists()
    assert sorted(lines) == sorted(
        f"removed temporary upload file {upload.temporary_file_path()}" for upload in (killed, killed_no_extension)
    )
    assert Path(in_progress.temporary_file_path()).exists()
    assert foreign.exists()
    assert folder.is_dir()
    for upload in (killed, killed_no_extension, in_progress):
        upload.close()


# --- Stored objects on the local file system --------------------------------


def test_old_objects_no_item_references_are_removed_from_the_local_storage(local_storage, make_user):
    stored("items/orphan", "items/orphan-fresh", "items/kept", "files/first-wave", "videos/clip", "elsewhere")
    referenced_by_an_item(make_user, "items/kept")
    for name in ("items/orphan", "items/kept", "files/first-wave", "videos/clip", "elsewhere"):
        make_old(local_storage.path(name), OLD)
    make_old(local_storage.path("items/orphan-fresh"), FRESH)

    assert upload_leftovers_purge() == ["removed unreferenced stored object items/orphan"]

    assert not local_storage.exists("items/orphan")
    for name in ("items/orphan-fresh", "items/kept", "files/first-wave", "videos/clip", "elsewhere"):
        assert local_storage.exists(name), name


def test_stored_names_are_checked_against_items_in_batches(
    local_storage, make_user, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(leftovers, "KEY_BATCH_SIZE", 2)
    names = [f"items/object-{number}" for number in range(5)]
    stored(*names)
    kept = names[0::2]
    referenced_by_an_item(make_user, *kept)
    for name in names:
        make_old(local_storage.path(name), OLD)

    with django_assert_num_queries(3):  # 5 names, 2 at a time
        lines = upload_leftovers_purge()

    assert sorted(lines) == [f"removed unreferenced stored object {name}" for name in names[1::2]]
    assert sorted(name for name in names if local_storage.exists(name)) == kept


def test_a_storage_with_nothing_stored_yet_has_nothing_to_purge(local_storage):
    assert upload_leftovers_purge() == []


# --- S3 (moto's server and SeaweedFS) -------------------------------------------


def test_old_objects_no_item_references_are_removed_from_s3(object_store, bucket, spool, settings, make_user):
    use_s3(settings, object_store.storage_options(bucket))
    stored("items/orphan", "items/kept", "files/first-wave", "videos/clip")
    referenced_by_an_item(make_user, "items/kept")

    # Just stored: perhaps an upload whose item row is on its way.
    assert upload_leftovers_purge() == []
    assert default_storage.exists("items/orphan")

    # `now=` rather than time_machine: a moved clock would also date the
    # requests' signatures, and a real store (SeaweedFS, AWS) refuses those
    # as RequestTimeTooSkewed (moto does not check).
    later = timezone.now() + timedelta(seconds=AGE + FRESH)
    assert upload_leftovers_purge(now=later) == ["removed unreferenced stored object items/orphan"]

    assert not default_storage.exists("items/orphan")
    for name in ("items/kept", "files/first-wave", "videos/clip"):
        assert default_storage.exists(name), name


def unfinished_multipart_upload(s3, bucket: str, key: str) -> str:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"x" * (5 * 1024 * 1024))
    return upload_id


def unfinished(s3, bucket: str) -> dict[tuple[str, str], datetime]:
    """(key, upload id) of each unfinished multipart upload in the bucket, with its `Initiated`."""
    return {
        (upload["Key"], upload["UploadId"]): upload["Initiated"]
        for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    }


def test_old_unfinished_multipart_uploads_under_the_storage_location_are_aborted(
    object_store, bucket, spool, settings, s3
):
    use_s3(settings, object_store.storage_options(bucket, location="pan"))
    killed = ("pan/items/killed", unfinished_multipart_upload(s3, bucket, "pan/items/killed"))
    not_ours = ("other-program/big", unfinished_multipart_upload(s3, bucket, "other-program/big"))
    initiated = unfinished(s3, bucket)
    assert set(initiated) == {killed, not_ours}

    # Just after the later of the two started, both are fresh, as a real
    # upload in progress would be. (moto dates every multipart upload
    # 2010-11-10T20:48:33Z, a constant; SeaweedFS gives the real time.)
    assert upload_leftovers_purge(now=max(initiated.values()) + timedelta(seconds=FRESH)) == []
    assert set(unfinished(s3, bucket)) == {killed, not_ours}

    lines = upload_leftovers_purge(now=max(initiated.values()) + timedelta(seconds=AGE + FRESH))

    assert len(lines) == 1
    assert lines[0].startswith("aborted unfinished multipart upload of pan/items/killed (initiated ")
    assert set(unfinished(s3, bucket)) == {not_ours}


def test_unreachable_storage_is_reported_and_the_rest_is_still_purged(spool, settings, caplog):
    closed = f"http://127.0.0.1:{refusing_port()}"
    fail_fast = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, connect_timeout=2, read_timeout=2)
    use_s3(settings, s3_options(closed, "pan-unreachable", client_config=fail_fast))
    killed = TemporaryUploadedFile("a.bin", "application/octet-stream", 0, None)
    make_old(killed.temporary_file_path(), OLD)

    lines = upload_leftovers_purge()

    assert lines[0] == f"removed temporary upload file {killed.temporary_file_path()}"
    assert lines[1].startswith("error: could not list stored objects under items/: ")
    assert lines[2].startswith("error: could not list multipart uploads in bucket pan-unreachable: ")
    assert len(lines) == 3
    assert "upload leftovers: could not list multipart uploads" in caplog.text
    killed.close()


@pytest.mark.live
def test_a_task_worker_purges_old_leftovers_when_it_starts():
    # The periodic purge runs when a worker starts in a new period (jobs/services.py),
    # so a restart after a crash cleans up at once, interval or not.
    from project.testing import LiveServer

    server = LiveServer(extra_env={"PAN_UPLOAD_LEFTOVER_AGE": str(AGE), "PAN_PURGE_INTERVAL": "3600"}, task_workers=1)
    spool_dir = server.tmp / "media" / ".upload-tmp"
    items_dir = server.tmp / "media" / "items"
    spool_dir.mkdir(parents=True, exist_ok=True)  # the first server of a run may have made it migrating
    items_dir.mkdir(parents=True, exist_ok=True)
    old_spool, fresh_spool = spool_dir / "tmpold12345.upload.bin", spool_dir / "tmpfresh1234.upload.bin"
    old_object, fresh_object = items_dir / "killedmidwaykilledmidway", items_dir / "uploadingnowuploadingnow"
    long_ago = time.time() - OLD
    for path in (old_spool, fresh_spool, old_object, fresh_object):
        path.write_bytes(secrets.token_bytes(1024))
    for path in (old_spool, old_object):
        os.utime(path, (long_ago, long_ago))
    with server:
        with contextlib.suppress(AssertionError):  # the asserts below say which one stayed
            wait_until(lambda: not (old_spool.exists() or old_object.exists()), timeout=15)
        assert not old_spool.exists()
        assert not old_object.exists()
        assert fresh_spool.exists()  # may be an upload in progress in another process
        assert fresh_object.exists()
        # The purge logs what it removed once it has removed everything.
        with contextlib.suppress(AssertionError):
            wait_until(lambda: "purge_expired" in server.tasks_log(), timeout=15)
        log = server.tasks_log()
    assert f"purge: removed temporary upload file {old_spool}" in log
    assert "purge: removed unreferenced stored object items/killedmidwaykilledmidway" in log
