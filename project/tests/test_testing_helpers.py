"""The live tests' own helpers (project/testing.py): ports nobody can take
from under a test, and waits that are bounded."""

import socket
import time

import pytest

from project.testing import listening_socket, refusing_port, wait_until


def test_a_refusing_port_refuses_and_cannot_be_taken():
    port = refusing_port()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
    with socket.socket() as other, pytest.raises(OSError):
        other.bind(("127.0.0.1", port))


def test_a_listening_socket_takes_connections_before_any_server_does():
    with listening_socket() as listener:
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            accepted, _address = listener.accept()  # what a server handed the socket later would do
            accepted.close()
        with socket.socket() as other, pytest.raises(OSError):
            other.bind(("127.0.0.1", port))


def test_wait_until_returns_what_the_condition_found_or_fails_in_time():
    calls = []
    assert wait_until(lambda: calls.append(1) or (len(calls) >= 3 and "ready"), timeout=5, interval=0.001) == "ready"
    started = time.monotonic()
    with pytest.raises(AssertionError, match="never: not within 0.2s"):
        wait_until(lambda: False, timeout=0.2, interval=0.01, message="never")
    assert time.monotonic() - started < 2
