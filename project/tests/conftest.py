"""Fixtures for the middleware, WebSocket and status tests."""

import os
import secrets
from contextlib import contextmanager
from unittest import mock
from urllib.parse import urlsplit, urlunsplit

import pytest

from project import testing


def _own_database_url(url: str) -> str:
    """A PostgreSQL database of this server's own, `<name>_mw_<random>`.

    LiveServer's `<name>_live` is dropped and re-created by every LiveServer
    (WITH FORCE): a second server would pull the database out from under the
    session's `daphne_server`. These servers get a database each instead.
    """
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/')}_mw_{secrets.token_hex(3)}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path="/" + name))


def _drop_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


@contextmanager
def own_live_server(extra_env: dict | None = None, processes: int = 1):
    """A LiveServer with its own settings (environment) and, on PostgreSQL, its own database."""
    with mock.patch.object(testing, "_live_database_url", _own_database_url):
        server = testing.LiveServer(extra_env=extra_env, processes=processes)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        if os.environ.get("DATABASE_URL"):
            _drop_database(server.env["DATABASE_URL"])


@pytest.fixture
def ws_origin():
    """Headers a browser on this site would send (AllowedHostsOriginValidator checks them)."""
    return [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
