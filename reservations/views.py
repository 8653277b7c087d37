"""Booking pages: book a space, see, change and cancel my reservations, and (owners and admins) everyone's
reservations with approval. Thin: parse, call a selector or service, render. The rules live in
reservations.services; times are shown and typed in the organization's timezone."""

from datetime import date
from datetime import datetime as date_time

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import manager_required, member_required, request_membership
from accounts.selectors import user_list_members
from equipment.selectors import item_list
from equipment.services import EquipmentUnavailable
from reservations import services
from reservations.forms import (
    EQUIPMENT_PREFIX,
    FIELD_MAP,
    PrefillForm,
    RepeatForm,
    ReservationFilterForm,
    ReservationForm,
    SeriesChangeForm,
    WaitlistJoinForm,
    default_slot,
    reservation_initial,
)
from reservations.models import Reservation, WaitlistEntry
from reservations.pricing import Price, reservation_price_lines
from reservations.selectors import (
    reservation_get,
    reservation_list_past,
    reservation_list_upcoming,
    reservation_search,
    series_get,
    waitlist_entry_get,
    waitlist_list,
)
from reservations.services import ReservationConflict
from spacemanager.errors import DomainError, NotFound
from spacemanager.pagination import cursor_page
from spacemanager.web import form_add_error
from spaces.calendar import EN_DASH
from spaces.localtime import in_organization_time, local_today, organization_tz
from spaces.models import Space
from spaces.selectors import space_list, space_list_choices

PER_PAGE = 20


