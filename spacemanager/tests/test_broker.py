"""The broker transport reuses one Redis client per connection pool for publishing (spacemanager/broker.py)."""

from django.conf import settings
from kombu import Connection

from spacemanager.celery import app


def test_celery_publishes_through_the_reusing_transport():
    assert type(app.connection_for_write().transport).__module__ == "spacemanager.broker"


def test_one_client_serves_every_publish_until_kombu_replaces_the_pool():
    with Connection(settings.REDIS_URL, transport="spacemanager.broker:Transport") as connection:
        channel = connection.default_channel
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second
            assert first.ping()
        channel._pool = None  # what kombu does after a connection error
        with channel.conn_or_acquire() as third:
            assert third is not first
            assert third.connection_pool is channel.pool
