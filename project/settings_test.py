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
# pytest-xdist (`make test` runs the suite in TEST_WORKERS processes): each
# worker gets a Redis database of its own (tests empty their cache with
# FLUSHDB, which would pull state from under another worker's test); the
# servers and manage.py commands a worker starts inherit it.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and os.environ.get("REDIS_URL"):
    from urllib.parse import urlsplit

    # redis://h:6379/0 → /1 for worker gw0, /2 for gw1 (of Redis's 16 databases).
    _redis = urlsplit(os.environ["REDIS_URL"])
    _database = (int(_redis.path.strip("/") or 0) + 1 + int(_worker[2:])) % 16
    os.environ["REDIS_URL"] = _redis._replace(path=f"/{_database}").geturl()
# A developer's .env must not change what the tests test; servers and
# manage.py subprocesses the tests start inherit this too.
os.environ["ENV_FILE"] = ""

from .settings import *  # noqa: E402, F403
from .settings import PASSWORD_HASHERS, STORAGES  # noqa: E402

# Hashing is tested on its own (accounts/tests/test_hashing.py); everywhere
# else a fast hasher keeps the suite quick.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
MEDIA_ROOT = tempfile.mkdtemp(prefix="pan-test-media-")
# settings.py derived (and created) the upload spool from the real MEDIA_ROOT;
# the tests spool into their own.
FILE_UPLOAD_TEMP_DIR = os.path.join(MEDIA_ROOT, ".upload-tmp")
os.makedirs(FILE_UPLOAD_TEMP_DIR, mode=0o700)
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
# A folder of their own (the fixture `collected_static` fills it, copying only): live
# servers collect into STATIC_ROOT with the manifest storage, which deletes and
# rewrites hashed files, and a test process listing the folder meanwhile (WhiteNoise
# does, for every test client) would find files gone under it.
STATIC_ROOT = BASE_DIR / "var" / "test-static"  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing one until it is filled
HTTPS = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0

# SQLite: a test database in a file rather than in memory, so threads in
# concurrency tests wait on the busy timeout like the real server's
# connections do (a shared in-memory database fails them at once instead).
if DATABASES["default"]["ENGINE"] in ("django.db.backends.sqlite3", "project.sqlite"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(tempfile.mkdtemp(prefix="pan-test-db-"), "test.sqlite3")}  # noqa: F405

# In-process tests flush link statistics themselves (shortener/stats.py);
# live servers flush every 2 s as configured.
SHORT_LINK_STATS_FLUSH_SECONDS = 3600.0
# Creating a share waits for its text previews to be rendered (pan/previews.py),
# so a page opened right after shows them whatever the machine's load; the
# budget's own tests set a short wait.
PAN_TEXT_RENDER_WAIT = 30.0

# In-process tests run a task as it is enqueued (Django's immediate backend);
# the queue, its workers and retries are tested with the database backend
# (jobs/tests/) and on live servers.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
