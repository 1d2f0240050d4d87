"""Connections served on an inherited socket (`project/serve.py --fd`, the
tests' servers) have Nagle's algorithm off, as uvicorn's own sockets do.

`uvicorn --fd` takes the socket for a Unix one, so uvloop never sets
TCP_NODELAY on its connections; a response written in two parts then
waited 40 ms for the client's delayed ACK (docs/performance.md). Linux
gives accepted connections the listener's TCP_NODELAY.
"""

import socket

from project.serve import listener_without_nagle
from project.testing import listening_socket


def accepted_nodelay(listener: socket.socket) -> int:
    with socket.create_connection(listener.getsockname()) as _client:
        accepted, _address = listener.accept()
        with accepted:
            return accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_a_listener_handed_to_the_server_gives_its_connections_tcp_nodelay():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        assert accepted_nodelay(listener) == 0  # what the server would otherwise serve on
        listener_without_nagle(listener.fileno())
        assert accepted_nodelay(listener) == 1


def test_the_tests_servers_listen_without_nagle():
    with listening_socket() as listener:
        assert accepted_nodelay(listener) == 1


def test_a_unix_socket_is_left_alone(tmp_path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(tmp_path / "pan.sock"))
        listener.listen()
        listener_without_nagle(listener.fileno())  # no TCP options on a Unix socket: no error
