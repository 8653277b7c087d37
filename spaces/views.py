"""Pages about spaces: the list with its filters and the free-space search, a space's page with its week
calendar, and (owners and admins) creating, editing, archiving and restoring spaces. Thin: parse, call a
selector or service, render. The rules live in spaces.services and reservations.services."""

from collections.abc import Callable
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import is_manager, manager_required, member_required, request_membership
from accounts.models import Membership
from accounts.selectors import user_list_members
from reservations import services as reservation_services
from reservations.forms import FIELD_MAP, ReservationForm
from reservations.models import Reservation
from reservations.selectors import reservation_count_upcoming
from reservations.services import ReservationConflict
from spacemanager.errors import DomainError, NotFound
from spacemanager.web import form_add_error
from spaces import services
from spaces.calendar import EN_DASH, describe_rows, week_calendar, week_start_of, week_window, weekly_rows
from spaces.display_views import check_in_qr_svg
from spaces.displays import display_link_list
from spaces.forms import ClosureForm, ScheduleForm, SpaceForm, SpaceSearchForm, WeekForm
from spaces.hours import WeeklyInterval
from spaces.localtime import day_window, in_organization_time, local_today, organization_tz
from spaces.models import Closure, Space
from spaces.schedule import schedule_grid
from spaces.selectors import (
    closure_affected_reservations,
    closure_get,
    closure_list,
    schedule_day,
    space_amenities,
    space_availability,
    space_counts,
    space_get,
    space_list,
    space_list_available,
    space_list_managed,
    space_locations,
)

SPACES_PER_PAGE = 24


def _space_or_404(pk: int) -> Space:
    try:
        return space_get(space_id=pk, photos=True)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@require_GET
@member_required
@in_organization_time
def space_list_page(request: HttpRequest) -> HttpResponse:
    """Active spaces, filtered like the API; with "free from … until …", only those free the whole time."""
    tz = organization_tz(request)
    form = SpaceSearchForm(request.GET or None, tz=tz, amenities=space_amenities())
    spaces = space_list(filters={}, photos=True)
    free_window = None
    if form.is_bound and form.is_valid():
        try:
            spaces = space_list(filters=form.filters, photos=True)
            starts_at, ends_at = form.cleaned_data["starts_at"], form.cleaned_data["ends_at"]
            if starts_at is not None and ends_at is not None:
                attendees = form.cleaned_data.get("capacity_min") or 1
                spaces = space_list_available(
                    starts_at=starts_at, ends_at=ends_at, tz=tz, queryset=spaces, attendees=attendees
                )
                free_window = (starts_at, ends_at)
        except DomainError as exc:
            form_add_error(form, exc)
    status = 400 if form.errors else 200
    page = Paginator(spaces if not form.errors else spaces.none(), SPACES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "free_window": free_window,
        "booking_query": _booking_query(
            free_window,
            tz,
            attendees=form.cleaned_data.get("capacity_min") if form.is_bound and not form.errors else None,
        ),
        "query": _query_without_page(request),
    }
    return render(request, "spaces/space_list.html", context, status=status)


