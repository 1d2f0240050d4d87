"""The daphne fixes are clever layers: they must be active under the pinned daphne and Twisted, and only there."""

import io
import logging
import re
from pathlib import Path

import daphne
import twisted
from daphne.access import AccessLogGenerator
from daphne.http_protocol import WebRequest
from daphne.server import Server
from daphne.ws_protocol import WebSocketFactory
from twisted.web.http import HTTPChannel

from project.lib import daphne_fixes

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements.txt"


def pinned(name: str) -> str:
    match = re.search(
        rf"^{re.escape(name)}(\[[^\]]*\])?==(\S+)", REQUIREMENTS.read_text(), re.MULTILINE | re.IGNORECASE
    )
    assert match, f"{name} is not pinned in requirements.txt"
    return match.group(2)


def test_the_installed_daphne_and_twisted_are_the_versions_the_fixes_were_written_for():
    # A version bump fails here: check every fix against the new code
    # (daphne/http_protocol.py, daphne/server.py, twisted/web/http.py), then
    # move DAPHNE_VERSION / TWISTED_VERSION and the pins in requirements.in
    # together, then `make lock` (this reads the compiled requirements.txt).
    assert (daphne.__version__, twisted.__version__) == (daphne_fixes.DAPHNE_VERSION, daphne_fixes.TWISTED_VERSION)
    assert pinned("daphne") == daphne_fixes.DAPHNE_VERSION
    assert pinned("Twisted") == daphne_fixes.TWISTED_VERSION
    assert daphne_fixes.versions_match()


def test_every_fix_is_active_under_the_pinned_versions():
    daphne_fixes.apply_all()
    streams = [
        HTTPChannel.allHeadersReceived,
        WebRequest.handleContentChunk,
        WebRequest.requestReceived,
        WebRequest.handle_reply,
        WebRequest.finish,
        Server.create_application,
    ]
    assert all(getattr(function, "pan_streams", False) for function in streams)
    assert Server.handle_reply.pan_backpressure
    assert Server.handle_reply.pan_zero_copy and Server.create_application.pan_zero_copy
    # Applying them again wraps nothing twice.
    handle_reply, create_application = Server.handle_reply, Server.create_application
    daphne_fixes.apply_all()
    assert (Server.handle_reply, Server.create_application) == (handle_reply, create_application)
    assert WebSocketFactory.setProtocolOptions.pan_close_not_drop
    assert WebRequest.handle_exception.pan_ends_broken
    assert AccessLogGenerator.__call__.pan_no_queries


def test_under_another_version_every_fix_stays_off_with_a_warning(monkeypatch, caplog):
    monkeypatch.setattr(daphne, "__version__", "4.2.4")
    monkeypatch.setattr(daphne_fixes, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="project.lib.daphne_fixes"):
        assert not daphne_fixes._gated("streams_request_bodies")
        assert not daphne_fixes._gated("send_backpressure")
        assert not daphne_fixes._gated("streams_request_bodies")  # warned once per fix
        assert not daphne_fixes._gated("sends_files_zero_copy")
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 3
    assert "streams_request_bodies is off" in messages[0] and "daphne 4.2.4" in messages[0]
    monkeypatch.setattr(twisted, "__version__", "27.1.0")
    monkeypatch.setattr(daphne, "__version__", daphne_fixes.DAPHNE_VERSION)
    assert not daphne_fixes.versions_match()
    assert not daphne_fixes._gated("ends_broken_responses")


def test_daphnes_access_log_never_prints_a_query_string():
    daphne_fixes.apply_all()
    stream = io.StringIO()
    log = AccessLogGenerator(stream)
    details = {"client": "127.0.0.1:5000", "method": "GET", "status": 200, "size": 10}
    log("http", "complete", {**details, "path": "/f/abc/?code=ABCD2345"})
    log("http", "complete", {**details, "path": "/server-status?token=secret-token"})
    log("websocket", "connected", {"client": "127.0.0.1:5000", "path": "/ws/echo/?token=x"})
    written = stream.getvalue()
    assert "/f/abc/" in written and "/server-status" in written and "/ws/echo/" in written
    assert "?" not in written and "ABCD2345" not in written and "secret-token" not in written
