"""One-click check-in links for the reminder email: signed, bound to one reservation of one organization, and
good until the end of its check-in window. Whoever holds the link may check that booking in, without logging
in, and nothing else; the check-in itself is `reservations.services.reservation_check_in`, as everywhere.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from reservations.models import Reservation
from reservations.services import check_in_window
from tenants.models import Organization

SALT = "reservations.check-in-link"


class CheckInLinkInvalid(Exception):
    """Forged, altered, for another reservation or organization."""


class CheckInLinkExpired(Exception):
    """Genuine, but its check-in window has closed."""


@dataclass(frozen=True)
class CheckInLink:
    reservation_id: int
    expires_at: datetime


def check_in_token_create(*, reservation: Reservation, organization: Organization) -> str:
    _, closes = check_in_window(reservation)
    payload = {"r": reservation.pk, "o": organization.pk, "e": int(closes.timestamp())}
    return signing.dumps(payload, salt=SALT)


def check_in_link(*, reservation: Reservation, organization: Organization) -> str:
    """The absolute link (the organization's site from configuration, never a request's Host)."""
    token = check_in_token_create(reservation=reservation, organization=organization)
    path = reverse(
        "reservations:check-in-link", kwargs={"pk": reservation.pk, "token": token}, urlconf=settings.ROOT_URLCONF
    )
    return organization.link(path)


def check_in_token_read(
    *, token: str, reservation_id: int, organization: Organization, now: datetime | None = None
) -> CheckInLink:
    """What the token allows; raises CheckInLinkInvalid or CheckInLinkExpired."""
    try:
        payload = signing.loads(token, salt=SALT)
    except signing.BadSignature as exc:
        raise CheckInLinkInvalid from exc
    if not isinstance(payload, dict) or payload.get("r") != reservation_id or payload.get("o") != organization.pk:
        raise CheckInLinkInvalid
    expires = payload.get("e")
    if not isinstance(expires, int):
        raise CheckInLinkInvalid
    link = CheckInLink(reservation_id=reservation_id, expires_at=datetime.fromtimestamp(expires, tz=UTC))
    if (now or timezone.now()) >= link.expires_at:
        raise CheckInLinkExpired
    return link
