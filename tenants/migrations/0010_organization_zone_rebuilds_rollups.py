"""When an organization's time zone changes, its analytics day rollups are rebuilt in the same transaction.

Their days are local days (reports.0003): in another zone every row moves. Any write of the column, through
the model or a queryset update, pays the rebuild (a few seconds at 200,000 reservations); a schema whose
reports migrations have not run yet has no rollups to rebuild.
"""

from django.db import migrations

ZONE_CHANGED = """
CREATE OR REPLACE FUNCTION tenants_organization_zone_changed() RETURNS trigger AS $$
BEGIN
    IF to_regprocedure(format('%I.reports_rollup_rebuild()', NEW.schema_name)) IS NOT NULL THEN
        EXECUTE format('SELECT %I.reports_rollup_rebuild()', NEW.schema_name);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER tenants_organization_zone_changed AFTER UPDATE OF timezone ON tenants_organization
    FOR EACH ROW WHEN (OLD.timezone IS DISTINCT FROM NEW.timezone)
    EXECUTE FUNCTION tenants_organization_zone_changed();
"""

REVERSE = """
DROP TRIGGER IF EXISTS tenants_organization_zone_changed ON tenants_organization;
DROP FUNCTION IF EXISTS tenants_organization_zone_changed();
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0009_organization_display_show_titles")]

    operations = [migrations.RunSQL(ZONE_CHANGED, REVERSE)]
