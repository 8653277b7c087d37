from django.core.management.base import BaseCommand, CommandError

from spacemanager.errors import DomainError, one_line
from tenants.selectors import organization_get_by_slug
from tenants.services import organization_usage_recount


class Command(BaseCommand):
    help = (
        "Count every organization's members, spaces and reservations again and correct the counters "
        "list_organizations and the platform admin show (the database keeps them on every write; this "
        "repairs what went around it, e.g. a schema restored with its triggers disabled)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", metavar="SLUG", help="Only this organization.")

    def handle(self, *args, **options):
        organizations = None
        if options["organization"]:
            try:
                organizations = [organization_get_by_slug(slug=options["organization"])]
            except DomainError as exc:
                raise CommandError(one_line(exc)) from exc
        corrections = organization_usage_recount(organizations=organizations)
        for correction in corrections:
            self.stdout.write(
                f"{correction.organization.slug}: {correction.counter} {correction.counted_before} -> "
                f"{correction.counted_now}"
            )
        noun = "count was" if len(corrections) == 1 else "counts were"
        self.stdout.write(self.style.SUCCESS(f"Recounted; {len(corrections)} {noun} off and corrected."))
