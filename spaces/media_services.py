"""Writes for photos and floor plans: uploading, thumbnails, ordering, the cover, locations and where spaces
sit on their plans. Pages, the API and the worker call these; none of them checks a rule itself.

Files are written through the default storage before the row commits; a failed transaction deletes what it
wrote, and a deleted row's files are removed only after the commit, so no row ever names a missing file.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Max

from accounts.models import Membership
from spacemanager.errors import NotFound, PermissionDenied, ValidationFailed
from spaces.images import FORMATS, CleanImage, image_check, image_clean, image_thumbnail, tenant_file_name
from spaces.models import Location, Space, SpacePhoto


@dataclass(frozen=True)
class Placement:
    space_id: int
    x: float
    y: float


def _require_manager(actor: Membership) -> None:
    if not actor.is_manager:
        raise PermissionDenied("Only owners and admins manage photos, locations and floor plans.")


def _delete_files_after_commit(*names: str) -> None:
    names = tuple(name for name in names if name)
    if names:
        transaction.on_commit(lambda: [default_storage.delete(name) for name in names])


def _store(clean: CleanImage, kind: str) -> str:
    """Write the cleaned file now; `_atomic_files` deletes it again if the transaction fails."""
    name = default_storage.save(tenant_file_name(kind, clean.extension), clean.content)
    _rollbacks().append(name)
    return name


def _rollbacks() -> list[str]:
    """Names written in the current transaction, deleted by `_atomic_files` if it fails."""
    connection = transaction.get_connection()
    if not hasattr(connection, "_media_written"):
        connection._media_written = []
    return connection._media_written


class _atomic_files:
    """A transaction whose files are deleted when it fails (storage is not transactional)."""

    def __enter__(self):
        _rollbacks().clear()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()

    def __exit__(self, kind, value, traceback):
        written = list(_rollbacks())
        _rollbacks().clear()
        try:
            return self._atomic.__exit__(kind, value, traceback)
        finally:
            if kind is not None:
                for name in written:
                    default_storage.delete(name)


def _thumbnail_store(photo: SpacePhoto, data: bytes) -> None:
    content, extension = image_thumbnail(data=data)
    photo.thumbnail.name = default_storage.save(tenant_file_name("thumbnail", extension), content)
    _rollbacks().append(photo.thumbnail.name)


def photo_add(*, actor: Membership, space: Space, upload) -> SpacePhoto:
    """Add a photo at the end of the space's photos (the first one is the cover).

    The image is checked by content here. Up to PHOTO_INLINE_MAX_BYTES it is also re-encoded without metadata
    and given its thumbnail here; a larger one is stored as uploaded, without a URL, and a worker does both
    (spaces.tasks.photo_process, queued through the outbox in this transaction).
    """
    from spaces.tasks import photo_process
    from tenants.outbox import outbox_write

    _require_manager(actor)
    inline = upload is not None and getattr(upload, "size", 0) <= settings.PHOTO_INLINE_MAX_BYTES
    if inline:
        clean = image_clean(upload=upload)
    else:
        kind, width, height = image_check(upload=upload)
        clean = CleanImage(ContentFile(upload.read()), FORMATS[kind][0], width, height)  # as uploaded, for now
    with _atomic_files():
        Space.objects.select_for_update().filter(pk=space.pk).first()  # one writer of positions and the cover
        last = SpacePhoto.objects.filter(space=space).aggregate(last=Max("position"))["last"]
        photo = SpacePhoto(
            space=space,
            size=clean.content.size,
            position=0 if last is None else last + 1,
            is_cover=last is None,
            processed=inline,
            width=clean.width,
            height=clean.height,
        )
        photo.image.name = _store(clean, "photo" if inline else "upload")
        if inline:
            clean.content.seek(0)
            _thumbnail_store(photo, clean.content.read())
        photo.save()
        if not inline:
            outbox_write(photo_process, photo.pk)
    return photo


def photo_process(*, photo_id: int) -> bool:
    """Clean a large photo (metadata removed) and make its thumbnail: the worker's task. False when there is
    nothing to do (done already, or the photo was deleted); a file that turns out unreadable is deleted."""
    with _atomic_files():
        photo = SpacePhoto.objects.select_for_update().filter(pk=photo_id).first()
        if photo is None or photo.processed:
            return False
        raw = photo.image.name
        with default_storage.open(raw, "rb") as original:
            data = original.read()
        try:
            clean = image_clean(upload=ContentFile(data))
        except ValidationFailed:
            photo.delete()  # it passed the request's checks but cannot be decoded: nobody could see it
            _delete_files_after_commit(raw)
            return False
        photo.image.name = _store(clean, "photo")
        clean.content.seek(0)
        _thumbnail_store(photo, clean.content.read())
        photo.processed, photo.size = True, clean.content.size
        photo.width, photo.height = clean.width, clean.height
        photo.save()
        _delete_files_after_commit(raw)
    return True


def _photo_get(space: Space, photo_id: int) -> SpacePhoto:
    photo = SpacePhoto.objects.filter(space=space, pk=photo_id).first()
    if photo is None:
        raise NotFound("No such photo of this space.")
    return photo


@transaction.atomic
def photo_delete(*, actor: Membership, space: Space, photo_id: int) -> None:
    """Delete a photo and its files; when it was the cover, the first of the others becomes the cover."""
    _require_manager(actor)
    Space.objects.select_for_update().filter(pk=space.pk).first()
    photo = _photo_get(space, photo_id)
    photo.delete()
    _delete_files_after_commit(photo.image.name, photo.thumbnail.name)
    if photo.is_cover:
        first = SpacePhoto.objects.filter(space=space).order_by("position", "id").first()
        if first is not None:
            SpacePhoto.objects.filter(pk=first.pk).update(is_cover=True)


@transaction.atomic
def photos_arrange(*, actor: Membership, space: Space, order: Sequence[int], cover: int | None = None) -> None:
    """Put the space's photos in `order` (every photo id, each once) and make `cover` (or the first) the cover."""
    _require_manager(actor)
    Space.objects.select_for_update().filter(pk=space.pk).first()
    ids = set(SpacePhoto.objects.filter(space=space).values_list("pk", flat=True))
    if len(order) != len(set(order)) or set(order) != ids:
        raise ValidationFailed(f"List every photo of this space once, in the new order: {sorted(ids)}.", field="order")
    if cover is not None and cover not in ids:
        raise ValidationFailed("The cover must be one of this space's photos.", field="cover")
    cover = cover if cover is not None else (order[0] if order else None)
    SpacePhoto.objects.filter(space=space).update(is_cover=False)
    photos = {photo.pk: photo for photo in SpacePhoto.objects.filter(space=space)}
    for position, photo_id in enumerate(order):
        photos[photo_id].position = position
        photos[photo_id].is_cover = photo_id == cover
    SpacePhoto.objects.bulk_update(photos.values(), ["position", "is_cover"])


