"""Settings and services: what the environment asks for is what runs."""

import os
import secrets
import subprocess
import sys
from io import StringIO
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


# --- Secrets: refused at the start, reported by the system checks ----------


def _without_secrets(**env) -> dict:
    """The test process's environment without its three secrets, plus `env`."""
    environment = {k: v for k, v in os.environ.items() if k not in (*SECRETS, "DJANGO_SETTINGS_MODULE")}
    return {**environment, **env}


def _start(**secrets_and_settings) -> subprocess.CompletedProcess:
    """`manage.py check` with DEBUG off, good secrets, and these changes."""
    env = {**SECRETS, "DEBUG": "false", **secrets_and_settings}
    return manage("check", env=env, timeout=120)


def _env_example_secrets() -> dict[str, str]:
    from project.checks import SECRET_NAMES

    values = {}
    for line in (BASE_DIR / ".env.example").read_text().splitlines():
        name, equals, value = line.partition("=")
        if equals and name.strip() in SECRET_NAMES:
            values[name.strip()] = value.strip()
    assert set(values) == set(SECRET_NAMES), "every secret has an example value in .env.example"
    return values


def test_every_secret_value_in_env_example_is_a_known_placeholder():
    from project.checks import secret_problems

    for name, value in _env_example_secrets().items():
        assert [problem.check_id for problem in secret_problems({name: value})] == ["pan.E002"], name


def test_a_copied_env_example_stops_the_start_naming_every_placeholder():
    env = _without_secrets(ENV_FILE=str(BASE_DIR / ".env.example"))
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    for name in ("SECRET_KEY", "JWT_SIGNING_KEY", "SERVER_STATUS_TOKEN"):
        assert f"{name} is a placeholder" in result.stderr, result.stderr
    assert "token_urlsafe" in result.stderr  # how to make a good one


@pytest.mark.parametrize(
    "placeholder", ["change-me", "CHANGE-ME-to-something-long-and-random-0123456789", "django-insecure-" + "k" * 40]
)
def test_a_placeholder_stops_the_start_even_with_debug_on(placeholder):
    result = _start(JWT_SIGNING_KEY=placeholder, DEBUG="true")
    assert result.returncode != 0
    assert "JWT_SIGNING_KEY is a placeholder" in result.stderr


def test_a_secret_under_32_characters_stops_the_start():
    result = _start(SERVER_STATUS_TOKEN="s" * 16 + secrets.token_hex(7))
    assert result.returncode != 0
    assert "SERVER_STATUS_TOKEN is 30 characters long; it needs at least 32." in result.stderr


def test_a_secret_of_exactly_32_characters_is_accepted():
    result = _start(SERVER_STATUS_TOKEN=secrets.token_hex(16))
    assert result.returncode == 0, result.stderr


def test_two_equal_secrets_stop_the_start():
    result = _start(JWT_SIGNING_KEY=SECRETS["SECRET_KEY"])
    assert result.returncode != 0
    assert "JWT_SIGNING_KEY is the same as SECRET_KEY" in result.stderr
    assert SECRETS["SECRET_KEY"] not in result.stderr  # the message never prints a secret


def test_every_problem_is_named_at_once():
    result = _start(SECRET_KEY="", JWT_SIGNING_KEY="short", SERVER_STATUS_TOKEN="changeme")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
    assert "JWT_SIGNING_KEY is 5 characters long" in result.stderr
    assert "SERVER_STATUS_TOKEN is a placeholder" in result.stderr


def test_debug_still_generates_a_missing_secret():
    result = _start(SERVER_STATUS_TOKEN="", DEBUG="true")
    assert result.returncode == 0, result.stderr


def test_make_run_generates_secrets_the_start_accepts():
    from project.checks import secret_problems
    from project.envfile import envfile_lines, fresh_secrets

    assert secret_problems(fresh_secrets()) == []
    written = dict(line.split("=", 1) for line in envfile_lines() if not line.startswith("#"))
    assert secret_problems({name: written[name] for name in SECRETS}) == []


