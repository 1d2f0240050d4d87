"""The S3 multipart behaviour resumable uploads stand on, on moto and on SeaweedFS.

A tus upload is one S3 multipart upload: parts of at least 5 MiB as bytes
arrive, the upload found again after a restart by listing its parts, aborted
when the tus upload is deleted or expires, and a small temporary "tail"
object for the bytes that do not make a whole part yet. Each test runs on
both servers (`object_store`) through the client Pan itself uses: an
S3Storage built from project/settings.py with the server's S3_* variables
(its botocore Config: path addressing, timeouts, retries), keys under its
location (S3_PREFIX).
"""

import hashlib
import os
import runpy
import secrets
from dataclasses import dataclass
from unittest import mock

import pytest
from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.storage import storages

MIB = 1024 * 1024
PART = 5 * MIB  # S3's smallest part, but for the last


@dataclass
class PanS3:
    storage: object
    client: object
    bucket: str
    location: str

    def key(self, name: str) -> str:
        return f"{self.location}/{name}"


def pan_storage(object_store, bucket: str, tmp_path):
    """A new S3Storage exactly as project/settings.py builds it from the S3_* variables."""
    env = {
        **object_store.env(bucket),
        "S3_PREFIX": "pan",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "ENV_FILE": "",
    }
    with mock.patch.dict(os.environ, env):
        pan_settings = runpy.run_path(str(settings.BASE_DIR / "project" / "settings.py"))
    storage_settings = pan_settings["STORAGES"]["default"]
    assert storage_settings["BACKEND"] == "storages.backends.s3.S3Storage"
    return storages.create_storage(storage_settings)


@pytest.fixture
def pan_s3(object_store, tmp_path):
    bucket = f"pan-tus-{secrets.token_hex(4)}"
    object_store.create_bucket(bucket)
    storage = pan_storage(object_store, bucket, tmp_path)
    return PanS3(storage, storage.connection.meta.client, storage.bucket_name, storage.location)


def restarted(pan_s3: PanS3, object_store, tmp_path) -> PanS3:
    """The same bucket seen by a new process: a new storage, a new client, nothing shared."""
    storage = pan_storage(object_store, pan_s3.bucket, tmp_path)
    assert storage.connection.meta.client is not pan_s3.client
    return PanS3(storage, storage.connection.meta.client, storage.bucket_name, storage.location)


def error_code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def upload_parts(pan_s3: PanS3, key: str, upload_id: str, parts: list[bytes], first: int = 1) -> list[dict]:
    done = []
    for number, body in enumerate(parts, start=first):
        answer = pan_s3.client.upload_part(
            Bucket=pan_s3.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
        )
        done.append({"PartNumber": number, "ETag": answer["ETag"]})
    return done


def open_uploads(pan_s3: PanS3, prefix: str) -> set[tuple[str, str]]:
    listing = pan_s3.client.list_multipart_uploads(Bucket=pan_s3.bucket, Prefix=prefix)
    return {(upload["Key"], upload["UploadId"]) for upload in listing.get("Uploads", [])}


def test_the_client_is_pans_own(pan_s3):
    assert pan_s3.location == "pan"
    config = pan_s3.client.meta.config
    assert config.s3["addressing_style"] == "path"
    assert (config.connect_timeout, config.read_timeout) == (2.0, 3.0)


def test_parts_of_exactly_5_mib_and_a_last_byte_complete_into_one_object(pan_s3):
    key = pan_s3.key("items/whole")
    parts = [secrets.token_bytes(PART), secrets.token_bytes(PART), b"!"]
    upload_id = pan_s3.client.create_multipart_upload(Bucket=pan_s3.bucket, Key=key)["UploadId"]
    done = upload_parts(pan_s3, key, upload_id, parts)

    pan_s3.client.complete_multipart_upload(
        Bucket=pan_s3.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done}
    )

    whole = b"".join(parts)
    # Read back through the storage, as a download reads it (name relative to the location).
    assert pan_s3.storage.size("items/whole") == 2 * PART + 1
    with pan_s3.storage.open("items/whole", "rb") as handle:
        digest = hashlib.sha256()
        while chunk := handle.read(MIB):
            digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(whole).hexdigest()
    assert open_uploads(pan_s3, f"{pan_s3.location}/") == set()