def _booking_query(window, tz, *, attendees: int | None = None) -> str:
    """The booking form's prefill for the free-space search: its interval, when it fits in one local day, and
    its "at least N people" as the attendees."""
    people = f"&attendees={attendees}" if attendees else ""
    if window is None:
        return people
    starts, ends = (instant.astimezone(tz) for instant in window)
    midnight_after = ends.hour == 0 and ends.minute == 0 and ends.date() == starts.date() + timedelta(days=1)
    if starts.date() != ends.date() and not midnight_after:
        return people
    return f"&date={starts:%Y-%m-%d}&start={starts:%H:%M}&end={ends:%H:%M}{people}"


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@require_GET
@member_required
@in_organization_time
def space_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The space's details and its week calendar (`?week=` any day of the week to show). htmx asks for the
    calendar alone when switching weeks; browsers without JavaScript get the whole page."""
    space = _space_or_404(pk)
    tz = organization_tz(request)
    now = timezone.now()
    today = local_today(tz, now)
    week_form = WeekForm(request.GET, today=today)
    status = 200
    if week_form.is_valid():
        week_start = week_start_of(week_form.cleaned_data["week"])
    else:
        week_start, status = week_start_of(today), 400
        messages.error(request, "That is not a week we can show; here is this week.")
    starts_at, ends_at = week_window(week_start, tz)
    rows = weekly_rows(space)
    availability = space_availability(
        space=space, starts_at=starts_at, ends_at=ends_at, tz=tz, viewer=request_membership(request)
    )
    calendar = week_calendar(availability=availability, rows=rows, week_start=week_start, tz=tz, now=now)
    context = {"space": space, "calendar": calendar, "hours": describe_rows(rows), "today": today}
    partial = request.htmx and not request.htmx.history_restore_request
    if not partial and is_manager(request_membership(request)):  # room displays and the check-in QR code
        context["display_links"] = display_link_list(space=space)
        context["check_in_qr"] = check_in_qr_svg(request, space.pk)
    partial = request.htmx and not request.htmx.history_restore_request
    template = "spaces/_calendar.html" if partial else "spaces/space_detail.html"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
@manager_required
@in_organization_time
def space_manage(request: HttpRequest) -> HttpResponse:
    """Every space, archived ones too, with what managers act on: hours, upcoming bookings, state."""
    page = Paginator(space_list_managed(now=timezone.now()), SPACES_PER_PAGE).get_page(request.GET.get("page"))
    counts = space_counts()
    context = {
        "page": page,
        "spaces": page.object_list,
        "active_count": counts["active"],
        "archived_count": counts["archived"],
    }
    return render(request, "spaces/space_manage.html", context)


@require_http_methods(["GET", "POST"])
@manager_required
def space_create(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(
            request, "spaces/space_form.html", {"form": SpaceForm(initial=SpaceForm.initial_for_new(request.tenant))}
        )
    form = SpaceForm(request.POST)
    space = _save_space(form, services.space_create, actor=request_membership(request))
    if space is None:
        return render(request, "spaces/space_form.html", {"form": form}, status=400)
    messages.success(request, f"{space.name} was created. People can book it now.")
    return redirect("spaces:detail", pk=space.pk)


@require_http_methods(["GET", "POST"])
@manager_required
def space_edit(request: HttpRequest, pk: int) -> HttpResponse:
    space = _space_or_404(pk)
    if request.method == "GET":
        form = SpaceForm(initial=SpaceForm.initial_for(space, weekly_rows(space)))
        return render(request, "spaces/space_form.html", {"form": form, "space": space})
    form = SpaceForm(request.POST)
    actor = request_membership(request)
    choice = form.cleaned_data.get("affected_bookings") if form.is_valid() else None
    if form.is_valid() and not choice:
        # Say which bookings the new hours or capacity leave out before saving, and let the admin choose.
        try:
            affected = services.space_update_affected(
                actor=actor, space=space, data=form.space_values, opening_hours=form.cleaned_data["opening_hours"]
            )
        except DomainError as exc:
            _add_space_error(form, exc)
            return render(request, "spaces/space_form.html", {"form": form, "space": space}, status=400)
        if affected:
            form.add_error(
                "affected_bookings",
                f"{len(affected)} upcoming booking{'s' if len(affected) != 1 else ''} would no longer fit. "
                "Keep them or cancel them, then save again.",
            )
            context = {"form": form, "space": space, "affected": affected}
            return render(request, "spaces/space_form.html", context, status=400)
    saved = _save_space(form, _update, actor=actor, space=space, cancel_affected=choice == "cancel")
    if saved is None:
        return render(request, "spaces/space_form.html", {"form": form, "space": space}, status=400)
    messages.success(
        request,
        f"{saved.name} was saved."
        + (" The bookings it no longer allows were cancelled." if choice == "cancel" else ""),
    )
    return redirect("spaces:detail", pk=saved.pk)


def _update(
    *, actor: Membership, space: Space, opening_hours: list[WeeklyInterval], cancel_affected: bool = False, **values
) -> Space:
    return services.space_update(
        actor=actor, space=space, data=values, opening_hours=opening_hours, cancel_affected=cancel_affected
    )


def _save_space(form: SpaceForm, save: Callable[..., Space], **arguments) -> Space | None:
    """Call the service with the form's values; None, with the errors on the form, when it refuses."""
    if not form.is_valid():
        return None
    try:
        return save(opening_hours=form.cleaned_data["opening_hours"], **form.space_values, **arguments)
    except DomainError as exc:
        _add_space_error(form, exc)
    except ValidationError as exc:  # the model's own checks (full_clean), e.g. an amenity tag
        form_add_error(form, exc)
    return None