@pytest.mark.parametrize(
    ("changes", "check_id"),
    [
        ({"SERVER_STATUS_TOKEN": "change-me"}, "pan.E002"),
        ({"SECRET_KEY": "k" * 31}, "pan.E003"),
        ({"SERVER_STATUS_TOKEN": settings.SECRET_KEY}, "pan.E004"),
        ({"SIMPLE_JWT": {**settings.SIMPLE_JWT, "SIGNING_KEY": settings.SECRET_KEY}}, "pan.E004"),
    ],
)
def test_the_system_checks_report_secrets_a_settings_module_changed(changes, check_id):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError
    from django.test import override_settings

    with override_settings(**changes), pytest.raises(SystemCheckError, match=check_id):
        call_command("check", "--deploy", stdout=StringIO(), stderr=StringIO())


def test_the_system_checks_pass_with_good_secrets():
    from django.core.checks import run_checks

    assert [message.id for message in run_checks() if message.id.startswith("pan.")] == []


# --- Fail fast when a service is down (docs/middleware.md, "Faults") -------


def _settings_value(expression: str, **env) -> str:
    code = f"from django.conf import settings; from django.core.files.storage import storages; print({expression})"
    result = manage("shell", "-c", code, env={**SECRETS, "DEBUG": "false", **env}, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_postgresql_gets_a_connect_and_a_pool_timeout():
    url = {"DATABASE_URL": "postgres://pan@127.0.0.1:1/pan"}
    options = "settings.DATABASES['default']['OPTIONS']"
    assert _settings_value(f"{options}['connect_timeout'], {options}['pool']['timeout']", **url) == "3 5.0"
    changed = {**url, "DATABASE_CONNECT_TIMEOUT": "7", "DATABASE_POOL_TIMEOUT": "1.5"}
    assert _settings_value(f"{options}['connect_timeout'], {options}['pool']['timeout']", **changed) == "7 1.5"


def test_postgresql_waits_are_bounded_on_open_connections_too():
    url = {"DATABASE_URL": "postgres://pan@127.0.0.1:1/pan"}
    options = "settings.DATABASES['default']['OPTIONS']"
    expression = (
        f"{options}['options'], {options}['tcp_user_timeout'], {options}['keepalives_idle'],"
        f" {options}['pool']['connection_class'].answer_timeout, settings.DATABASES['default']['CONN_HEALTH_CHECKS']"
    )
    assert _settings_value(expression, **url) == (
        "-c statement_timeout=5000 -c idle_in_transaction_session_timeout=60000 10000 5 6.0 True"
    )
    changed = {**url, "DATABASE_STATEMENT_TIMEOUT": "0", "DATABASE_TCP_USER_TIMEOUT": "4", "DATABASE_POOL_CHECK": "0"}
    assert _settings_value(expression, **changed) == (
        "-c statement_timeout=0 -c idle_in_transaction_session_timeout=60000 4000 2 None False"
    )


def test_the_client_side_database_bound_applies_to_the_pinned_psycopg():
    """project/lib/bounded_pg.py stands on psycopg's `Connection.wait(timeout=)`."""
    from project.lib import bounded_pg

    assert bounded_pg.APPLIES
    assert bounded_pg.bounded_connection_class(2.0).answer_timeout == 2.0 + bounded_pg.GRACE


def test_redis_gets_short_timeouts_and_the_breaker_on_every_connection():
    redis = {"REDIS_URL": "redis://127.0.0.1:1/1"}
    options = "settings.CACHES['default']['OPTIONS']"
    host = "settings.CHANNEL_LAYERS['default']['CONFIG']['hosts'][0]"
    expression = (
        f"{options}['SOCKET_TIMEOUT'], {options}['SOCKET_CONNECT_TIMEOUT'], {host}['socket_connect_timeout'],"
        f" {options}['CONNECTION_POOL_KWARGS']['connection_class'].__module__,"
        f" {host}['connection_class'].__module__, settings.REDIS_BREAKER_SECONDS"
    )
    module = "project.lib.redis_breaker"
    assert _settings_value(expression, **redis) == f"0.5 0.5 0.5 {module} {module} 5.0"
    tls = {"REDIS_URL": "rediss://127.0.0.1:1/1", "REDIS_SOCKET_TIMEOUT": "0.5", "REDIS_BREAKER_SECONDS": "2"}
    classes = f"{options}['CONNECTION_POOL_KWARGS']['connection_class'].__name__, {host}['connection_class'].__name__"
    assert (
        _settings_value(f"{classes}, settings.REDIS_BREAKER_SECONDS", **tls) == "SSLConnection AsyncSSLConnection 2.0"
    )


def test_the_redis_breaker_applies_to_the_pinned_redis():
    """project/lib/redis_breaker.py wraps the three methods every redis-py exchange goes through."""
    from project.lib import redis_breaker

    assert redis_breaker.APPLIES


def test_the_s3_client_gets_timeouts_few_attempts_and_keeps_its_addressing_style():
    s3 = {"S3_BUCKET": "pan", "S3_ENDPOINT_URL": "http://127.0.0.1:1", "S3_ADDRESSING_STYLE": "path"}
    config = "storages['default'].client_config"
    expression = f"{config}.connect_timeout, {config}.read_timeout, {config}.retries, {config}.s3"
    assert _settings_value(expression, **s3) == (
        "2.0 3.0 {'mode': 'standard', 'total_max_attempts': 2} {'addressing_style': 'path'}"
    )
    changed = {**s3, "S3_CONNECT_TIMEOUT": "1", "S3_READ_TIMEOUT": "9", "S3_MAX_ATTEMPTS": "4"}
    assert _settings_value(expression, **changed).startswith("1.0 9.0 {'mode': 'standard', 'total_max_attempts': 4}")


def test_deploy_checks_still_see_the_standard_middleware_through_ours(settings):
    """Django's deploy checks look for its own middleware paths; ours subclass
    them (project/lib/native.py). The checks that need them still run, and
    removing one is still reported."""
    from django.core import checks

    def deploy_ids():
        found = checks.run_checks(include_deployment_checks=True, tags=["security"])
        return {message.id for message in found if not message.is_silenced()}

    settings.SECURE_HSTS_SECONDS = 0
    settings.X_FRAME_OPTIONS = "SAMEORIGIN"
    found = deploy_ids()
    assert {"security.W004", "security.W019"} <= found  # HSTS and X-Frame-Options, checked through ours
    assert not {"security.W001", "security.W002", "security.W003"} & found
    settings.MIDDLEWARE = [path for path in settings.MIDDLEWARE if not path.endswith(".SecurityMiddleware")]
    assert "pan.security.W001" in deploy_ids()


# --- METRICS_TOKEN: optional, but held to the same rules when set (G13) ------


def test_a_short_metrics_token_stops_the_start():
    result = _start(METRICS_TOKEN="abc")
    assert result.returncode != 0
    assert "METRICS_TOKEN is 3 characters long; it needs at least 32." in result.stderr


def test_a_metrics_token_equal_to_another_secret_stops_the_start():
    result = _start(METRICS_TOKEN=SECRETS["SECRET_KEY"])
    assert result.returncode != 0
    assert "METRICS_TOKEN is the same as SECRET_KEY" in result.stderr
    assert SECRETS["SECRET_KEY"] not in result.stderr


def test_a_placeholder_metrics_token_stops_the_start():
    result = _start(METRICS_TOKEN="change-me-to-a-long-random-string")
    assert result.returncode != 0
    assert "METRICS_TOKEN is a placeholder" in result.stderr


@pytest.mark.parametrize("token", ["", secrets.token_urlsafe(32)], ids=["empty", "good"])
def test_an_empty_or_good_metrics_token_is_accepted(token):
    result = _start(METRICS_TOKEN=token)
    assert result.returncode == 0, result.stderr


def test_the_system_checks_report_a_metrics_token_a_settings_module_changed():
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError
    from django.test import override_settings

    with override_settings(METRICS_TOKEN="abc"), pytest.raises(SystemCheckError, match="pan.E003"):
        call_command("check", "--deploy", stdout=StringIO(), stderr=StringIO())
