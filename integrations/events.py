"""The events integrators can subscribe to, and their data: the same representation the API gives.

The services that change things call one function here each (`reservation_changed`, `space_changed`,
`member_changed`) from inside their transaction; `integrations.services.event_publish` records a delivery
per subscribed endpoint and queues it after commit, so a rolled-back change sends nothing.
"""

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.utils import timezone

if TYPE_CHECKING:
    from accounts.models import Membership
    from reservations.models import Reservation
    from spaces.models import Space
    from tenants.models import Organization

EVENT_TYPES: dict[str, str] = {
    "reservation.created": "A reservation was made (confirmed, or pending approval).",
    "reservation.updated": "A reservation's time, space or details changed.",
    "reservation.cancelled": "A reservation was cancelled.",
    "reservation.confirmed": "A pending reservation was approved.",
    "reservation.declined": "A pending reservation was declined.",
    "reservation.expired": "A pending reservation was not approved in time.",
    "reservation.no_show": "Nobody checked in; the reservation was released.",
    "space.created": "A space was created.",
    "space.updated": "A space's settings changed.",
    "space.archived": "A space was archived.",
    "member.joined": "A person joined the organization.",
    "member.updated": "A member's role changed.",
    "member.left": "A person was removed from the organization.",
}
TEST_EVENT = "webhook.test"
# The booking services name their changes; integrators read the API's words.
RESERVATION_EVENT_NAMES = {"changed": "updated"}


def _organization() -> "Organization":
    from tenants.selectors import organization_current

    return organization_current()


def _render(serializer_class: type, instance: Any, organization: "Organization") -> dict:
    """`serializer_class(instance).data` as the API renders it on the organization's host and in its zone."""
    context = {"request": SimpleNamespace(tenant=organization)}
    with timezone.override(organization.timezone):
        return serializer_class(instance, context=context).data


def reservation_event_type(event: str) -> str:
    return "reservation." + RESERVATION_EVENT_NAMES.get(event, event)


def reservation_changed(reservation: "Reservation", event: str, *, subscribed: bool | None = None) -> None:
    """`subscribed`: whether any endpoint wants the event, when the change has asked already (event_publish)."""
    from integrations.services import event_publish
    from reservations.api import ReservationSerializer

    event_publish(
        reservation_event_type(event),
        lambda: _render(ReservationSerializer, reservation, _organization()),
        subscribed=subscribed,
    )


def space_changed(space: "Space", event: str) -> None:
    from integrations.services import event_publish
    from spaces.api import SpaceSerializer

    event_publish(f"space.{event}", lambda: _render(SpaceSerializer, space, _organization()))


def member_changed(membership: "Membership", event: str) -> None:
    """Membership services may run outside the organization's schema (commands, sign-up): publish in it."""
    from django_tenants.utils import schema_context

    from accounts.api import MemberSerializer
    from integrations.services import event_publish

    organization = membership.organization
    if organization.is_public or connection.schema_name not in {organization.schema_name, "public"}:
        return
    with schema_context(organization.schema_name):
        event_publish(f"member.{event}", lambda: _render(MemberSerializer, membership, organization))
