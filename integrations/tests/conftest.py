import pytest

from integrations.tests.receiver import start_receiver, stop_receiver


@pytest.fixture
def receiver():
    """A loopback HTTP server that records webhook deliveries (answers 204 unless told otherwise)."""
    running = start_receiver()
    yield running
    stop_receiver(running)
