"""Realistic demo data for development, screenshots and the load benchmark (`manage.py seed_demo`).

Not a service: it writes in bulk (COPY for reservations) so that 200,000 reservations take seconds, and it
builds only data the booking rules accept — reservations of one space never overlap and fall inside its
opening hours — while the database's constraints still check every row.
"""

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Membership, User
from reservations.models import Reservation
from spaces.models import OpeningHours, Space
from tenants.models import Organization

WEEKDAYS = range(0, 5)
EVERY_DAY = range(0, 7)
# (weekdays, opens, closes) patterns; None means no opening hours (bookable any time).
HOURS_PATTERNS: list[tuple[range, time, time] | None] = [
    (WEEKDAYS, time(8), time(20)),
    (WEEKDAYS, time(8), time(20)),
    (WEEKDAYS, time(8), time(20)),
    (EVERY_DAY, time(7), time(22)),
    None,
]
# Bookings in always-open spaces still happen at human hours.
DEFAULT_DAY = (time(7), time(23))

SCIENTISTS = [
    "Ada", "Curie", "Darwin", "Euler", "Faraday", "Galileo", "Hopper", "Kepler", "Lovelace", "Meitner",
    "Newton", "Noether", "Pascal", "Planck", "Turing", "Volta",
]  # fmt: skip
AMENITIES = [
    "projector", "whiteboard", "video", "screen", "phone", "standing-desk", "kitchen", "sound-system",
    "natural-light", "wheelchair-access",
]  # fmt: skip
TITLES = [
    "Team stand-up", "Design review", "Client call", "Workshop", "Interview", "Planning", "1:1", "Focus time",
    "Training", "Board meeting", "Retrospective", "Demo day", "Hackathon", "Lunch & learn", "Photo shoot",
]  # fmt: skip
FIRST_NAMES = ["Alex", "Sam", "Noor", "Lea", "Yuki", "Omar", "Ines", "Tom", "Maya", "Jonas", "Priya", "Luca"]
LAST_NAMES = ["Martin", "Garcia", "Kim", "Dubois", "Rossi", "Novak", "Silva", "Berg", "Okafor", "Ito"]

KINDS = [
    # kind, weight, capacity range, hourly rate range, requires approval
    (Space.Kind.MEETING_ROOM, 40, (4, 16), (15, 60), False),
    (Space.Kind.DESK, 30, (1, 1), (3, 8), False),
    (Space.Kind.OFFICE, 15, (2, 8), (20, 45), False),
    (Space.Kind.STUDIO, 10, (2, 10), (40, 120), False),
    (Space.Kind.EVENT_HALL, 5, (40, 300), (150, 400), True),
]


@dataclass
class SeedResult:
    organization: Organization
    created: bool
    spaces: int
    reservations: int
    invoices: int = 0  # last month's drafts


def _space_name(kind: str, index: int) -> str:
    if kind == Space.Kind.MEETING_ROOM:
        return f"{SCIENTISTS[index % len(SCIENTISTS)]} room" + (
            f" {index // len(SCIENTISTS) + 1}" if index >= 16 else ""
        )
    if kind == Space.Kind.DESK:
        return f"Desk {index + 1}"
    if kind == Space.Kind.OFFICE:
        return f"Office {index // 10 + 1}.{index % 10 + 1:02d}"
    if kind == Space.Kind.STUDIO:
        return f"Studio {chr(65 + index % 26)}" + (f"{index // 26 + 1}" if index >= 26 else "")
    return "Main hall" if index == 0 else f"Hall {index + 1}"


def seed_people(organization: Organization, *, members: int, password: str, rng: random.Random) -> list[int]:
    """The owner exists already; add an admin and `members` members, all with `password`."""
    slug = organization.slug
    password_hash = make_password(password)  # once: hashing 1,000 times would take minutes
    people = [User(email=f"admin@{slug}.example.com", full_name="Avery Admin", password=password_hash)]
    people += [
        User(
            email=f"member{number}@{slug}.example.com",
            full_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            password=password_hash,
        )
        for number in range(1, members + 1)
    ]
    User.objects.bulk_create(people, ignore_conflicts=True)
    users = list(User.objects.filter(email__in=[person.email for person in people]))
    Membership.objects.bulk_create(
        [
            Membership(
                user=user,
                organization=organization,
                role=Membership.Role.ADMIN if user.email.startswith("admin@") else Membership.Role.MEMBER,
            )
            for user in users
        ],
        ignore_conflicts=True,
    )
    return list(Membership.objects.filter(organization=organization).values_list("user_id", flat=True))


