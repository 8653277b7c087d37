"""Uploaded images (space photos, floor plans): checked by their content, re-encoded without metadata, and
stored through Django's storage API under a prefix per organization.

Why re-encode: a photo straight from a phone carries EXIF (GPS position, device serial); saving the decoded
pixels again (after applying the EXIF orientation) drops every metadata block whatever the format. Why the
prefix: one bucket (or one media folder) holds every organization's files; a name always starts with the
organization's schema, and the media view and the URLs refuse a name outside the current organization's.
"""

import io
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.core.signing import BadSignature, SignatureExpired, TimestampSigner
from django.db import connection
from django.urls import reverse
from PIL import Image, ImageOps, UnidentifiedImageError
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

from spacemanager.errors import ValidationFailed

# Pillow's format name -> file extension and MIME type; anything else is refused, whatever its name says.
FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp")}
THUMBNAIL_SIZE = (480, 360)
# Re-encoding: good quality, and the encoders' faster settings (WebP's default effort takes seconds at 12 MP).
ENCODER_OPTIONS = {"JPEG": {"quality": 90}, "WEBP": {"quality": 90, "method": 2}, "PNG": {"compress_level": 3}}


@dataclass(frozen=True)
class CleanImage:
    content: ContentFile
    extension: str
    width: int
    height: int


def _limit_text() -> str:
    return f"{settings.IMAGE_MAX_BYTES // (1024 * 1024)} MB"


def image_check(*, upload, field: str = "image") -> tuple[str, int, int]:
    """The upload's format (JPEG, PNG or WEBP) and size in pixels once its content is checked, or
    ValidationFailed (400) naming the limits. Fast: the structure is verified without decoding the pixels."""
    allowed = "a JPEG, PNG or WebP image"
    if upload is None or not hasattr(upload, "read"):
        raise ValidationFailed(f"Send {allowed} (at most {_limit_text()}) as a file.", field=field)
    if upload.size > settings.IMAGE_MAX_BYTES:
        raise ValidationFailed(
            f"The file is {upload.size / (1024 * 1024):.1f} MB; images may be at most {_limit_text()}.", field=field
        )
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            kind, (width, height) = probe.format, probe.size
            probe.verify()  # structure and checksums, without decoding every pixel
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationFailed(
            f"This file is not {allowed} that can be read ({exc.__class__.__name__}); send {allowed} of at most "
            f"{_limit_text()}.",
            field=field,
        ) from exc
    finally:
        upload.seek(0)
    if kind not in FORMATS:
        raise ValidationFailed(f"This is a {kind} file; send {allowed} (at most {_limit_text()}).", field=field)
    if width * height > settings.IMAGE_MAX_PIXELS:
        raise ValidationFailed(
            f"The image is {width} x {height} pixels; at most {settings.IMAGE_MAX_PIXELS // 1_000_000} megapixels "
            "are accepted.",
            field=field,
        )
    return kind, width, height


def image_clean(*, upload, field: str = "image") -> CleanImage:
    """The upload as a JPEG, PNG or WebP without metadata, or ValidationFailed (400) naming the limits."""
    kind, _, _ = image_check(upload=upload, field=field)
    try:
        with Image.open(upload) as image:
            upright = ImageOps.exif_transpose(image)
            if kind == "JPEG" and upright.mode not in ("RGB", "L"):
                upright = upright.convert("RGB")
            out = io.BytesIO()
            # No exif=, no icc_profile=, no pnginfo=: nothing of the original's metadata is written.
            upright.save(out, format=kind, **ENCODER_OPTIONS[kind])
            width, height = upright.size
    except (Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:  # truncated past the header
        raise ValidationFailed(
            f"This file is not a JPEG, PNG or WebP image that can be read ({exc.__class__.__name__}); send one of "
            f"at most {_limit_text()}.",
            field=field,
        ) from exc
    return CleanImage(ContentFile(out.getvalue()), FORMATS[kind][0], width, height)


def image_thumbnail(*, data: bytes) -> tuple[ContentFile, str]:
    """A JPEG (or PNG, keeping transparency) at most THUMBNAIL_SIZE, and its extension."""
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail(THUMBNAIL_SIZE)
        out = io.BytesIO()
        if image.mode in ("RGBA", "LA", "P"):
            image.save(out, format="PNG", optimize=True)
            return ContentFile(out.getvalue()), "png"
        image.convert("RGB").save(out, format="JPEG", quality=82)
        return ContentFile(out.getvalue()), "jpg"


def tenant_prefix() -> str:
    """Every stored name of this organization starts with this (its schema)."""
    return f"{connection.schema_name}/"


def tenant_file_name(kind: str, extension: str) -> str:
    """A new unguessable name inside the current organization's prefix."""
    return f"{tenant_prefix()}{kind}/{uuid.uuid4().hex}.{extension}"


def upload_to(instance, filename: str) -> str:
    """For ImageFields: keep the name the service chose (already prefixed), or make one from its extension."""
    if filename.startswith(tenant_prefix()):
        return filename
    return tenant_file_name(instance._meta.model_name, filename.rsplit(".", 1)[-1].lower())


class SignedFileSystemStorage(FileSystemStorage):
    """Local files (`.data/media/` by default) with URLs like S3's signed ones: a signature over the name
    that expires, checked by the media view (spaces.views.media_file) on the organization's own host."""

    signer_salt = "spaces.media"

    def url(self, name: str | None) -> str:
        if not name:
            return ""
        signature = TimestampSigner(salt=self.signer_salt).sign(name).rsplit(":", 2)
        return f"{reverse('media', kwargs={'name': name})}?t={signature[1]}&s={signature[2]}"

    def name_from_signature(self, name: str, stamp: str, signature: str) -> str | None:
        """The name when the signature is right and not older than MEDIA_URL_EXPIRY_SECONDS."""
        try:
            return TimestampSigner(salt=self.signer_salt).unsign(
                f"{name}:{stamp}:{signature}", max_age=settings.MEDIA_URL_EXPIRY_SECONDS
            )
        except (BadSignature, SignatureExpired):
            return None


class S3MediaStorage(S3Storage):
    """django-storages' S3 backend; presigned URLs name S3_PUBLIC_ENDPOINT_URL when set, so browsers get an
    address they reach (Compose: the web container talks to http://minio:9000, a browser to localhost)."""

    def url(self, name, parameters=None, expire=None, http_method=None):
        public = settings.S3_PUBLIC_ENDPOINT_URL
        if not public:
            return super().url(name, parameters=parameters, expire=expire, http_method=http_method)
        client = self._public_client()
        params = {"Bucket": self.bucket_name, "Key": self._normalize_name(clean_name(name)), **(parameters or {})}
        return client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expire or self.querystring_expire, HttpMethod=http_method
        )

    def _public_client(self):
        if getattr(self, "_public", None) is None:
            self._public = self._create_session().client(
                "s3",
                region_name=self.region_name,
                endpoint_url=settings.S3_PUBLIC_ENDPOINT_URL,
                config=self.client_config,
            )
        return self._public
