"""A closure declared while a booking of the same slot is in flight: the booking either lands first and is
listed as affected, or waits for the closure and is refused. Threads on their own connections."""

import threading
from datetime import UTC, datetime, timedelta

from django.db import connection, connections

from accounts.models import Membership
from reservations.services import reservation_create
from reservations.tests.test_database import racing_organization  # noqa: F401 (a fixture)
from spacemanager.errors import ValidationFailed
from spaces.services import closure_create
from spaces.tests.factories import SpaceFactory


def test_a_booking_racing_a_closure_is_either_listed_as_affected_or_refused(racing_organization, django_db_blocker):  # noqa: F811
    organization = racing_organization.organization
    with django_db_blocker.unblock():
        connection.set_tenant(organization)
        space = SpaceFactory()
        connection.set_schema_to_public()
        owner = Membership.objects.select_related("user", "organization").get(pk=racing_organization.membership.pk)
        starts_at = (datetime.now(tz=UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        barrier = threading.Barrier(2)
        outcome: dict[str, object] = {}

        def run(name, call) -> None:
            try:
                connection.set_tenant(organization)
                barrier.wait(timeout=30)
                outcome[name] = call()
            except ValidationFailed as error:
                outcome[name] = error
            finally:
                connections.close_all()

        def booking():
            return reservation_create(
                actor=owner, space_id=space.pk, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1)
            )

        def closing():
            return closure_create(
                actor=owner,
                starts_at=starts_at - timedelta(hours=1),
                ends_at=starts_at + timedelta(hours=2),
                reason="Leak",
            )

        threads = [threading.Thread(target=run, args=args) for args in (("booking", booking), ("closure", closing))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        if isinstance(outcome["booking"], ValidationFailed):
            assert outcome["booking"].code == "closed"
        else:
            assert [r.pk for r in outcome["closure"].affected] == [outcome["booking"].pk]