def _location_save(location: Location) -> Location:
    try:
        location.full_clean()
    except Exception as exc:
        messages = getattr(exc, "message_dict", None)
        if messages:
            field, errors = next(iter(messages.items()))
            raise ValidationFailed(" ".join(errors), field=field) from exc
        raise
    try:
        with transaction.atomic():
            location.save()
    except IntegrityError as exc:  # a racing create with the same name
        raise ValidationFailed("A location with this name exists already.", field="name") from exc
    return location


@transaction.atomic
def location_create(*, actor: Membership, name: str, description: str = "") -> Location:
    _require_manager(actor)
    return _location_save(Location(name=name.strip(), description=description))


@transaction.atomic
def location_update(*, actor: Membership, location: Location, name: str | None = None, description=None) -> Location:
    _require_manager(actor)
    if name is not None:
        location.name = name.strip()
    if description is not None:
        location.description = description
    return _location_save(location)


@transaction.atomic
def location_delete(*, actor: Membership, location: Location) -> None:
    """Delete a location and its floor plan; its spaces stay, no longer in a location nor on a plan."""
    _require_manager(actor)
    Space.objects.filter(site=location).update(site=None, plan_x=None, plan_y=None)
    name = location.floor_plan.name
    location.delete()
    _delete_files_after_commit(name)


def location_floor_plan_set(*, actor: Membership, location: Location, upload) -> Location:
    """Give the location a (new) floor plan; spaces keep their places, which are fractions of the plan."""
    _require_manager(actor)
    clean = image_clean(upload=upload)
    with _atomic_files():
        old = Location.objects.select_for_update().get(pk=location.pk).floor_plan.name
        location.floor_plan.name = _store(clean, "floor-plan")
        location.floor_plan_width, location.floor_plan_height = clean.width, clean.height
        location.save(update_fields=["floor_plan", "floor_plan_width", "floor_plan_height", "updated_at"])
        _delete_files_after_commit(old)
    return location


def _check_place(location: Location, x: float, y: float, field: str) -> None:
    if not location.floor_plan:
        raise ValidationFailed("Upload a floor plan for this location before placing spaces on it.", field=field)
    if not (0 <= x <= 1 and 0 <= y <= 1):
        raise ValidationFailed(
            "x and y are fractions of the plan's width and height, from 0 to 1 (top-left is 0, 0).", field=field
        )


@transaction.atomic
def space_place(*, actor: Membership, space: Space, location: Location, x: float, y: float) -> Space:
    """Put a space at (x, y) on the location's plan (the space moves into that location)."""
    _require_manager(actor)
    _check_place(location, x, y, "x")
    Space.objects.filter(pk=space.pk).update(site=location, plan_x=x, plan_y=y)
    space.site, space.plan_x, space.plan_y = location, x, y
    return space


@transaction.atomic
def location_positions_set(*, actor: Membership, location: Location, placements: Sequence[Placement]) -> None:
    """Replace where spaces sit on the plan: the listed ones move there (into this location); the location's
    other spaces stay in it, off the plan."""
    _require_manager(actor)
    ids = [placement.space_id for placement in placements]
    if len(ids) != len(set(ids)):
        raise ValidationFailed("Each space may be placed once.", field="positions")
    for index, placement in enumerate(placements):
        _check_place(location, placement.x, placement.y, f"positions[{index}]")
    known = set(Space.objects.filter(pk__in=ids).values_list("pk", flat=True))
    missing = sorted(set(ids) - known)
    if missing:
        raise ValidationFailed(f"No such space here: {missing}.", field="positions")
    Space.objects.filter(site=location).exclude(pk__in=ids).update(plan_x=None, plan_y=None)
    for placement in placements:
        Space.objects.filter(pk=placement.space_id).update(site=location, plan_x=placement.x, plan_y=placement.y)


def image_missing() -> None:
    """The answer to an upload without a file in `image`."""
    raise ValidationFailed(
        f"Send a JPEG, PNG or WebP image of at most {settings.IMAGE_MAX_BYTES // (1024 * 1024)} MB in the "
        "multipart field `image`.",
        field="image",
    )