def test_the_parts_are_listed_after_a_restart_and_the_upload_completes_there(pan_s3, object_store, tmp_path):
    key = pan_s3.key("uploads/resumed")
    first = [secrets.token_bytes(PART), secrets.token_bytes(PART)]
    upload_id = pan_s3.client.create_multipart_upload(Bucket=pan_s3.bucket, Key=key)["UploadId"]
    sent = upload_parts(pan_s3, key, upload_id, first)

    later = restarted(pan_s3, object_store, tmp_path)
    listed = later.client.list_parts(Bucket=later.bucket, Key=key, UploadId=upload_id)["Parts"]

    assert [(part["PartNumber"], part["Size"], part["ETag"]) for part in listed] == [
        (number, PART, done["ETag"]) for number, done in enumerate(sent, start=1)
    ]
    assert {key_and_id[1] for key_and_id in open_uploads(later, key)} == {upload_id}
    last = secrets.token_bytes(123)
    rest = upload_parts(later, key, upload_id, [last], first=3)
    parts = [{"PartNumber": part["PartNumber"], "ETag": part["ETag"]} for part in listed] + rest
    later.client.complete_multipart_upload(
        Bucket=later.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    body = later.client.get_object(Bucket=later.bucket, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(b"".join(first) + last).hexdigest()


def test_a_part_sent_again_completes_with_the_copy_whose_etag_is_given(pan_s3, object_store):
    # A client whose connection dropped while a part was stored sends it again.
    key = pan_s3.key("uploads/retried")
    upload_id = pan_s3.client.create_multipart_upload(Bucket=pan_s3.bucket, Key=key)["UploadId"]
    first = upload_parts(pan_s3, key, upload_id, [b"a" * PART])
    again = upload_parts(pan_s3, key, upload_id, [b"b" * PART])
    tail = upload_parts(pan_s3, key, upload_id, [b"end"], first=2)

    listed = pan_s3.client.list_parts(Bucket=pan_s3.bucket, Key=key, UploadId=upload_id)["Parts"]
    if object_store.name == "seaweedfs":
        # SeaweedFS 4.48 keeps both copies of part 1 and lists both, in no
        # set order (AWS and moto keep the last one): the ETag that
        # upload_part returned is what says which copy is meant, so it is
        # kept; a list of parts rebuilt from list_parts alone is ambiguous.
        assert sorted((part["PartNumber"], part["ETag"]) for part in listed) == sorted(
            [(1, first[0]["ETag"]), (1, again[0]["ETag"]), (2, tail[0]["ETag"])]
        )
    else:
        assert [(part["PartNumber"], part["ETag"]) for part in listed] == [(1, again[0]["ETag"]), (2, tail[0]["ETag"])]
    pan_s3.client.complete_multipart_upload(
        Bucket=pan_s3.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": again + tail}
    )
    assert pan_s3.client.get_object(Bucket=pan_s3.bucket, Key=key)["Body"].read() == b"b" * PART + b"end"


def test_parts_left_out_make_a_gap_and_a_completion_sent_again_is_harmless(pan_s3):
    # Another way to resend a part: under a new number, leaving the doubtful one out.
    key = pan_s3.key("uploads/gap")
    upload_id = pan_s3.client.create_multipart_upload(Bucket=pan_s3.bucket, Key=key)["UploadId"]
    done = upload_parts(pan_s3, key, upload_id, [b"a" * PART, b"x" * PART, b"end"])
    chosen = [done[0], done[2]]
    for _attempt in range(2):  # the answer to the first may be lost on its way back
        pan_s3.client.complete_multipart_upload(
            Bucket=pan_s3.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": chosen}
        )
    assert pan_s3.client.get_object(Bucket=pan_s3.bucket, Key=key)["Body"].read() == b"a" * PART + b"end"
    assert open_uploads(pan_s3, key) == set()


def test_an_upload_of_no_parts_cannot_be_completed(pan_s3, object_store):
    # A tus upload of 0 bytes is stored with put_object, never as a multipart upload.
    key = pan_s3.key("uploads/empty")
    upload_id = pan_s3.client.create_multipart_upload(Bucket=pan_s3.bucket, Key=key)["UploadId"]

    with pytest.raises(ClientError) as refused:
        pan_s3.client.complete_multipart_upload(
            Bucket=pan_s3.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": []}
        )

    # AWS and moto: MalformedXML; SeaweedFS 4.48 says NoSuchUpload (the upload is still there).
    assert error_code(refused.value) == {"moto": "MalformedXML", "seaweedfs": "NoSuchUpload"}[object_store.name]
    assert open_uploads(pan_s3, key) == {(key, upload_id)}
    assert not pan_s3.storage.exists("uploads/empty")


def test_a_completion_naming_a_wrong_etag_is_refused(pan_s3):
    key = pan_s3.key("uploads/wrong-etag")
    upload_id = pan_s3.client.create_multipart_upload(Bucket=pan_s3.bucket, Key=key)["UploadId"]
    upload_parts(pan_s3, key, upload_id, [b"bytes"])

    with pytest.raises(ClientError) as refused:
        pan_s3.client.complete_multipart_upload(
            Bucket=pan_s3.bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]},
        )

    assert error_code(refused.value) == "InvalidPart"
    assert not pan_s3.storage.exists("uploads/wrong-etag")


