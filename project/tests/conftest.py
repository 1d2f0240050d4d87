"""Fixtures for the middleware, WebSocket and status tests."""

import pytest


@pytest.fixture
def ws_origin():
    """Headers a browser on this site would send (AllowedHostsOriginValidator checks them)."""
    return [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
