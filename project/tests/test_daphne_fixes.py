"""The daphne fixes are clever layers: they must be active under the pinned daphne."""

import io

import daphne
from daphne.access import AccessLogGenerator
from daphne.http_protocol import WebRequest
from daphne.server import Server
from daphne.ws_protocol import WebSocketFactory

from project.lib import daphne_fixes


def test_every_fix_is_active_under_the_pinned_daphne():
    assert daphne.__version__.startswith("4.2.")
    daphne_fixes.apply_all()
    assert WebRequest.__init__.pan_no_form_parsing
    assert Server.create_application.pan_disk_body
    assert Server.handle_reply.pan_backpressure
    assert WebSocketFactory.setProtocolOptions.pan_close_not_drop
    assert WebRequest.handle_exception.pan_ends_broken
    assert AccessLogGenerator.__call__.pan_no_queries
    assert WebRequest.gotLength.pan_body_limit and WebRequest.handleContentChunk.pan_body_limit


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
