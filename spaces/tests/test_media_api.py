import io

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from spaces.models import Location, Space, SpacePhoto
from spaces.tests.factories import SpaceFactory
from spaces.tests.images import MAKE_TAG, image_bytes, upload
from tenants.outbox import outbox_relay

pytestmark = pytest.mark.django_db


def photos_url(space) -> str:
    return f"/api/v1/spaces/{space.pk}/photos"


def post_photo(client, space, data=None, name="room.jpg", **extra):
    return client.post(photos_url(space), {"image": upload(name, data)}, format="multipart", **extra)


def fetch(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_admins_upload_photos_and_get_id_url_and_thumbnail(api_client, org, in_tenant, fmt):
    space = SpaceFactory()
    client = api_client(org, org.admin)

    response = post_photo(client, space, image_bytes(fmt, (800, 600)), name="whatever.bin")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert {"id", "url", "thumbnail_url"} <= set(body)
    assert body["is_cover"] is True and body["position"] == 0
    with Image.open(io.BytesIO(fetch(client, body["url"]))) as stored:
        assert stored.format == fmt and stored.size == (800, 600)
    with Image.open(io.BytesIO(fetch(client, body["thumbnail_url"]))) as thumb:
        assert thumb.width <= 480 and thumb.height <= 360
    assert client.get(f"/api/v1/spaces/{space.pk}").json()["photos"][0]["id"] == body["id"]


def test_exif_is_stripped_and_orientation_applied(api_client, org, in_tenant):
    space = SpaceFactory()
    client = api_client(org, org.owner)

    body = post_photo(client, space, image_bytes("JPEG", (80, 40), exif=True)).json()

    raw = fetch(client, body["url"])
    with Image.open(io.BytesIO(raw)) as stored:
        assert stored.size == (40, 80)  # rotated as the EXIF orientation said, then the tag dropped
        assert MAKE_TAG not in stored.getexif()
        assert "exif" not in stored.info
    assert b"SpyCam" not in raw


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"%PDF-1.4 not an image at all", "room.jpg"),
        (image_bytes("GIF"), "room.png"),
        (image_bytes("JPEG")[:200], "truncated.jpg"),
    ],
)
def test_a_file_that_is_not_an_accepted_image_is_a_400_naming_the_limit(api_client, org, in_tenant, data, name):
    space = SpaceFactory()
    response = post_photo(api_client(org, org.admin), space, data, name=name)

    assert response.status_code == 400
    message = response.json()["image"][0]
    assert "JPEG, PNG or WebP" in message and "10 MB" in message
    assert not SpacePhoto.objects.exists()


def test_a_photo_over_10_mb_is_a_400_naming_the_limit(api_client, org, in_tenant, media_root):
    space = SpaceFactory()
    big = image_bytes("PNG", (10, 10)) + b"\0" * (10 * 1024 * 1024)

    response = post_photo(api_client(org, org.admin), space, big, name="big.png")

    assert response.status_code == 400
    assert "at most 10 MB" in response.json()["image"][0]
    assert not SpacePhoto.objects.exists()
    assert not media_root.exists() or not any(media_root.rglob("*.*"))


def test_an_upload_without_the_image_field_is_a_400(api_client, org, in_tenant):
    space = SpaceFactory()
    client = api_client(org, org.admin)
    response = client.post(photos_url(space), {"picture": upload()}, format="multipart")
    assert response.status_code == 400
    assert "picture" in response.json()
    response = client.post(photos_url(space), {}, format="multipart")
    assert response.status_code == 400 and "image" in response.json()


def test_members_see_photos_but_cannot_upload_arrange_or_delete(api_client, org, in_tenant):
    space = SpaceFactory()
    photo = post_photo(api_client(org, org.admin), space).json()
    member = api_client(org, org.member)

    assert member.get(photos_url(space)).json()[0]["id"] == photo["id"]
    assert post_photo(member, space).status_code == 403
    assert member.put(photos_url(space), {"order": [photo["id"]]}).status_code == 403
    assert member.delete(f"{photos_url(space)}/{photo['id']}").status_code == 403
    assert SpacePhoto.objects.count() == 1


