"""The S3 switch: with S3_* set, files go to an S3-compatible server.

The server is moto in server mode: a real HTTP S3 endpoint on 127.0.0.1.
"""

import hashlib
import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import override_settings

BASE_DIR = Path(settings.BASE_DIR)


def s3_storages(s3_server, bucket):
    options = {
        "bucket_name": bucket,
        "endpoint_url": s3_server.url,
        "access_key": "testing",
        "secret_key": "testing",
        "region_name": "us-east-1",
        "addressing_style": "path",
        "default_acl": None,
        "file_overwrite": False,
    }
    return {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}}


def test_the_environment_switches_the_default_storage_to_s3(s3_server):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(s3_server.env("switch-bucket"))
    env.update({"DEBUG": "false", **{k: secrets.token_urlsafe(50) for k in ("SECRET_KEY", "JWT_SIGNING_KEY")}})
    env["SERVER_STATUS_TOKEN"] = secrets.token_urlsafe(32)
    code = (
        "from django.core.files.storage import storages; "
        "print(type(storages['default']).__name__, storages['default'].bucket_name)"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip().splitlines()[-1] == "S3Storage switch-bucket", result.stderr


def test_bytes_round_trip_through_the_s3_server(s3_server):
    bucket = f"pan-{secrets.token_hex(4)}"
    s3_server.create_bucket(bucket)
    payload = secrets.token_bytes(6 * 1024 * 1024 + 123)  # over one multipart part
    with override_settings(STORAGES=s3_storages(s3_server, bucket)):
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
