"""Reservations in an organization's admin (`<slug>.BASE_DOMAIN/admin/`), through reservations.services.

The same rules as the API: no double booking (a conflict is a form error with the 409 message), opening hours,
durations, capacity. A reservation added here is booked by the acting admin (the services book for their
actor); people book for themselves through the site or the API.
"""

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.selectors import user_emails, user_ids_matching
from reservations.models import Reservation
from reservations.services import (
    reservation_cancel,
    reservation_confirm,
    reservation_create,
    reservation_update,
)
from spacemanager.admin import ServiceForm, ServiceModelAdmin, adopt, organization_admin_site

FORM_FIELDS = ["space", "starts_at", "ends_at", "title", "notes", "attendees"]


def service_argument(field: str, value: Any) -> tuple[str, Any]:
    """A form field as the services' keyword: they take the space by id."""
    return ("space_id", value.pk) if field == "space" else (field, value)


class ReservationChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        # People live in the public schema and reservations keep a bare user id: one query for the page.
        self.result_list = list(self.result_list)
        emails = user_emails(user_ids=(reservation.user_id for reservation in self.result_list))
        for reservation in self.result_list:
            reservation.user_email = emails.get(reservation.user_id)


@admin.register(Reservation, site=organization_admin_site)
class ReservationAdmin(ServiceModelAdmin):
    list_display = ["starts_at", "ends_at", "space", "booked_by", "status", "attendees", "price", "title"]
    list_display_links = ["starts_at"]
    list_select_related = ["space"]
    list_filter = ["status", "space"]
    search_fields = ["title", "space__name"]  # and the email of who booked (get_search_results)
    search_help_text = "Title, space name or the email of who booked."
    date_hierarchy = "starts_at"
    actions = ["cancel", "confirm"]
    fields = [
        *FORM_FIELDS,
        "status",
        "booked_by",
        "price",
        "created_at",
        "updated_at",
        "cancelled_at",
        "checked_in_at",
    ]
    readonly_fields = ["status", "booked_by", "price", "created_at", "updated_at", "cancelled_at", "checked_in_at"]

    def get_changelist(self, request: HttpRequest, **kwargs):
        return ReservationChangeList

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Reservation], search_term: str):
        term = search_term.strip()
        if not term:
            return queryset, False
        matches = (
            Q(title__icontains=term)
            | Q(space__name__icontains=term)
            | Q(user_id__in=user_ids_matching(email_contains=term))
        )
        return queryset.filter(matches), False

    @admin.display(description="booked by")
    def booked_by(self, reservation: Reservation) -> str:
        if reservation.user_id is None:
            return "you (the acting admin)"
        email = getattr(reservation, "user_email", None)
        if email is None:  # the change page: one reservation, one lookup
            email = user_emails(user_ids=[reservation.user_id]).get(reservation.user_id)
        return email or f"unknown account #{reservation.user_id}"

    def action_label(self, reservation: Reservation) -> str:
        return f"{reservation.space.name}, {timezone.localtime(reservation.starts_at):%a %d %b %Y %H:%M}"

    def save_through_service(self, request: HttpRequest, form: ServiceForm, formsets: list, change: bool) -> None:
        actor = self.actor(request)
        if not change:
            values = dict(service_argument(field, form.cleaned_data[field]) for field in FORM_FIELDS)
            adopt(form.instance, reservation_create(actor=actor, **values))
            return
        changes = dict(
            service_argument(field, form.cleaned_data[field]) for field in form.changed_data if field in FORM_FIELDS
        )
        if changes:
            adopt(form.instance, reservation_update(actor=actor, reservation=form.instance, **changes))

    @admin.action(description="Cancel selected reservations", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Reservation]) -> None:
        self.run_action(
            request,
            queryset.exclude(status=Reservation.Status.CANCELLED),
            lambda actor, reservation: reservation_cancel(actor=actor, reservation=reservation),
            done="Cancelled {count} reservation(s).",
            nothing="The selected reservations were already cancelled.",
        )

    @admin.action(description="Confirm selected pending reservations", permissions=["change"])
    def confirm(self, request: HttpRequest, queryset: QuerySet[Reservation]) -> None:
        self.run_action(
            request,
            queryset.exclude(status=Reservation.Status.CONFIRMED),
            lambda actor, reservation: reservation_confirm(actor=actor, reservation=reservation),
            done="Confirmed {count} reservation(s).",
            nothing="The selected reservations were already confirmed.",
        )
