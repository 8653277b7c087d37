from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from spacemanager.errors import DomainError, one_line
from tenants.demo import seed_organization
from tenants.models import Organization
from tenants.services import organization_register
from tenants.validators import validate_organization_slug, validate_timezone_name


def positive(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Development and benchmarks: create organizations full of realistic demo data (spaces with opening hours, "
        "members, reservations over past and coming weeks). Organizations that already have spaces are left alone."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organizations", type=positive, default=1, help="How many (default 1).")
        parser.add_argument("--spaces", type=positive, default=12, help="Spaces per organization (default 12).")
        parser.add_argument(
            "--reservations", type=positive, default=300, help="Reservations per organization (default 300)."
        )
        parser.add_argument("--members", type=positive, default=20, help="Members per organization (default 20).")
        parser.add_argument("--slug", default="demo", help="First organization's slug; others get -2, -3, …")
        parser.add_argument("--timezone", default="Europe/Paris", help="IANA time zone of new organizations.")

    def handle(self, *args, **options):
        if settings.IS_PRODUCTION:
            raise CommandError("seed_demo writes demo data; it does not run with ENVIRONMENT=production.")
        try:
            validate_organization_slug(options["slug"])
            validate_timezone_name(options["timezone"])
        except ValidationError as exc:
            raise CommandError(one_line(exc)) from exc
        password = settings.DEMO_OWNER_PASSWORD
        for index in range(options["organizations"]):
            slug = options["slug"] if index == 0 else f"{options['slug']}-{index + 1}"
            organization = Organization.objects.filter(slug=slug).first()
            if organization is None:
                try:
                    registration = organization_register(
                        organization_name=f"{slug.replace('-', ' ').title()} Coworking",
                        organization_slug=slug,
                        owner_email=f"owner@{slug}.example.com",
                        owner_password=None,
                        owner_full_name="Olivia Owner",
                        timezone=options["timezone"],
                        allow_existing_owner=True,
                    )
                    # The shared demo password, set directly: the validators may find it too close to an email.
                    registration.owner.set_password(password)
                    registration.owner.save(update_fields=["password"])
                    organization = registration.organization
                except (DomainError, ValidationError) as exc:
                    raise CommandError(f"{slug}: {one_line(exc)}") from exc
            with tqdm(
                total=options["reservations"],
                desc=f"{slug}: reservations",
                unit="",
                disable=options["reservations"] < 5000 or options["verbosity"] == 0,
                file=self.stderr._out,
            ) as bar:
                result = seed_organization(
                    organization,
                    spaces=options["spaces"],
                    reservations=options["reservations"],
                    members=options["members"],
                    password=password,
                    progress=bar.update,
                )
            if result.created:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{slug}: {result.spaces} spaces, {result.reservations} reservations, "
                        f"{result.invoices} draft invoices for last month, "
                        f"{options['members'] + 2} people (password: {password}) at {organization.url()}"
                    )
                )
            else:
                self.stdout.write(f"{slug}: already has {result.spaces} spaces; left as it is.")
