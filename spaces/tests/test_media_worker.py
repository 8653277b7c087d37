"""A large photo cleaned and thumbnailed by a real worker on the real Redis broker, queued through the outbox."""

import time

import pytest
from django.db import connection

from spaces.models import SpacePhoto
from spaces.tests.factories import SpaceFactory
from spaces.tests.images import image_bytes, upload
from tenants.tasks import outbox_relay


@pytest.mark.slow
def test_a_real_worker_cleans_a_large_photo_and_makes_its_thumbnail(org, api_client, live_worker, settings):
    settings.PHOTO_INLINE_MAX_BYTES = 1000
    connection.set_tenant(org.organization)
    space = SpaceFactory()
    connection.set_schema_to_public()
    client = api_client(org, org.admin)

    body = client.post(
        f"/api/v1/spaces/{space.pk}/photos",
        {"image": upload("big.png", image_bytes("PNG", (1200, 900)))},
        format="multipart",
    ).json()
    assert body["url"] is None and body["thumbnail_url"] is None  # cleaned by the worker, not in the request

    outbox_relay.delay()  # beat's job, every OUTBOX_RELAY_SECONDS
    deadline = time.monotonic() + 30
    connection.set_tenant(org.organization)
    while not SpacePhoto.objects.get(pk=body["id"]).processed and time.monotonic() < deadline:
        time.sleep(0.2)
    connection.set_schema_to_public()

    photos = client.get(f"/api/v1/spaces/{space.pk}/photos").json()
    assert photos[0]["thumbnail_url"] and photos[0]["processed"]
    assert client.get(photos[0]["url"]).status_code == 200
    response = client.get(photos[0]["thumbnail_url"])
    assert response.status_code == 200 and response["Content-Type"] in {"image/jpeg", "image/png"}
