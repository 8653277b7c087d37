import sys

from django.core.management.base import BaseCommand, CommandError

from spacemanager.errors import DomainError, one_line
from tenants.selectors import organization_get_by_slug
from tenants.services import organization_delete


class Command(BaseCommand):
    help = (
        "Delete an organization for good: drops its schema (all its spaces and reservations), its domains and "
        "memberships. People's accounts stay. Asks you to type the slug unless --yes is given."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The organization's slug, as shown by list_organizations.")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation (scripts).")

    def handle(self, *args, **options):
        slug = options["slug"]
        try:
            organization = organization_get_by_slug(slug=slug)
        except DomainError as exc:
            raise CommandError(one_line(exc)) from exc
        if not options["yes"]:
            stdin = options.get("stdin", sys.stdin)
            if not stdin.isatty():
                raise CommandError("Refusing to delete without confirmation: not a terminal; pass --yes.")
            self.stdout.write(
                f"This deletes {organization.name} ({organization.host}) and drops schema "
                f"{organization.schema_name} with all its data. There is no undo."
            )
            self.stdout.write("Type the slug to confirm: ", ending="")
            self.stdout.flush()
            if stdin.readline().strip() != slug:
                raise CommandError("The slug did not match; nothing was deleted.")
        try:
            organization_delete(organization=organization)
        except DomainError as exc:
            raise CommandError(one_line(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Deleted organization {slug} and dropped schema {organization.schema_name}.")
        )
