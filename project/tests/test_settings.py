"""Settings and services: what the environment asks for is what runs."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)


def manage(*args, env=None, **kwargs):
    environment = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",)}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=environment, capture_output=True, text=True, **kwargs
    )


SECRETS = {name: secrets.token_urlsafe(50) for name in ("SECRET_KEY", "JWT_SIGNING_KEY", "SERVER_STATUS_TOKEN")}


def test_check_deploy_reports_nothing_with_debug_off():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env={**SECRETS, "DEBUG": "false"}, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_missing_secret_stops_the_start_when_debug_is_off():
    env = {**SECRETS, "DEBUG": "false", "SECRET_KEY": ""}
    result = manage("check", env=env, timeout=120)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_embedded_sqlite_runs_in_wal_mode(tmp_path):
    db = tmp_path / "wal.sqlite3"
    code = "from django.db import connection; print(connection.cursor().execute('PRAGMA journal_mode').fetchone()[0])"
    env = {**SECRETS, "SQLITE_PATH": str(db), "DEBUG": "false", "DATABASE_URL": ""}
    result = manage("shell", "-c", code, env=env, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "wal", result.stderr


@pytest.mark.django_db
def test_the_database_is_the_one_configured():
    expected = "postgresql" if os.environ.get("DATABASE_URL") else "sqlite"
    assert connection.vendor == expected
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone()[0] == 1


def test_the_cache_is_the_one_configured_and_works():
    backend = settings.CACHES["default"]["BACKEND"]
    assert backend.endswith("RedisCache" if os.environ.get("REDIS_URL") else "LocMemCache")
    cache.set("pan-settings-probe", {"n": 1}, 30)
    assert cache.get("pan-settings-probe") == {"n": 1}
    assert cache.add("pan-settings-counter", 0, 30)
    assert cache.incr("pan-settings-counter") == 1


def test_the_channel_layer_is_the_one_configured_and_delivers():
    layer = get_channel_layer()
    expected = "RedisChannelLayer" if os.environ.get("REDIS_URL") else "InMemoryChannelLayer"
    assert type(layer).__name__ == expected

    async def round_trip():
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "probe", "text": "你好"})
        return await layer.receive(channel)

    assert async_to_sync(round_trip)() == {"type": "probe", "text": "你好"}