def _reservation_or_404(request: HttpRequest, pk: int) -> Reservation:
    """Someone else's reservation is "not found" to a member, as in the API."""
    try:
        return reservation_get(actor=request_membership(request), reservation_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _next_or(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and safe else fallback


def _bookable_spaces(*, including: int | None = None) -> QuerySet[Space]:
    """Active spaces for the form's list, plus the reservation's own space when it has been archived since."""
    spaces = space_list()
    return spaces.filter(Q(is_active=True) | Q(pk=including)) if including else spaces.filter(is_active=True)


def _form_page(request: HttpRequest, form: ReservationForm, context: dict, *, status: int = 200) -> HttpResponse:
    reservation = context.get("reservation")
    side_space = context.get("fixed_space") or (reservation.space if reservation else None)
    context = {**context, "form": form, "week": _form_day(form), "side_space": side_space}
    return render(request, "reservations/reservation_form.html", context, status=status)


def _add_booking_error(form: ReservationForm, error: DomainError) -> None:
    """A service's refusal on the booking form: a clash next to the time, missing equipment next to its item."""
    if isinstance(error, ReservationConflict):
        form.add_conflict(error)
    elif isinstance(error, EquipmentUnavailable) and f"{EQUIPMENT_PREFIX}{error.extra['item']['id']}" in form.fields:
        form.add_error(f"{EQUIPMENT_PREFIX}{error.extra['item']['id']}", error.message)
    else:
        form_add_error(form, error, field_map=FIELD_MAP)


def _quote(request: HttpRequest, form: ReservationForm) -> tuple[Price | None, DomainError | None]:
    """The price the form's booking would have (reservation_quote: the booking's own path, rolled back)."""
    try:
        return services.reservation_quote(actor=request_membership(request), **form.service_arguments), None
    except DomainError as error:
        return None, error


def _form_day(form: ReservationForm) -> date | None:
    """The day the form is about, when it reads as one (for the link to the space's calendar)."""
    value = form["date"].value()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None


def _when(reservation: Reservation) -> str:
    """ "Monday 10 March, 09:00-10:00" (with an en dash) in the active, the organization's, timezone."""
    starts = timezone.localtime(reservation.starts_at)
    ends = timezone.localtime(reservation.ends_at)
    end = dateformat.format(ends, "H:i" if ends.date() == starts.date() else "l j F, H:i")
    return f"{dateformat.format(starts, 'l j F, H:i')}{EN_DASH}{end}"


@require_GET
@member_required
@in_organization_time
def reservation_mine(request: HttpRequest) -> HttpResponse:
    """My upcoming reservations (soonest first), or my past and cancelled ones (latest first)."""
    actor, now = request_membership(request), timezone.now()
    past = request.GET.get("show") == "past"
    queryset = reservation_list_past(actor=actor, now=now) if past else reservation_list_upcoming(actor=actor, now=now)
    ordering = ("-starts_at", "-id") if past else ("starts_at", "id")
    page = cursor_page(request, queryset, ordering=ordering, per_page=PER_PAGE)
    return render(request, "reservations/reservation_mine.html", {"page": page, "past": past})


@require_http_methods(["GET", "POST"])
@member_required
@in_organization_time
def reservation_create(request: HttpRequest) -> HttpResponse:
    """The booking form. `?space=&date=&start=&end=` prefill it (the calendar's free slots link here); with a
    space in the address the space is fixed and the page is about it."""
    tz, actor = organization_tz(request), request_membership(request)
    prefill = PrefillForm(request.GET).values()
    spaces = _bookable_spaces()
    fixed = spaces.filter(pk=prefill["space"]).first() if "space" in prefill else None
    context = {"fixed_space": fixed}
    members = user_list_members(organization=request.tenant) if actor.is_manager else None
    if request.method == "GET":
        initial = {**default_slot(timezone.now(), tz), **prefill}
        form = ReservationForm(
            initial=initial,
            tz=tz,
            spaces=spaces,
            fixed_space=fixed is not None,
            members=members,
            items=item_list(),
            whole_days=True,
        )
        return _form_page(request, form, {**context, "repeat_form": RepeatForm()})
    form = ReservationForm(
        request.POST,
        tz=tz,
        spaces=spaces,
        fixed_space=fixed is not None,
        members=members,
        items=item_list(),
        whole_days=True,
    )
    repeat_form = RepeatForm(request.POST)
    context["repeat_form"] = repeat_form
    if repeat_form.repeats:
        return _book_series(request, form, repeat_form, context)
    if not repeat_form.is_valid():
        form.is_valid()
        return _form_page(request, form, context, status=400)
    if form.is_valid() and "quote" in request.POST:  # "Show the price" (the page without JavaScript)
        price, error = _quote(request, form)
        if error is None:
            return _form_page(request, form, {**context, "quote": price})
        _add_booking_error(form, error)
    elif form.is_valid():
        try:
            reservation = services.reservation_create(actor=actor, **form.service_arguments)
        except DomainError as exc:
            _add_booking_error(form, exc)
        else:
            if reservation.status == Reservation.Status.PENDING:
                messages.success(
                    request,
                    f"Requested {reservation.space.name}, {_when(reservation)}. An owner or admin will approve it; "
                    "until then the slot is held for you.",
                )
            else:
                messages.success(request, f"Booked {reservation.space.name}, {_when(reservation)}.")
            return redirect("reservations:detail", pk=reservation.pk)
    return _form_page(request, form, context, status=400)


def _preview_rows(result: services.SeriesResult) -> list[dict]:
    """Each date of a series with whether it can be booked and, if not, why: the form's preview."""
    rows = [{"starts_at": r.starts_at, "ends_at": r.ends_at, "free": True, "reason": ""} for r in result.occurrences]
    rows += [
        {"starts_at": s.starts_at, "ends_at": s.ends_at, "free": False, "reason": s.detail} for s in result.skipped
    ]
    return sorted(rows, key=lambda row: row["starts_at"])


def _refused_rows(error: DomainError) -> list[dict]:
    return [
        {
            "starts_at": date_time.fromisoformat(item["starts_at"]),
            "ends_at": date_time.fromisoformat(item["ends_at"]),
            "free": False,
            "reason": item["detail"],
        }
        for item in error.extra.get("occurrences", [])
    ]


def _book_series(request: HttpRequest, form: ReservationForm, repeat_form: RepeatForm, context: dict) -> HttpResponse:
    """The booking form with "Repeat": preview the dates and their clashes, or book them all in one step."""
    if not form.is_valid():
        return _form_page(request, form, context, status=400)
    if form.cleaned_data.get("all_day") or form.cleaned_data.get("end_date"):
        form.add_error("all_day", "A repeating booking has times on one day: give them, or don't repeat.")
        return _form_page(request, form, context, status=400)
    arguments = form.service_arguments
    rule = repeat_form.rule(form.cleaned_data["date"])
    actor = request_membership(request)
    try:
        if "preview" in request.POST:
            result = services.series_preview(
                actor=actor,
                space_id=arguments["space_id"],
                starts_at=arguments["starts_at"],
                ends_at=arguments["ends_at"],
                recurrence=rule,
                attendees=arguments["attendees"],
                equipment=arguments.get("equipment"),
            )
            return _form_page(request, form, {**context, "preview": _preview_rows(result), "rule": rule})
        result = services.series_create(
            actor=actor, recurrence=rule, skip_conflicts=repeat_form.cleaned_data["skip_conflicts"], **arguments
        )
    except DomainError as exc:
        if exc.field == "recurrence":
            repeat_form.add_error(None, exc.message)
        else:
            form.add_error(None, exc.message)
        return _form_page(request, form, {**context, "preview": _refused_rows(exc), "rule": rule}, status=400)
    skipped = (
        f" {len(result.skipped)} date{'s were' if len(result.skipped) != 1 else ' was'} skipped."
        if result.skipped
        else ""
    )
    first = result.occurrences[0]
    messages.success(
        request,
        f"Booked {first.space.name} {len(result.occurrences)} times, from {_when(first)}.{skipped} "
        "One email confirms the whole series.",
    )
    return redirect("reservations:detail", pk=first.pk)


@require_GET
@member_required
@in_organization_time
def reservation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    reservation = _reservation_or_404(request, pk)
    is_mine = reservation.user_id == request.user.pk
    # Where cancelling returns to: the page that sent the person here (a safe `next`), else their list.
    fallback = reverse("reservations:mine") if is_mine else reverse("reservations:all")
    context = {
        "reservation": reservation,
        "is_mine": is_mine,
        "back": _next_or(request, fallback),
        "price_lines": reservation_price_lines(reservation),
    }
    if reservation.space.check_in_required and reservation.status == Reservation.Status.CONFIRMED:
        opens, closes = services.check_in_window(reservation)
        context.update(
            check_in_opens=opens,
            check_in_closes=closes,
            check_in_open=reservation.checked_in_at is None and opens <= timezone.now() < closes,
        )
    return render(request, "reservations/reservation_detail.html", context)


@require_POST
@member_required
@in_organization_time
def reservation_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    """Check in to a booking (the button on its page), over `reservation_check_in`."""
    reservation = _reservation_or_404(request, pk)
    try:
        services.reservation_check_in(actor=request_membership(request), reservation=reservation)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Checked in to {reservation.space.name}, {_when(reservation)}.")
    return redirect("reservations:detail", pk=reservation.pk)


@require_http_methods(["GET", "POST"])
@member_required
@in_organization_time
def reservation_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The booking form again, over `reservation_update` (every booking rule applies to the change)."""
    reservation = _reservation_or_404(request, pk)
    if not reservation.is_active:
        messages.info(request, f"This reservation is {reservation.get_status_display().lower()}; it cannot be changed.")
        return redirect("reservations:detail", pk=reservation.pk)
    tz = organization_tz(request)
    spaces = _bookable_spaces(including=reservation.space_id)
    context = {"reservation": reservation}
    if request.method == "GET":
        form = ReservationForm(initial=reservation_initial(reservation, tz), tz=tz, spaces=spaces, items=item_list())
        return _form_page(request, form, context)
    form = ReservationForm(request.POST, tz=tz, spaces=spaces, items=item_list())
    if form.is_valid():
        arguments = form.service_arguments
        held = sorted((a.item_id, a.quantity) for a in reservation.equipment_allocations.all())
        if sorted((r.item_id, r.quantity) for r in arguments.get("equipment", [])) == held:
            arguments.pop("equipment", None)  # unchanged: an edit of the title keeps its frozen price
        try:
            reservation = services.reservation_update(
                actor=request_membership(request), reservation=reservation, **arguments
            )
        except DomainError as exc:
            _add_booking_error(form, exc)
        else:
            pending = reservation.status == Reservation.Status.PENDING
            messages.success(
                request, "Your changes were saved." + (" The new time waits for approval." if pending else "")
            )
            return redirect("reservations:detail", pk=reservation.pk)
    return _form_page(request, form, context, status=400)


@require_http_methods(["GET", "POST"])
@member_required
@in_organization_time
def reservation_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation (works without JavaScript); POST cancels."""
    reservation = _reservation_or_404(request, pk)
    back = _next_or(request, "")
    if request.method == "GET":
        if not reservation.is_active:
            messages.info(request, f"This reservation is already {reservation.get_status_display().lower()}.")
            return redirect("reservations:detail", pk=reservation.pk)
        context = {"reservation": reservation, "next": back, "when": _when(reservation)}
        return render(request, "reservations/reservation_confirm_cancel.html", context)
    try:
        services.reservation_cancel(actor=request_membership(request), reservation=reservation)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("reservations:detail", pk=reservation.pk)
    messages.success(request, f"Cancelled {reservation.space.name}, {_when(reservation)}. The slot is free again.")
    return redirect(back or "reservations:mine")


@require_POST
@manager_required
@in_organization_time
def reservation_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve a pending reservation (a button on the pages that list them)."""
    reservation = _reservation_or_404(request, pk)
    try:
        services.reservation_confirm(actor=request_membership(request), reservation=reservation)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Approved {reservation.user.get_full_name()}'s booking of {reservation.space.name}, {_when(reservation)}.",
        )
    return redirect(_next_or(request, "reservations:all"))


@require_GET
@manager_required
@in_organization_time
def reservation_all(request: HttpRequest) -> HttpResponse:
    """Everyone's reservations, filtered by space, status and days (owners and admins)."""
    tz = organization_tz(request)
    # Without filters: from today on, the list an admin needs first.
    filtered = any(name != "cursor" for name in request.GET)
    data = request.GET if filtered else {"date_from": local_today(tz).isoformat()}
    form = ReservationFilterForm(data, tz=tz, spaces=space_list_choices())
    if form.is_valid():
        queryset, status = reservation_search(actor=request_membership(request), **form.filters), 200
    else:
        queryset, status = Reservation.objects.none(), 400
    page = cursor_page(request, queryset, ordering=("starts_at", "id"), per_page=PER_PAGE)
    context = {"form": form, "page": page, "here": request.get_full_path()}
    return render(request, "reservations/reservation_all.html", context, status=status)


def _series_scope(request: HttpRequest, pk: int):
    """The series, and the occurrence `?from=<reservation id>` names (this and the following), or None (all)."""
    actor = request_membership(request)
    try:
        series = series_get(actor=actor, series_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    raw = request.POST.get("from") or request.GET.get("from") or ""
    start = None
    if raw:
        occurrence = next((r for r in series.occurrences.all() if str(r.pk) == raw), None)
        if occurrence is None:
            raise Http404("No such occurrence in this series.")
        start = occurrence
    upcoming = [r for r in series.occurrences.all() if r.is_active and r.starts_at > timezone.now()]
    if start is not None:
        upcoming = [r for r in upcoming if r.series_starts_at >= start.series_starts_at]
    return series, start, upcoming


@require_http_methods(["GET", "POST"])
@member_required
@in_organization_time
def series_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel this and the following occurrences (`?from=`), or all not started yet: GET asks, POST cancels."""
    series, start, upcoming = _series_scope(request, pk)
    if request.method == "GET":
        context = {"series": series, "start": start, "upcoming": upcoming}
        return render(request, "reservations/series_confirm_cancel.html", context)
    try:
        cancelled = services.series_cancel(
            actor=request_membership(request),
            series=series,
            from_starts_at=start.series_starts_at if start else None,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("reservations:mine")
    messages.success(
        request,
        f"Cancelled {len(cancelled)} date{'s' if len(cancelled) != 1 else ''} of the series. One email tells you.",
    )
    return redirect("reservations:mine")


@require_http_methods(["GET", "POST"])
@member_required
@in_organization_time
def series_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change this and the following occurrences (`?from=`), or all not started yet, each re-checked."""
    series, start, upcoming = _series_scope(request, pk)
    if not upcoming:
        messages.info(request, "No date of this series is left to change.")
        return redirect("reservations:mine")
    anchor = upcoming[0]
    tz = organization_tz(request)
    day = anchor.starts_at.astimezone(tz).date()
    context = {"series": series, "start": start, "upcoming": upcoming, "anchor": anchor}
    if request.method == "GET":
        initial = reservation_initial(anchor, tz)
        form = SeriesChangeForm(initial=initial, tz=tz, day=day)
        return render(request, "reservations/series_form.html", {**context, "form": form})
    form = SeriesChangeForm(request.POST, tz=tz, day=day)
    if form.is_valid():
        try:
            changed = services.series_update(
                actor=request_membership(request),
                series=series,
                from_starts_at=start.series_starts_at if start else None,
                **form.service_arguments,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
            context["refused"] = _refused_rows(exc)
        else:
            messages.success(request, f"Changed {len(changed)} date{'s' if len(changed) != 1 else ''} of the series.")
            return redirect("reservations:detail", pk=changed[0].pk)
    return render(request, "reservations/series_form.html", {**context, "form": form}, status=400)


@require_GET
@member_required
@in_organization_time
def reservation_quote(request: HttpRequest) -> HttpResponse:
    """The booking form's price, as its fields change (htmx GET with the form's fields): what booking it would
    cost, or why it cannot be booked. Books nothing."""
    form = ReservationForm(
        request.GET, tz=organization_tz(request), spaces=_bookable_spaces(), items=item_list(), whole_days=True
    )
    price = error = None
    if form.is_valid():
        price, domain_error = _quote(request, form)
        error = domain_error.message if domain_error else None
    return render(request, "reservations/_quote.html", {"quote": price, "quote_error": error, "form": form})


# The waitlist (services.waitlist_join / waitlist_leave): "Join the waitlist" next to a clash, and my entries.


@require_GET
@member_required
@in_organization_time
def waitlist_mine(request: HttpRequest) -> HttpResponse:
    """My waitlist: the slots I wait for (soonest first) with a button to leave each, and what became of the rest."""
    return _waitlist_page(request, WaitlistJoinForm())


def _waitlist_page(request: HttpRequest, form: WaitlistJoinForm, status: int = 200) -> HttpResponse:
    actor = request_membership(request)
    entries = waitlist_list(actor=actor).filter(user_id=actor.user_id)
    waiting = entries.filter(status=WaitlistEntry.Status.WAITING).order_by("starts_at", "pk")
    others = entries.exclude(status=WaitlistEntry.Status.WAITING).order_by("-starts_at", "-pk")[:20]
    context = {"waiting": waiting, "others": others, "join_form": form}
    return render(request, "reservations/waitlist_mine.html", context, status=status)


@require_POST
@member_required
@in_organization_time
def waitlist_join(request: HttpRequest) -> HttpResponse:
    """Wait for the slot the booking form found taken (its hidden fields), over `waitlist_join`."""
    form = WaitlistJoinForm(request.POST)
    if not form.is_valid():
        return _waitlist_page(request, form, status=400)
    try:
        entry = services.waitlist_join(actor=request_membership(request), **form.cleaned_data)
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _waitlist_page(request, form, status=400)
    messages.success(
        request, f"You are on the waitlist for {entry.space.name}, {_when(entry)}. If it frees, it is booked for you."
    )
    return redirect("reservations:waitlist")


@require_POST
@member_required
def waitlist_leave(request: HttpRequest, pk: int) -> HttpResponse:
    """Leave the waitlist for one slot (mine; owners and admins may remove anyone's), over `waitlist_leave`."""
    actor = request_membership(request)
    try:
        entry = waitlist_entry_get(actor=actor, entry_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    services.waitlist_leave(actor=actor, entry=entry)
    messages.success(request, f"You left the waitlist for {entry.space.name}.")
    return redirect("reservations:waitlist")
