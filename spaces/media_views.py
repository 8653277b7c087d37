"""Pages of photos and floor plans (thin: parse, call spaces.media_services or a selector, render), and the
local media files.

Local media files (the default storage without S3) are served on the organization's own host.
A URL is good only with its signature (spaces.images.SignedFileSystemStorage, like S3's presigned URLs) and
only on the host of the organization whose prefix the name starts with: one organization's files are never
reachable from another's site, whatever the name.
"""

import mimetypes

from django.contrib import messages
from django.core.files.storage import storages
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.access import manager_required, member_required, request_membership
from reservations.forms import default_slot
from spacemanager.errors import DomainError, NotFound
from spacemanager.web import form_add_error
from spaces import media_services
from spaces.images import SignedFileSystemStorage, tenant_prefix
from spaces.localtime import in_organization_time, organization_tz
from spaces.media_forms import ImageUploadForm, LocationForm, PlaceForm, PlanTimeForm
from spaces.media_selectors import location_get, location_list, location_spots, photo_list
from spaces.models import Location, Space
from spaces.selectors import space_get


@require_safe
def media_file(request: HttpRequest, name: str) -> FileResponse:
    storage = storages["default"]  # the instance itself (default_storage is a lazy wrapper)
    if not isinstance(storage, SignedFileSystemStorage):
        raise Http404("Files are served by the object storage.")
    if connection.schema_name == "public" or not name.startswith(tenant_prefix()) or ".." in name.split("/"):
        raise Http404("No such file here.")
    if storage.name_from_signature(name, request.GET.get("t", ""), request.GET.get("s", "")) != name:
        raise Http404("This link is not valid (or has expired); reload the page for a new one.")
    if not storage.exists(name):
        raise Http404("No such file here.")
    response = FileResponse(storage.open(name, "rb"), content_type=mimetypes.guess_type(name)[0])
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _space_or_404(pk: int) -> Space:
    try:
        return space_get(space_id=pk, photos=True)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _location_or_404(pk: int) -> Location:
    try:
        return location_get(location_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _photos_page(request: HttpRequest, space: Space, form: ImageUploadForm, status: int = 200) -> HttpResponse:
    context = {"space": space, "photos": list(photo_list(space=space)), "form": form}
    return render(request, "spaces/space_photos.html", context, status=status)


@require_http_methods(["GET", "POST"])
@manager_required
def space_photos(request: HttpRequest, pk: int) -> HttpResponse:
    """A space's photos in their order, with the upload form (owners and admins)."""
    space = _space_or_404(pk)
    if request.method == "GET":
        return _photos_page(request, space, ImageUploadForm())
    form = ImageUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            media_services.photo_add(actor=request_membership(request), space=space, upload=form.cleaned_data["image"])
        except DomainError as exc:
            form_add_error(form, exc)
        else:
            messages.success(request, f"Added a photo of {space.name}.")
            return redirect("spaces:photos", pk=space.pk)
    return _photos_page(request, space, form, status=400)


@require_POST
@manager_required
def space_photo_change(request: HttpRequest, pk: int, photo_id: int) -> HttpResponse:
    """Make a photo the cover, move it earlier or later, or delete it."""
    space = _space_or_404(pk)
    actor = request_membership(request)
    action = request.POST.get("action", "")
    order = [photo.pk for photo in photo_list(space=space)]
    if photo_id not in order or action not in {"cover", "earlier", "later", "delete"}:
        raise Http404("No such photo of this space.")
    if action == "delete":
        media_services.photo_delete(actor=actor, space=space, photo_id=photo_id)
        messages.success(request, "Deleted the photo.")
        return redirect("spaces:photos", pk=space.pk)
    cover = next((photo.pk for photo in space.photos.all() if photo.is_cover), None)
    if action == "cover":
        cover = photo_id
    else:
        index = order.index(photo_id)
        other = index - 1 if action == "earlier" else index + 1
        if 0 <= other < len(order):
            order[index], order[other] = order[other], order[index]
    media_services.photos_arrange(actor=actor, space=space, order=order, cover=cover)
    messages.success(request, "Saved the photos' order." if action != "cover" else "Chose the cover photo.")
    return redirect("spaces:photos", pk=space.pk)


@require_http_methods(["GET", "POST"])
@member_required
def location_list_page(request: HttpRequest) -> HttpResponse:
    """Locations with their floor plans; owners and admins add locations here."""
    form = LocationForm(request.POST or None)
    if request.method == "POST":
        actor = request_membership(request)
        if not actor.is_manager:
            raise Http404("Only owners and admins add locations.")
        if form.is_valid():
            try:
                location = media_services.location_create(actor=actor, **form.cleaned_data)
            except DomainError as exc:
                form_add_error(form, exc)
            else:
                messages.success(request, f"Added {location.name}. Upload its floor plan, then place spaces on it.")
                return redirect("spaces:location", pk=location.pk)
    context = {"form": form, "locations": list(location_list())}
    return render(request, "spaces/location_list.html", context, status=400 if form.errors else 200)


def _plan_page(
    request: HttpRequest,
    location: Location,
    *,
    plan_form: ImageUploadForm | None = None,
    place_form: PlaceForm | None = None,
    status: int = 200,
) -> HttpResponse:
    tz = organization_tz(request)
    time_form = PlanTimeForm(request.GET or default_slot(timezone.now(), tz), tz=tz)
    spots = []
    if time_form.is_valid():
        try:
            spots = location_spots(
                location=location,
                starts_at=time_form.cleaned_data["starts_at"],
                ends_at=time_form.cleaned_data["ends_at"],
                tz=tz,
            )
        except DomainError as exc:
            form_add_error(time_form, exc, field_map={"available_to": "end"})
    manager = request_membership(request).is_manager
    context = {
        "location": location,
        "time_form": time_form,
        "when": time_form.booking_fields() if time_form.is_valid() else None,
        "spots": spots,
        "unplaced": [space for space in location.spaces.all() if space.plan_x is None],
        "is_manager": manager,
    }
    if manager:
        context["plan_form"] = plan_form or ImageUploadForm()
        context["place_form"] = place_form or PlaceForm(spaces=Space.objects.filter(is_active=True))
    if time_form.errors and status == 200:
        status = 400
    return render(request, "spaces/location_plan.html", context, status=status)


@require_safe
@member_required
@in_organization_time
def location_plan(request: HttpRequest, pk: int) -> HttpResponse:
    """The floor plan: each placed space free or busy for the chosen time; a free one books in one click
    (through the booking form's own view). Owners and admins upload the plan and place spaces on it."""
    return _plan_page(request, _location_or_404(pk))


@require_POST
@manager_required
@in_organization_time
def location_floor_plan(request: HttpRequest, pk: int) -> HttpResponse:
    location = _location_or_404(pk)
    form = ImageUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            media_services.location_floor_plan_set(
                actor=request_membership(request), location=location, upload=form.cleaned_data["image"]
            )
        except DomainError as exc:
            form_add_error(form, exc)
        else:
            messages.success(request, "Saved the floor plan. Click on it to place spaces.")
            return redirect("spaces:location", pk=location.pk)
    return _plan_page(request, location, plan_form=form, status=400)


@require_POST
@manager_required
@in_organization_time
def location_place(request: HttpRequest, pk: int) -> HttpResponse:
    location = _location_or_404(pk)
    form = PlaceForm(request.POST, spaces=Space.objects.filter(is_active=True))
    if form.is_valid():
        data = form.cleaned_data
        try:
            media_services.space_place(
                actor=request_membership(request), space=data["space"], location=location, x=data["x"], y=data["y"]
            )
        except DomainError as exc:
            form_add_error(form, exc)
        else:
            messages.success(request, f"Placed {data['space'].name} on {location.name}.")
            return redirect("spaces:location", pk=location.pk)
    return _plan_page(request, location, place_form=form, status=400)