def seed_spaces(count: int, *, rng: random.Random) -> list[tuple[Space, tuple[range, time, time] | None]]:
    kinds = rng.choices(KINDS, weights=[kind[1] for kind in KINDS], k=count)
    per_kind: dict[str, int] = {}
    spaces, patterns = [], []
    for kind, _weight, (low, high), (rate_low, rate_high), approval in kinds:
        index = per_kind[kind] = per_kind.get(kind, -1) + 1
        pattern = rng.choice(HOURS_PATTERNS)
        spaces.append(
            Space(
                name=_space_name(kind, index),
                kind=kind,
                description=f"A {Space.Kind(kind).label.lower()} for up to {high} people.",
                capacity=rng.randint(low, high),
                location=f"Building {rng.choice('ABC')}, floor {rng.randint(0, 4)}",
                amenities=sorted(rng.sample(AMENITIES, rng.randint(0, 4))),
                hourly_rate=(hourly := Decimal(rng.randint(rate_low, rate_high))),
                half_day_rate=hourly * 3,  # a half day (up to 4 h) costs 3 h, a day 6 h
                day_rate=hourly * 6,
                requires_approval=approval,
                min_duration_minutes=30,
                max_duration_minutes=12 * 60,
            )
        )
        patterns.append(pattern)
    Space.objects.bulk_create(spaces)
    OpeningHours.objects.bulk_create(
        [
            OpeningHours(space=space, weekday=weekday, opens_at=pattern[1], closes_at=pattern[2])
            for space, pattern in zip(spaces, patterns, strict=True)
            if pattern is not None
            for weekday in pattern[0]
        ]
    )
    return list(zip(spaces, patterns, strict=True))


