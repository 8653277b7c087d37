"""Equipment pages: everyone sees the catalogue; owners and admins add, change and delete items and see each
item's use over a week. Thin: parse, call a selector or service, render."""

from datetime import timedelta

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import manager_required, member_required, request_membership
from equipment import services
from equipment.forms import ItemForm, WeekForm
from equipment.models import Item
from equipment.selectors import item_get, item_list, item_week_use
from spacemanager.errors import DomainError, NotFound
from spacemanager.web import form_add_error
from spaces.localtime import in_organization_time, local_today, organization_tz


def _item_or_404(pk: int) -> Item:
    try:
        return item_get(item_id=pk)
    except NotFound as error:
        raise Http404(error.message) from error


@require_GET
@member_required
def item_list_page(request: HttpRequest) -> HttpResponse:
    return render(request, "equipment/item_list.html", {"items": item_list()})


@require_http_methods(["GET", "POST"])
@manager_required
def item_create_page(request: HttpRequest) -> HttpResponse:
    form = ItemForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            item = services.item_create(actor=request_membership(request), **form.service_arguments)
        except DomainError as error:
            form_add_error(form, error)
        else:
            messages.success(request, f"{item.name} was added. Bookings can take it along now.")
            return redirect("equipment:list")
    status = 400 if request.method == "POST" else 200
    return render(request, "equipment/item_form.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@manager_required
def item_edit_page(request: HttpRequest, pk: int) -> HttpResponse:
    item = _item_or_404(pk)
    form = ItemForm(request.POST or None, initial=ItemForm.initial_for(item))
    if request.method == "POST" and form.is_valid():
        try:
            item = services.item_update(actor=request_membership(request), item=item, **form.service_arguments)
        except DomainError as error:
            form_add_error(form, error)
        else:
            messages.success(request, f"{item.name} was saved.")
            return redirect("equipment:list")
    status = 400 if request.method == "POST" else 200
    return render(request, "equipment/item_form.html", {"form": form, "item": item}, status=status)


@require_POST
@manager_required
def item_delete_page(request: HttpRequest, pk: int) -> HttpResponse:
    item = _item_or_404(pk)
    try:
        services.item_archive(actor=request_membership(request), item=item)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("equipment:edit", pk=item.pk)
    messages.success(request, f"{item.name} was deleted.")
    return redirect("equipment:list")


@require_GET
@manager_required
@in_organization_time
def item_week_page(request: HttpRequest, pk: int) -> HttpResponse:
    """An item's use over one local week (`?week=` any day of it): most held at once and free per day."""
    item = _item_or_404(pk)
    tz = organization_tz(request)
    form = WeekForm(request.GET)
    day = (form.cleaned_data.get("week") if form.is_valid() else None) or local_today(tz)
    monday = day - timedelta(days=day.weekday())
    context = {
        "item": item,
        "days": item_week_use(item=item, monday=monday, tz=tz),
        "monday": monday,
        "previous_week": monday - timedelta(days=7),
        "next_week": monday + timedelta(days=7),
    }
    return render(request, "equipment/item_week.html", context)