def _add_space_error(form: SpaceForm, error: DomainError) -> None:
    if error.field == "opening_hours":
        form.add_error(form.hours_field_for(error.message), error.message)
    else:
        form_add_error(form, error)


@require_http_methods(["GET", "POST"])
@manager_required
@in_organization_time
def space_archive(request: HttpRequest, pk: int) -> HttpResponse:
    """GET says what archiving does (how many bookings it cancels); POST archives."""
    space = _space_or_404(pk)
    if request.method == "GET":
        upcoming = reservation_count_upcoming(space_id=space.pk, now=timezone.now())
        return render(request, "spaces/space_confirm_archive.html", {"space": space, "upcoming": upcoming})
    result = services.space_archive(actor=request_membership(request), space=space)
    cancelled = result.cancelled_reservations
    messages.success(
        request,
        f"{space.name} was archived. "
        + (
            f"{cancelled} upcoming reservation{'s were' if cancelled != 1 else ' was'} cancelled."
            if cancelled
            else "It had no upcoming reservations."
        ),
    )
    return redirect("spaces:manage")


@require_POST
@manager_required
def space_restore(request: HttpRequest, pk: int) -> HttpResponse:
    space = _space_or_404(pk)
    services.space_update(actor=request_membership(request), space=space, data={"is_active": True})
    messages.success(
        request, f"{space.name} is bookable again. Reservations cancelled when it was archived stay cancelled."
    )
    return redirect("spaces:detail", pk=space.pk)


