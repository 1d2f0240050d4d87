"""The daphne fixes are clever layers: they must be active under the pinned daphne."""

import daphne
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