def test_reordering_and_choosing_the_cover(api_client, org, in_tenant):
    space = SpaceFactory()
    client = api_client(org, org.admin)
    ids = [post_photo(client, space).json()["id"] for _ in range(3)]

    response = client.put(photos_url(space), {"order": [ids[2], ids[0], ids[1]], "cover": ids[0]})

    assert response.status_code == 200, response.json()
    assert [(p["id"], p["position"], p["is_cover"]) for p in response.json()] == [
        (ids[2], 0, False),
        (ids[0], 1, True),
        (ids[1], 2, False),
    ]
    bad = client.put(photos_url(space), {"order": [ids[0], ids[1]]})
    assert bad.status_code == 400 and "order" in bad.json()
    assert client.put(photos_url(space), {"order": ids, "cover": 999999}).status_code == 400
    assert client.put(photos_url(space), {"order": ids, "colour": "red"}).status_code == 400


def test_deleting_the_cover_deletes_its_files_and_makes_the_next_the_cover(
    api_client, org, in_tenant, django_capture_on_commit_callbacks
):
    space = SpaceFactory()
    client = api_client(org, org.admin)
    first, second = (post_photo(client, space).json() for _ in range(2))
    names = SpacePhoto.objects.values_list("image", "thumbnail").get(pk=first["id"])

    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"{photos_url(space)}/{first['id']}").status_code == 204

    assert SpacePhoto.objects.get().is_cover and SpacePhoto.objects.get().pk == second["id"]
    assert not any(default_storage.exists(name) for name in names)
    assert client.delete(f"{photos_url(space)}/{first['id']}").status_code == 404


def test_upload_honours_idempotency_key(api_client, org, in_tenant):
    space = SpaceFactory()
    client = api_client(org, org.admin)
    data = image_bytes()

    first = post_photo(client, space, data, HTTP_IDEMPOTENCY_KEY="photo-1")
    again = post_photo(client, space, data, HTTP_IDEMPOTENCY_KEY="photo-1")
    other = post_photo(client, space, image_bytes(colour="red"), HTTP_IDEMPOTENCY_KEY="photo-1")

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    assert other.status_code == 422
    assert SpacePhoto.objects.count() == 1


def test_files_of_one_organization_are_not_reachable_from_another(api_client, org, other_org, in_tenant):
    space = SpaceFactory()
    url = post_photo(api_client(org, org.admin), space).json()["url"]
    assert url.startswith(f"/media/{org.organization.schema_name}/")

    assert api_client(org).get(url).status_code == 200
    assert api_client(other_org, other_org.admin).get(url).status_code == 404
    # A name of this organization with the signature stripped or tampered with is refused too.
    assert api_client(org).get(url.split("?")[0]).status_code == 404
    assert api_client(org).get(url[:-2] + "xx").status_code == 404


def test_large_photos_are_cleaned_and_thumbnailed_by_the_worker_through_the_outbox(
    api_client, org, in_tenant, settings, celery_eager, django_capture_on_commit_callbacks
):
    settings.PHOTO_INLINE_MAX_BYTES = 100
    space = SpaceFactory()
    client = api_client(org, org.admin)

    response = post_photo(client, space, image_bytes("JPEG", (90, 60), exif=True))
    body = response.json()
    # Until the worker is done, the file as uploaded (EXIF and all) has no URL anywhere.
    assert response.status_code == 201 and body["processed"] is False
    assert body["url"] is None and body["thumbnail_url"] is None
    raw = SpacePhoto.objects.get(pk=body["id"]).image.name
    assert client.get(f"/api/v1/spaces/{space.pk}").json()["photos"][0]["url"] is None

    with django_capture_on_commit_callbacks(execute=True):
        outbox_relay()  # beat's job: queue what the request wrote to the outbox; the (eager) worker runs it

    photo = SpacePhoto.objects.get(pk=body["id"])
    assert photo.processed and photo.thumbnail and photo.image.name != raw
    assert not default_storage.exists(raw)
    shown = client.get(photos_url(space)).json()[0]
    with Image.open(io.BytesIO(fetch(client, shown["url"]))) as stored:
        assert stored.size == (60, 90) and MAKE_TAG not in stored.getexif()
    assert shown["thumbnail_url"]


