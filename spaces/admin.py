"""Spaces in an organization's admin (`<slug>.BASE_DOMAIN/admin/`): saved and archived through spaces.services."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Now
from django.http import HttpRequest

from reservations.models import Reservation
from spacemanager.admin import ServiceForm, ServiceInline, ServiceModelAdmin, adopt, organization_admin_site
from spaces.hours import WeeklyInterval
from spaces.models import Closure, OpeningHours, Space
from spaces.services import SPACE_FIELDS, closure_create, closure_update, space_archive, space_create, space_update


class SpaceForm(ServiceForm):
    class Meta:
        help_texts = {
            "is_active": "Unticking archives the space: nobody can book it any more, and its reservations that "
            "have not started yet are cancelled.",
            "amenities": "Comma-separated tags, e.g. projector,whiteboard.",
        }


class OpeningHoursInline(ServiceInline):
    model = OpeningHours
    fields = ["weekday", "opens_at", "closes_at"]
    verbose_name_plural = "opening hours (none: bookable at any time; once set, a weekday without rows is closed)"


def opening_hours_from(formset) -> list[WeeklyInterval]:
    return [
        WeeklyInterval(form.cleaned_data["weekday"], form.cleaned_data["opens_at"], form.cleaned_data["closes_at"])
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


@admin.register(Space, site=organization_admin_site)
class SpaceAdmin(ServiceModelAdmin):
    form = SpaceForm
    inlines = [OpeningHoursInline]
    list_display = [
        "name",
        "kind",
        "capacity",
        "location",
        "hourly_rate",
        "requires_approval",
        "upcoming_reservations",
        "is_active",
    ]
    list_filter = ["is_active", "kind", "requires_approval"]
    search_fields = ["name", "location", "description"]
    actions = ["archive"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "capacity", "location", "description", "amenities", "is_active"]}),
        (
            "Booking rules",
            {
                "fields": [
                    "hourly_rate",
                    "half_day_rate",
                    "day_rate",
                    "requires_approval",
                    "min_duration_minutes",
                    "max_duration_minutes",
                    "max_days_ahead",
                    "buffer_before_minutes",
                    "buffer_after_minutes",
                    "max_upcoming_per_member",
                    "max_hours_per_week_per_member",
                    "check_in_required",
                    "check_in_grace_minutes",
                ]
            },
        ),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]
    readonly_fields = ["created_at", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Space]:
        # The count is part of the page's query, whatever the number of rows.
        return (
            super()
            .get_queryset(request)
            .annotate(
                upcoming_count=Count(
                    "reservations",
                    filter=Q(reservations__status__in=Reservation.ACTIVE_STATUSES, reservations__ends_at__gt=Now()),
                )
            )
        )

    @admin.display(description="upcoming reservations", ordering="upcoming_count")
    def upcoming_reservations(self, space: Space) -> int:
        return space.upcoming_count

    def save_through_service(self, request: HttpRequest, form: SpaceForm, formsets: list, change: bool) -> None:
        actor = self.actor(request)
        hours = next((formset for formset in formsets if formset.model is OpeningHours), None)
        intervals = opening_hours_from(hours) if hours is not None and hours.has_changed() else None
        if change:
            data = {field: form.cleaned_data[field] for field in form.changed_data if field in SPACE_FIELDS}
            space = space_update(actor=actor, space=form.instance, data=data, opening_hours=intervals)
        else:
            data = {field: form.cleaned_data[field] for field in SPACE_FIELDS if field in form.cleaned_data}
            space = space_create(actor=actor, **data, opening_hours=intervals)
        adopt(form.instance, space)

    @admin.action(description="Archive selected spaces (cancels their upcoming reservations)", permissions=["change"])
    def archive(self, request: HttpRequest, queryset: QuerySet[Space]) -> None:
        results = self.run_action(
            request,
            queryset,
            lambda actor, space: space_archive(actor=actor, space=space),
            done="Archived {count} space(s).",
        )
        cancelled = sum(result.cancelled_reservations for result in results)
        if cancelled:
            self.message_user(request, f"Cancelled {cancelled} upcoming reservation(s) of the archived spaces.")


class ClosureForm(ServiceForm):
    cancel_affected = forms.BooleanField(
        required=False,
        label="Cancel the bookings inside it",
        help_text="Each booker gets an email giving the reason. Otherwise they are kept.",
    )


@admin.register(Closure, site=organization_admin_site)
class ClosureAdmin(ServiceModelAdmin):
    """Closures, declared and changed through spaces.services (bookings inside listed or cancelled there)."""

    form = ClosureForm
    list_display = ["reason", "starts_at", "ends_at", "closed_spaces"]
    fields = ["reason", "starts_at", "ends_at", "spaces", "cancel_affected"]
    filter_horizontal = ["spaces"]
    ordering = ["-starts_at"]

    @admin.display(description="spaces")
    def closed_spaces(self, closure: Closure) -> str:
        return ", ".join(space.name for space in closure.spaces.all()) or "Every space"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Closure]:
        return super().get_queryset(request).prefetch_related("spaces")

    def save_through_service(self, request: HttpRequest, form: ClosureForm, formsets: list, change: bool) -> None:
        values = {
            "starts_at": form.cleaned_data["starts_at"],
            "ends_at": form.cleaned_data["ends_at"],
            "reason": form.cleaned_data["reason"],
            "space_ids": [space.pk for space in form.cleaned_data["spaces"]],
        }
        cancel = form.cleaned_data["cancel_affected"]
        if change:
            result = closure_update(
                actor=self.actor(request), closure=form.instance, data=values, cancel_affected=cancel
            )
        else:
            result = closure_create(actor=self.actor(request), cancel_affected=cancel, **values)
        adopt(form.instance, result.closure)
        left = len(result.affected)
        if result.cancelled:
            messages.info(
                request, f"{len(result.cancelled)} booking(s) inside it were cancelled; the bookers were told why."
            )
        if left:
            messages.warning(
                request, f"{left} booking(s) inside it are kept. Tick “Cancel the bookings inside it” to cancel them."
            )
