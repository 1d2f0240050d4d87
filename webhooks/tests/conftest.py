import pytest

from webhooks.tests.helpers import Receiver


@pytest.fixture
def loopback(settings):
    """Deliveries may reach 127.0.0.1 (the receivers of these tests) and nothing else private."""
    settings.WEBHOOK_ALLOWED_NETWORKS = "127.0.0.1/32"


@pytest.fixture
def receiver():
    """A real HTTP receiver on 127.0.0.1 (webhooks/tests/helpers.py)."""
    with Receiver() as running:
        yield running