def test_locations_with_floor_plan_and_positions(api_client, org, in_tenant):
    desks = [SpaceFactory(name=f"Desk {n}", kind=Space.Kind.DESK) for n in range(2)]
    client = api_client(org, org.admin)

    location = client.post("/api/v1/locations", {"name": "Second floor"}).json()
    url = f"/api/v1/locations/{location['id']}"
    no_plan = client.put(f"{url}/positions", {"positions": [{"space": desks[0].pk, "x": 0.5, "y": 0.5}]})
    assert no_plan.status_code == 400 and "floor plan" in str(no_plan.json())
    plan = client.post(
        f"{url}/floor-plan", {"image": upload("plan.png", image_bytes("PNG", (1000, 500)))}, format="multipart"
    )
    assert plan.status_code == 200, plan.json()
    assert (plan.json()["floor_plan_width"], plan.json()["floor_plan_height"]) == (1000, 500)
    placed = client.put(
        f"{url}/positions",
        {"positions": [{"space": desks[0].pk, "x": 0.25, "y": 0.75}, {"space": desks[1].pk, "x": 1, "y": 0}]},
    )
    assert placed.status_code == 200, placed.json()
    assert sorted((s["name"], s["x"], s["y"]) for s in placed.json()["spaces"]) == [
        ("Desk 0", 0.25, 0.75),
        ("Desk 1", 1.0, 0.0),
    ]
    assert client.put(f"{url}/positions", {"positions": [{"space": desks[0].pk, "x": 1.5, "y": 0}]}).status_code == 400
    assert client.get(f"/api/v1/spaces/{desks[0].pk}").json()["location_id"] == location["id"]
    member = api_client(org, org.member)
    assert member.get("/api/v1/locations").json()["results"][0]["floor_plan_url"]
    assert member.post("/api/v1/locations", {"name": "Roof"}).status_code == 403
    assert member.patch(url, {"name": "Roof"}).status_code == 403
    assert client.patch(url, {"name": "Floor 2"}).json()["name"] == "Floor 2"
    assert client.post("/api/v1/locations", {"name": "Floor 2"}).status_code == 400
    assert client.delete(url).status_code == 204
    assert not Location.objects.exists()
    assert Space.objects.filter(site__isnull=False).count() == 0


def test_locations_of_another_organization_are_not_found(api_client, org, other_org, in_tenant):
    location = Location.objects.create(name="Annex")
    assert api_client(other_org, other_org.admin).get(f"/api/v1/locations/{location.pk}").status_code == 404


@pytest.mark.parametrize("key", [None, "broken-1"])
def test_a_malformed_multipart_body_is_a_400(api_client, org, in_tenant, key):
    space = SpaceFactory()
    client = api_client(org, org.admin)
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    response = client.generic(
        "POST",
        photos_url(space),
        b'--nope\r\nContent-Disposition: form-data; name="image"\r\n\r\nabc',
        content_type="multipart/form-data",  # no boundary
        **extra,
    )
    assert response.status_code == 400
    assert not SpacePhoto.objects.exists()


def test_a_large_upload_that_cannot_be_decoded_is_dropped_by_the_worker(
    api_client, org, in_tenant, settings, celery_eager, django_capture_on_commit_callbacks
):
    settings.PHOTO_INLINE_MAX_BYTES = 100
    space = SpaceFactory()
    client = api_client(org, org.admin)
    truncated = image_bytes("JPEG", (400, 300))[:700]  # a valid header, then nothing

    response = post_photo(client, space, truncated)
    assert response.status_code == 201, response.json()
    raw = SpacePhoto.objects.get().image.name

    with django_capture_on_commit_callbacks(execute=True):
        outbox_relay()

    assert not SpacePhoto.objects.exists()
    assert not default_storage.exists(raw)
    assert client.get(photos_url(space)).json() == []
