from django.core.management.base import BaseCommand, CommandError

from spacemanager.errors import DomainError, one_line
from tenants.selectors import organization_get_by_slug
from tenants.services import organization_deactivate, organization_reactivate


class Command(BaseCommand):
    help = (
        "Take an organization offline (its site and API answer 404, its data stays), "
        "or bring it back with --reactivate."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The organization's slug, as shown by list_organizations.")
        parser.add_argument("--reactivate", action="store_true", help="Bring a deactivated organization back.")

    def handle(self, *args, **options):
        try:
            organization = organization_get_by_slug(slug=options["slug"])
            if options["reactivate"]:
                organization_reactivate(organization=organization)
            else:
                organization_deactivate(organization=organization)
        except DomainError as exc:
            raise CommandError(one_line(exc)) from exc
        state = "active" if organization.is_active else "deactivated"
        self.stdout.write(self.style.SUCCESS(f"Organization {organization.slug} ({organization.name}) is {state}."))
