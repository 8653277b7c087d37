"""Test images made with Pillow: real JPEG/PNG/WebP bytes, some with EXIF that must not survive upload."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

GPS_TAG = 0x8825
MAKE_TAG = 0x010F


def image_bytes(fmt: str = "JPEG", size=(64, 48), *, exif: bool = False, colour="teal") -> bytes:
    image = Image.new("RGB", size, colour)
    out = io.BytesIO()
    extra = {}
    if exif:
        data = Image.Exif()
        data[MAKE_TAG] = "SpyCam 3000"
        data[0x0112] = 6  # orientation: rotate 90° when shown
        extra["exif"] = data.tobytes()
    image.save(out, format=fmt, **extra)
    return out.getvalue()


def upload(name: str = "room.jpg", data: bytes | None = None, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes() if data is None else data, content_type=content_type)


def add_photo(test_org, space, fmt: str = "JPEG"):
    """A photo through the service, as an admin uploads it."""
    from spaces.media_services import photo_add

    extension = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[fmt]
    return photo_add(
        actor=test_org.membership(test_org.admin),
        space=space,
        upload=upload(f"p.{extension}", image_bytes(fmt, (320, 240))),
    )
