"""The S3 path (django-storages, boto3) against a real S3 API server on loopback: moto in server mode."""

import socket
import urllib.error
import urllib.request

import boto3
import pytest
from moto.server import ThreadedMotoServer

from spacemanager.settings import s3_storage
from spaces.models import SpacePhoto
from spaces.tests.factories import SpaceFactory
from spaces.tests.images import image_bytes, upload

pytestmark = pytest.mark.django_db
BUCKET = "spacemanager-test"
KEYS = {"access_key": "testing-key", "secret_key": "testing-secret", "region_name": "eu-central-1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_server, settings):
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id=KEYS["access_key"],
        aws_secret_access_key=KEYS["secret_key"],
        region_name=KEYS["region_name"],
    )
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": KEYS["region_name"]})
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_storage(bucket_name=BUCKET, endpoint_url=s3_server, **KEYS),
    }
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _keys(client) -> list[str]:
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (a loopback test server)
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def test_photos_are_private_objects_under_the_organizations_prefix_served_by_presigned_urls(
    api_client, org, in_tenant, s3, s3_server
):
    space = SpaceFactory()
    client = api_client(org, org.admin)

    response = client.post(
        f"/api/v1/spaces/{space.pk}/photos",
        {"image": upload("room.png", image_bytes("PNG", (640, 480)))},
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    keys = _keys(s3)
    prefix = f"{org.organization.schema_name}/"
    assert len(keys) == 2 and all(key.startswith(prefix) for key in keys)  # the photo and its thumbnail
    assert body["url"].startswith(f"{s3_server}/{BUCKET}/{prefix}") and "X-Amz-Signature=" in body["url"]
    status, data = _get(body["url"])
    assert status == 200 and data.startswith(b"\x89PNG")
    assert _get(body["thumbnail_url"])[0] == 200
    assert _get(body["url"].split("?")[0])[0] == 403  # private: not without the signature


def test_deleting_a_photo_removes_its_objects(api_client, org, in_tenant, s3, django_capture_on_commit_callbacks):
    space = SpaceFactory()
    client = api_client(org, org.admin)
    photo = client.post(f"/api/v1/spaces/{space.pk}/photos", {"image": upload()}, format="multipart").json()
    assert len(_keys(s3)) == 2

    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/api/v1/spaces/{space.pk}/photos/{photo['id']}").status_code == 204

    assert _keys(s3) == []
    assert not SpacePhoto.objects.exists()


def test_a_refused_upload_writes_no_object(api_client, org, in_tenant, s3):
    space = SpaceFactory()
    response = api_client(org, org.admin).post(
        f"/api/v1/spaces/{space.pk}/photos", {"image": upload("x.jpg", b"GIF89a nope")}, format="multipart"
    )
    assert response.status_code == 400
    assert _keys(s3) == []


def test_a_floor_plan_goes_to_object_storage_and_replacing_it_removes_the_old_one(
    api_client, org, in_tenant, s3, django_capture_on_commit_callbacks
):
    client = api_client(org, org.admin)
    location = client.post("/api/v1/locations", {"name": "Floor 2"}).json()
    url = f"/api/v1/locations/{location['id']}/floor-plan"

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url, {"image": upload("plan.png", image_bytes("PNG", (300, 200)))}, format="multipart")
    with django_capture_on_commit_callbacks(execute=True):
        second = client.post(url, {"image": upload("plan.webp", image_bytes("WEBP", (600, 400)))}, format="multipart")

    assert first.status_code == second.status_code == 200
    keys = _keys(s3)
    assert len(keys) == 1 and keys[0].endswith(".webp") and keys[0].startswith(org.organization.schema_name)
    assert _get(second.json()["floor_plan_url"])[0] == 200