def _slots(
    pattern: tuple[range, time, time] | None, days: list[date], wanted: int, rng: random.Random
) -> Iterator[tuple[date, time, int]]:
    """Non-overlapping (day, local start, minutes) inside the opening hours, spread over `days`."""
    open_days = [day for day in days if pattern is None or day.weekday() in pattern[0]]
    if not open_days or wanted <= 0:
        return
    opens, closes = (pattern[1], pattern[2]) if pattern else DEFAULT_DAY
    day_minutes = (closes.hour * 60 + closes.minute) - (opens.hour * 60 + opens.minute)
    per_day = -(-wanted // len(open_days))  # ceiling
    if per_day == 1:  # fewer bookings than days: spread them over past and coming weeks alike
        open_days = sorted(rng.sample(open_days, wanted))
    made = 0
    for day in open_days:
        cursor = opens.hour * 60 + opens.minute
        end = cursor + day_minutes
        for _ in range(per_day):
            gap = rng.choice([0, 0, 30, 60]) if per_day > 3 else rng.choice([0, 30, 60, 90, 120])
            length = rng.choice([30, 60, 60, 90, 120])
            start = cursor + gap
            if start + length > end or made >= wanted:
                break
            yield day, time(start // 60, start % 60), length
            made += 1
            cursor = start + length


def seed_reservations(
    organization: Organization,
    spaces: list[tuple[Space, tuple[range, time, time] | None]],
    *,
    count: int,
    user_ids: list[int],
    rng: random.Random,
    progress: Callable[[int], None] = lambda done: None,
) -> int:
    """About `count` reservations from 8 weeks ago to 8 weeks ahead (further when that is too tight)."""
    tz = ZoneInfo(organization.timezone)
    now = timezone.now()
    today = now.astimezone(tz).date()
    weeks = max(8, -(-count // max(1, len(spaces) * 5 * 6 * 2)))  # ~6 bookings a weekday a space at most
    days = [today + timedelta(days=offset) for offset in range(-7 * weeks, 7 * weeks)]
    per_space = -(-count // max(1, len(spaces)))
    columns = (
        "space_id, user_id, title, notes, attendees, starts_at, ends_at, status, price, created_at, updated_at, "
        "cancelled_at, sequence"
    )
    written = 0
    with connection.cursor() as cursor, cursor.copy(f"COPY reservations_reservation ({columns}) FROM STDIN") as copy:
        # Later rounds use the weeks after the previous ones, so a space's bookings never overlap.
        for _round in range(10):
            if written >= count:
                break
            for space, pattern in spaces:
                for day, start, minutes in _slots(pattern, days, min(per_space, count - written), rng):
                    starts_at = datetime.combine(day, start, tz).astimezone(UTC)
                    ends_at = starts_at + timedelta(minutes=minutes)
                    roll = rng.random()
                    cancelled_at = None
                    if ends_at <= now:
                        status = Reservation.Status.CANCELLED if roll < 0.12 else Reservation.Status.COMPLETED
                    elif space.requires_approval and roll < 0.3:
                        status = Reservation.Status.PENDING
                    else:
                        status = Reservation.Status.CANCELLED if roll < 0.08 else Reservation.Status.CONFIRMED
                    # Booked days ago: older than the notice catch-up's window, so no demo emails go out.
                    created_at = min(now - timedelta(days=2), starts_at - timedelta(days=rng.randint(1, 20)))
                    if status == Reservation.Status.CANCELLED:
                        cancelled_at = created_at + (min(now, starts_at) - created_at) / 2
                    price = (space.hourly_rate * minutes / 60).quantize(Decimal("0.01")) if space.hourly_rate else None
                    copy.write_row(
                        (
                            space.pk,
                            rng.choice(user_ids),
                            rng.choice(TITLES),
                            "",
                            rng.randint(1, min(space.capacity, 8)),
                            starts_at,
                            ends_at,
                            status,
                            price,
                            created_at,
                            created_at,
                            cancelled_at,
                            0,
                        )
                    )
                    written += 1
                    if written % 5000 == 0:
                        progress(5000)
            days = [day + timedelta(days=len(days)) for day in days]
    progress(written % 5000)
    return written


DEMO_EQUIPMENT = [
    ("Monitor", 4, None, None),
    ("Projector", 2, Decimal("15.00"), None),
    ("Video conference kit", 1, None, Decimal("5.00")),
    ("Parking spot", 6, Decimal("8.00"), None),
]


def seed_equipment() -> None:
    from equipment.models import Item

    Item.objects.bulk_create(
        Item(name=name, quantity=quantity, price_per_booking=per_booking, price_per_hour=per_hour)
        for name, quantity, per_booking, per_hour in DEMO_EQUIPMENT
    )


def seed_billing(organization: Organization) -> int:
    """Billing settings and last month's draft invoices, as the beat job leaves them on the 1st: an admin
    reviews and issues them (issuing emails the bookers, so the demo leaves that to a person)."""
    from billing.models import SINGLETON_ID, BillingSettings
    from billing.services import invoices_generate_previous_month

    BillingSettings.objects.update_or_create(
        pk=SINGLETON_ID,
        defaults={
            "legal_name": f"{organization.name} Ltd",
            "address": "1 Demo Street\n75001 Paris\nFrance",
            "tax_id": "FR00123456789",
            "tax_rate": Decimal("20.00"),
            "payment_terms_days": 14,
        },
    )
    return len(invoices_generate_previous_month().created)


def seed_organization(
    organization: Organization,
    *,
    spaces: int,
    reservations: int,
    members: int,
    password: str,
    seed: int = 7,
    progress: Callable[[int], None] = lambda done: None,
) -> SeedResult:
    """Fill an organization that has no spaces yet; an organization with spaces is left as it is."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    with transaction.atomic():
        user_ids = seed_people(organization, members=members, password=password, rng=rng)
        connection.set_tenant(organization)
        try:
            if Space.objects.exists():
                return SeedResult(organization, created=False, spaces=Space.objects.count(), reservations=0)
            made_spaces = seed_spaces(spaces, rng=rng)
            seed_equipment()
            made = seed_reservations(
                organization, made_spaces, count=reservations, user_ids=user_ids, rng=rng, progress=progress
            )
            # COPY leaves the planner's statistics empty; without them it misjudges the overlap queries.
            with connection.cursor() as cursor:
                for model in (Space, OpeningHours, Reservation):
                    cursor.execute(f"ANALYZE {model._meta.db_table}")
            invoices = seed_billing(organization)
        finally:
            connection.set_schema_to_public()
    return SeedResult(organization, created=True, spaces=len(made_spaces), reservations=made, invoices=invoices)
