"""Test settings: the real settings with test secrets and a fast hasher.

The cache, database and channel layer stay whatever the environment says
(`DATABASE_URL`, `REDIS_URL`), so the same suite runs on the embedded default
and on PostgreSQL + Redis.
"""

import os
import tempfile

for _name in ("SECRET_KEY", "JWT_SIGNING_KEY", "SERVER_STATUS_TOKEN"):
    os.environ.setdefault(_name, f"test-{_name.lower()}-not-secret-0123456789abcdefghijklmnop")
os.environ.setdefault("CACHE_KEY_PREFIX", "pan-test")
# A developer's .env must not change what the tests test; servers and
# manage.py subprocesses the tests start inherit this too.
os.environ["ENV_FILE"] = ""

from .settings import *  # noqa: E402, F403
from .settings import PASSWORD_HASHERS, STORAGES  # noqa: E402

# Hashing is tested on its own (accounts/tests/test_hashing.py); everywhere
# else a fast hasher keeps the suite quick.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
MEDIA_ROOT = tempfile.mkdtemp(prefix="pan-test-media-")
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
HTTPS = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