def test_an_open_upload_is_listed_under_its_prefix_and_abort_removes_it(pan_s3):
    ours = pan_s3.key("uploads/abandoned")
    theirs = "other-program/big"
    ours_id = pan_s3.client.create_multipart_upload(Bucket=pan_s3.bucket, Key=ours)["UploadId"]
    theirs_id = pan_s3.client.create_multipart_upload(Bucket=pan_s3.bucket, Key=theirs)["UploadId"]
    upload_parts(pan_s3, ours, ours_id, [secrets.token_bytes(PART)])

    assert open_uploads(pan_s3, f"{pan_s3.location}/uploads/") == {(ours, ours_id)}
    assert open_uploads(pan_s3, "") == {(ours, ours_id), (theirs, theirs_id)}

    pan_s3.client.abort_multipart_upload(Bucket=pan_s3.bucket, Key=ours, UploadId=ours_id)

    assert open_uploads(pan_s3, f"{pan_s3.location}/") == set()
    assert open_uploads(pan_s3, "") == {(theirs, theirs_id)}
    assert not pan_s3.storage.exists("uploads/abandoned")
    with pytest.raises(ClientError) as gone:
        pan_s3.client.list_parts(Bucket=pan_s3.bucket, Key=ours, UploadId=ours_id)
    assert error_code(gone.value) == "NoSuchUpload"


def test_a_part_for_an_aborted_upload_is_refused(pan_s3, object_store):
    key = pan_s3.key("uploads/aborted")
    upload_id = pan_s3.client.create_multipart_upload(Bucket=pan_s3.bucket, Key=key)["UploadId"]
    pan_s3.client.abort_multipart_upload(Bucket=pan_s3.bucket, Key=key, UploadId=upload_id)

    with pytest.raises(ClientError) as refused:
        upload_parts(pan_s3, key, upload_id, [b"late bytes"])

    # moto 5.2.5 fails inside (500, InternalError, after botocore's retry); S3 and SeaweedFS say NoSuchUpload.
    assert error_code(refused.value) == {"moto": "500", "seaweedfs": "NoSuchUpload"}[object_store.name]
    assert open_uploads(pan_s3, key) == set()
    assert not pan_s3.storage.exists("uploads/aborted")


def test_a_small_part_that_is_not_the_last_is_refused_at_completion(pan_s3):
    key = pan_s3.key("uploads/small-part")
    upload_id = pan_s3.client.create_multipart_upload(Bucket=pan_s3.bucket, Key=key)["UploadId"]
    done = upload_parts(pan_s3, key, upload_id, [secrets.token_bytes(PART - 1), b"last"])

    with pytest.raises(ClientError) as refused:
        pan_s3.client.complete_multipart_upload(
            Bucket=pan_s3.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done}
        )

    assert error_code(refused.value) == "EntityTooSmall"
    assert not pan_s3.storage.exists("uploads/small-part")


def test_a_tail_object_is_written_read_replaced_and_deleted(pan_s3):
    # The bytes of an open tus upload that do not make a whole part yet.
    key = pan_s3.key("uploads/resumed.tail")
    pan_s3.client.put_object(Bucket=pan_s3.bucket, Key=key, Body=b"first bytes")
    assert pan_s3.client.get_object(Bucket=pan_s3.bucket, Key=key)["Body"].read() == b"first bytes"
    pan_s3.client.put_object(Bucket=pan_s3.bucket, Key=key, Body=b"first bytes and more")
    assert pan_s3.client.get_object(Bucket=pan_s3.bucket, Key=key)["Body"].read() == b"first bytes and more"

    pan_s3.client.delete_object(Bucket=pan_s3.bucket, Key=key)

    with pytest.raises(ClientError) as gone:
        pan_s3.client.get_object(Bucket=pan_s3.bucket, Key=key)
    assert error_code(gone.value) == "NoSuchKey"
    pan_s3.client.delete_object(Bucket=pan_s3.bucket, Key=key)  # deleting it twice is no error
