from django.core.management.base import BaseCommand

from tenants.selectors import organization_overview_list

COLUMNS = ("slug", "name", "schema", "members", "spaces", "reservations", "created", "active")
NUMERIC = {"members", "spaces", "reservations"}


class Command(BaseCommand):
    help = "List every organization with its members, spaces and reservations (the public site is not listed)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--estimate",
            action="store_true",
            help="Spaces and reservations as PostgreSQL's statistics estimate them: one query however many "
            "organizations, instead of counting every schema's rows (seconds at thousands of organizations).",
        )

    def handle(self, *args, **options):
        rows = [
            (
                row.organization.slug,
                row.organization.name,
                row.organization.schema_name,
                str(row.members),
                str(row.spaces),
                str(row.reservations),
                row.organization.created_at.strftime("%Y-%m-%d %H:%M"),
                "yes" if row.organization.is_active else "no",
            )
            for row in organization_overview_list(estimate=options["estimate"])
        ]
        if not rows:
            self.stdout.write("No organizations yet. Create one with: manage.py create_organization --help")
            return
        widths = [max(len(column), *(len(row[index]) for row in rows)) for index, column in enumerate(COLUMNS)]

        def line(values) -> str:
            cells = (
                value.rjust(width) if column in NUMERIC else value.ljust(width)
                for column, value, width in zip(COLUMNS, values, widths, strict=True)
            )
            return "  ".join(cells).rstrip()

        self.stdout.write(line(COLUMNS))
        self.stdout.write(line("-" * width for width in widths))
        for row in rows:
            self.stdout.write(line(row))
        self.stdout.write(f"\n{len(rows)} organization{'s' if len(rows) != 1 else ''} (created times in UTC).")
        if options["estimate"]:
            self.stdout.write("Spaces and reservations are estimates from the database's statistics.")
