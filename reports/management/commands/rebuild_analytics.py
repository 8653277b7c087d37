from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context
from tqdm import tqdm

from reports.services import analytics_rollups_rebuild
from reservations.models import Reservation
from tenants.selectors import organization_list_active


class Command(BaseCommand):
    help = (
        "Rebuild the analytics day rollups of every active organization, or of one, from its reservations. "
        "The database keeps them current on every write; this repairs or checks them. Each organization's "
        "reservation writes wait (reads do not) while its rollups are rebuilt."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", metavar="SLUG", help="Only this organization (its slug).")

    def handle(self, *args, **options):
        organizations = organization_list_active()
        if options["organization"]:
            organizations = organizations.filter(slug=options["organization"])
            if not organizations:
                raise CommandError(f"No active organization has the slug {options['organization']!r}.")
        total = 0
        for organization in organizations:
            total += 1
            with (
                schema_context(organization.schema_name),
                tqdm(
                    total=Reservation.objects.count(),
                    desc=f"{organization.slug}: reservations",
                    unit="",
                    disable=options["verbosity"] == 0,
                    file=self.stderr._out,
                ) as bar,
            ):
                counted = analytics_rollups_rebuild(progress=bar.update)
            self.stdout.write(f"{organization.slug}: analytics rebuilt from {counted} reservations.")
        if total == 0:
            self.stdout.write("No active organizations.")
