import sys
from getpass import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from spacemanager.errors import DomainError, one_line
from tenants.models import Organization
from tenants.services import organization_register


class Command(BaseCommand):
    help = "Create an organization (schema, domain) and its owner, as sign-up does. Prompts for the password."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="Organization name, e.g. 'Acme Coworking'.")
        parser.add_argument("--slug", required=True, help="Subdomain: 3-40 of a-z, 0-9 and '-'.")
        parser.add_argument("--owner-email", required=True)
        parser.add_argument(
            "--owner-password", help="Omit to be prompted; ignored when the email already has an account."
        )
        parser.add_argument("--owner-name", default="", help="The owner's full name.")
        parser.add_argument("--timezone", default="UTC", help="IANA time zone, e.g. Europe/Paris.")
        parser.add_argument("--currency", default="EUR", help="ISO 4217 code, e.g. EUR.")
        parser.add_argument(
            "--exist-ok",
            action="store_true",
            help="Succeed without changes when an organization with this slug exists (deployment scripts).",
        )

    def handle(self, *args, **options):
        if options["exist_ok"] and Organization.objects.filter(slug=options["slug"]).exists():
            self.stdout.write(f"Organization {options['slug']} already exists; nothing changed.")
            return
        owner_exists = User.objects.with_email(options["owner_email"]).exists()
        password = None if owner_exists else options["owner_password"]
        if password is None and not owner_exists:
            if not sys.stdin.isatty():
                raise CommandError("--owner-password is required when not running interactively.")
            password = getpass("Owner password: ")
        try:
            registration = organization_register(
                organization_name=options["name"],
                organization_slug=options["slug"],
                owner_email=options["owner_email"],
                owner_password=password,
                owner_full_name=options["owner_name"],
                timezone=options["timezone"],
                currency=options["currency"],
                allow_existing_owner=True,
            )
        except (DomainError, ValidationError) as exc:
            raise CommandError(one_line(exc)) from exc
        organization = registration.organization
        self.stdout.write(
            self.style.SUCCESS(
                f"Created organization {organization.slug} ({organization.name}) at {organization.url()} "
                f"owned by {registration.owner.email}."
            )
        )
