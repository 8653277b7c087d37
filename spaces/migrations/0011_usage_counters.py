"""Each organization's spaces and reservations counted as they are written (tenants 0010 has the functions).

Statement-level triggers, so a bulk insert of 10,000 reservations notes one change, not 10,000. The rows
already there are counted in the same transaction that creates the triggers (which blocks the tables'
writes until it commits). On a brand-new schema (tenants.schema replays this SQL) that count is zero.
"""

from django.db import migrations

COUNTED = {"spaces_space": "spaces", "reservations_reservation": "reservations"}

TRIGGERS = "\n".join(
    f"""
CREATE OR REPLACE TRIGGER organization_usage_inserted AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.organization_usage_count_rows('{counter}');
CREATE OR REPLACE TRIGGER organization_usage_deleted AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.organization_usage_count_rows('{counter}');
CREATE OR REPLACE TRIGGER organization_usage_truncated AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION public.organization_usage_truncated('{counter}');"""
    for table, counter in COUNTED.items()
)

COUNT_EXISTING = """
INSERT INTO public.tenants_organizationusage (organization_id, spaces, reservations)
SELECT o.id, (SELECT count(*) FROM spaces_space), (SELECT count(*) FROM reservations_reservation)
FROM public.tenants_organization o WHERE o.schema_name = current_schema()
ON CONFLICT (organization_id) DO UPDATE SET spaces = EXCLUDED.spaces, reservations = EXCLUDED.reservations;
"""

REVERSE = "\n".join(
    f"DROP TRIGGER IF EXISTS organization_usage_{event} ON {table};"
    for table in COUNTED
    for event in ("inserted", "deleted", "truncated")
)


class Migration(migrations.Migration):
    dependencies = [
        ("spaces", "0010_merge_20261202_1342"),
        ("reservations", "0009_merge_0008_price_lines_0008_starts_id_with_ends_at"),
        ("tenants", "0010_organization_usage"),
    ]

    operations = [migrations.RunSQL(TRIGGERS + "\n" + COUNT_EXISTING, REVERSE)]
