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
        # One format string for every line and one write for the table: at thousands of organizations the
        # per-cell padding and per-line writes were most of the command's time.
        widths = [
            max(len(column), *map(len, cells)) for column, cells in zip(COLUMNS, zip(*rows, strict=True), strict=True)
        ]
        template = "  ".join(
            f"{{:{'>' if column in NUMERIC else '<'}{width}}}" for column, width in zip(COLUMNS, widths, strict=True)
        )
        lines = [template.format(*COLUMNS), template.format(*("-" * width for width in widths))]
        lines += [template.format(*row) for row in rows]
        self.stdout.write("\n".join(line.rstrip() for line in lines))
        self.stdout.write(f"\n{len(rows)} organization{'s' if len(rows) != 1 else ''} (created times in UTC).")
        if options["estimate"]:
            self.stdout.write("Spaces and reservations are estimates from the database's statistics.")