def _closure_or_404(pk: int) -> Closure:
    try:
        return closure_get(closure_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _told(result: services.ClosureResult) -> str:
    cancelled, kept = len(result.cancelled), len(result.affected)
    parts = []
    if cancelled:
        parts.append(f"{cancelled} booking{'s were' if cancelled != 1 else ' was'} cancelled and the bookers told why.")
    if kept:
        parts.append(f"{kept} booking{'s are' if kept != 1 else ' is'} still inside it: decide below.")
    return " ".join(parts) or "No booking was inside it."


@require_http_methods(["GET", "POST"])
@manager_required
@in_organization_time
def closure_list_page(request: HttpRequest) -> HttpResponse:
    """Closures not over yet, and the form that declares one (owners and admins)."""
    tz = organization_tz(request)
    spaces = space_list(filters={})
    form = ClosureForm(request.POST or None, tz=tz, spaces=spaces)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.closure_create(actor=request_membership(request), **form.service_arguments)
        except DomainError as exc:
            form_add_error(form, exc, field_map={"starts_at": "start", "ends_at": "end"})
        else:
            messages.success(request, f"Closed: {result.closure.reason}. {_told(result)}")
            return redirect("spaces:closure", pk=result.closure.pk)
    context = {"form": form, "closures": list(closure_list(filters={"ends_after": timezone.now()}))}
    return render(request, "spaces/closure_list.html", context, status=400 if form.is_bound else 200)


@require_GET
@manager_required
@in_organization_time
def closure_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A closure with the bookings still inside it, and what the manager can do about them."""
    closure = _closure_or_404(pk)
    affected = list(closure_affected_reservations(closure=closure, now=timezone.now()))
    return render(request, "spaces/closure_detail.html", {"closure": closure, "affected": affected})


@require_POST
@manager_required
def closure_cancel_affected(request: HttpRequest, pk: int) -> HttpResponse:
    closure = _closure_or_404(pk)
    result = services.closure_update(actor=request_membership(request), closure=closure, data={}, cancel_affected=True)
    messages.success(request, _told(result))
    return redirect("spaces:closure", pk=closure.pk)


@require_POST
@manager_required
def closure_delete(request: HttpRequest, pk: int) -> HttpResponse:
    closure = _closure_or_404(pk)
    services.closure_delete(actor=request_membership(request), closure=closure)
    messages.success(request, f"Reopened: {closure.reason} is no longer a closure. Cancelled bookings stay cancelled.")
    return redirect("spaces:closures")


SCHEDULE_ROWS_PER_PAGE = 50


@require_http_methods(["GET", "POST"])
@member_required
@in_organization_time
def schedule(request: HttpRequest) -> HttpResponse:
    """One day of every space (filtered, a page of rows at a time). POST books from the inline form (htmx) with
    the booking service; success redirects back to the same day and filters, which htmx follows and swaps."""
    tz, now, actor = organization_tz(request), timezone.now(), request_membership(request)
    today = local_today(tz, now)
    form = ScheduleForm(request.GET, today=today, amenities=space_amenities(), locations=space_locations())
    booking = None
    members = user_list_members(organization=request.tenant) if actor.is_manager else None
    if request.method == "POST":
        booking = ReservationForm(request.POST, tz=tz, spaces=space_list().filter(is_active=True), members=members)
        reservation = _book(booking, actor)
        if reservation is not None:
            data = booking.cleaned_data
            when = f"{data['date']:%A %d %B}, {data['start']:%H:%M}{EN_DASH}{data['end']:%H:%M}"
            messages.success(request, f"Booked {reservation.space.name}, {when}.")
            return redirect(request.get_full_path())
    grid, status = None, 400 if booking is not None else 200
    if form.is_valid():
        starts_at, ends_at = day_window(form.day, tz)
        try:
            rows = schedule_day(
                starts_at=starts_at,
                ends_at=ends_at,
                viewer=actor,
                filters=form.filters,
                location=form.cleaned_data["location"],
                page_number=form.cleaned_data["page"] or 1,
                per_page=SCHEDULE_ROWS_PER_PAGE,
            )
        except DomainError as exc:
            form_add_error(form, exc)
        else:
            grid = schedule_grid(schedule=rows, day=form.day, tz=tz, now=now)
    if form.errors:
        status = 400
    query = request.GET.copy()
    query.pop("page", None)
    day_query = query.copy()
    day_query.pop("date", None)
    context = {
        "form": form,
        "grid": grid,
        "page": rows.page if grid is not None else None,
        "query": query.urlencode(),
        "day_query": day_query.urlencode(),
        "booking": booking,
        "members": members,
        "today": today,
        "is_filtered": any(request.GET.get(name) for name in ("kind", "location", "amenity", "capacity_min")),
    }
    partial = request.htmx and not request.htmx.history_restore_request
    template = "spaces/_schedule.html" if partial else "spaces/schedule.html"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _book(form: ReservationForm, actor: Membership) -> Reservation | None:
    """Book with the form's values; None, with the service's refusal (a clash included) on the form."""
    if not form.is_valid():
        return None
    try:
        return reservation_services.reservation_create(actor=actor, **form.service_arguments)
    except ReservationConflict as exc:
        form.add_conflict(exc)
    except DomainError as exc:
        form_add_error(form, exc, field_map=FIELD_MAP)
    return None
