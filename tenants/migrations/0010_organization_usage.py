"""Usage counts per organization (members, spaces, reservations) kept by the database, for the operators' lists.

The operators' lists used to count every schema's tables (seconds at 1,000 organizations, and a UNION ALL over
all of them once ran out of the server's lock table). Now each write statement counts what it changed:

- statement-level AFTER triggers (here on accounts_membership; on every schema's spaces and reservations in
  spaces 0011) count their transition table and add the change to tenants_organizationusagechange, one row
  per (transaction, organization): no lock on anything shared;
- a deferred constraint trigger on that row moves it into tenants_organizationusage at commit and deletes it,
  so the counter row's lock is held only while the transaction commits, after every other lock it takes (no
  deadlock with the bookings' locks, no bookings of one organization waiting on each other);
- TRUNCATE sets the count to zero.

A rolled-back transaction leaves nothing; a transaction sees its own uncommitted changes (the selectors add
them). The members already there are counted below, in the transaction that creates the triggers (creating a
trigger blocks the table's writes until commit, so nothing is counted twice or missed).
"""

import django.db.models.deletion
from django.db import migrations, models

USAGE_SQL = """
-- The current transaction's change to one organization's counts (arguments: organization, members, spaces,
-- reservations). Its own row: no other transaction ever waits on it.
CREATE OR REPLACE FUNCTION public.organization_usage_note(bigint, bigint, bigint, bigint) RETURNS void AS $$
    INSERT INTO public.tenants_organizationusagechange (transaction_id, organization_id, members, spaces,
                                                        reservations)
    VALUES (txid_current(), $1, $2, $3, $4)
    ON CONFLICT (transaction_id, organization_id) DO UPDATE SET
        members = tenants_organizationusagechange.members + EXCLUDED.members,
        spaces = tenants_organizationusagechange.spaces + EXCLUDED.spaces,
        reservations = tenants_organizationusagechange.reservations + EXCLUDED.reservations;
$$ LANGUAGE sql;

-- At commit (deferred): the transaction's change for one organization reaches its counters.
CREATE OR REPLACE FUNCTION public.organization_usage_apply() RETURNS trigger AS $$
DECLARE
    change public.tenants_organizationusagechange;
BEGIN
    DELETE FROM public.tenants_organizationusagechange WHERE id = NEW.id RETURNING * INTO change;
    IF NOT FOUND OR (change.members = 0 AND change.spaces = 0 AND change.reservations = 0) THEN
        RETURN NULL;
    END IF;
    -- An organization deleted in the same transaction has nothing left to count.
    INSERT INTO public.tenants_organizationusage (organization_id, members, spaces, reservations)
    SELECT o.id, change.members, change.spaces, change.reservations
    FROM public.tenants_organization o WHERE o.id = change.organization_id
    ON CONFLICT (organization_id) DO UPDATE SET
        members = tenants_organizationusage.members + EXCLUDED.members,
        spaces = tenants_organizationusage.spaces + EXCLUDED.spaces,
        reservations = tenants_organizationusage.reservations + EXCLUDED.reservations;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER organization_usage_apply AFTER INSERT ON public.tenants_organizationusagechange
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.organization_usage_apply();

-- A tenant table's rows inserted or deleted by one statement (TG_ARGV[0]: 'spaces' or 'reservations').
CREATE OR REPLACE FUNCTION public.organization_usage_count_rows() RETURNS trigger AS $$
DECLARE
    counted bigint;
    organization bigint;
BEGIN
    SELECT count(*) INTO counted FROM changed_rows;
    IF counted = 0 THEN
        RETURN NULL;
    END IF;
    SELECT id INTO organization FROM public.tenants_organization WHERE schema_name = TG_TABLE_SCHEMA;
    IF organization IS NULL THEN
        RETURN NULL;  -- a schema of no organization (a template, a test's)
    END IF;
    IF TG_OP = 'DELETE' THEN
        counted := -counted;
    END IF;
    PERFORM public.organization_usage_note(
        organization, 0,
        CASE WHEN TG_ARGV[0] = 'spaces' THEN counted ELSE 0 END,
        CASE WHEN TG_ARGV[0] = 'reservations' THEN counted ELSE 0 END);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- Memberships inserted, deleted or moved by one statement, per organization.
CREATE OR REPLACE FUNCTION public.organization_usage_count_members() RETURNS trigger AS $$
BEGIN
    -- In organization order: the changes reach the counters at commit in the order they were noted.
    IF TG_OP = 'INSERT' THEN
        PERFORM public.organization_usage_note(organization_id, counted, 0, 0)
        FROM (SELECT organization_id, count(*) AS counted FROM new_rows GROUP BY 1 ORDER BY 1) changes;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM public.organization_usage_note(organization_id, -counted, 0, 0)
        FROM (SELECT organization_id, count(*) AS counted FROM old_rows GROUP BY 1 ORDER BY 1) changes;
    ELSE
        PERFORM public.organization_usage_note(organization_id, counted, 0, 0)
        FROM (SELECT organization_id, sum(change) AS counted
              FROM (SELECT organization_id, -1 AS change FROM old_rows
                    UNION ALL SELECT organization_id, 1 FROM new_rows) moved
              GROUP BY 1 HAVING sum(change) <> 0 ORDER BY 1) changes;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- TRUNCATE of a counted table (TG_ARGV[0]: 'members', 'spaces' or 'reservations'): those counts are zero.
CREATE OR REPLACE FUNCTION public.organization_usage_truncated() RETURNS trigger AS $$
DECLARE
    counter text := TG_ARGV[0];
    organization bigint;
BEGIN
    IF counter <> 'members' THEN
        SELECT id INTO organization FROM public.tenants_organization WHERE schema_name = TG_TABLE_SCHEMA;
        IF organization IS NULL THEN
            RETURN NULL;
        END IF;
    END IF;
    UPDATE public.tenants_organizationusage SET
        members = CASE WHEN counter = 'members' THEN 0 ELSE members END,
        spaces = CASE WHEN counter = 'spaces' THEN 0 ELSE spaces END,
        reservations = CASE WHEN counter = 'reservations' THEN 0 ELSE reservations END
    WHERE organization IS NULL OR organization_id = organization;
    UPDATE public.tenants_organizationusagechange SET
        members = CASE WHEN counter = 'members' THEN 0 ELSE members END,
        spaces = CASE WHEN counter = 'spaces' THEN 0 ELSE spaces END,
        reservations = CASE WHEN counter = 'reservations' THEN 0 ELSE reservations END
    WHERE organization IS NULL OR organization_id = organization;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER organization_usage_inserted AFTER INSERT ON public.accounts_membership
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.organization_usage_count_members();
CREATE TRIGGER organization_usage_deleted AFTER DELETE ON public.accounts_membership
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.organization_usage_count_members();
CREATE TRIGGER organization_usage_moved AFTER UPDATE ON public.accounts_membership
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.organization_usage_count_members();
CREATE TRIGGER organization_usage_truncated AFTER TRUNCATE ON public.accounts_membership
    FOR EACH STATEMENT EXECUTE FUNCTION public.organization_usage_truncated('members');

INSERT INTO public.tenants_organizationusage (organization_id, members)
SELECT o.id, count(m.id) FROM public.tenants_organization o
LEFT JOIN public.accounts_membership m ON m.organization_id = o.id GROUP BY o.id
ON CONFLICT (organization_id) DO UPDATE SET members = EXCLUDED.members;
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS organization_usage_inserted ON public.accounts_membership;
DROP TRIGGER IF EXISTS organization_usage_deleted ON public.accounts_membership;
DROP TRIGGER IF EXISTS organization_usage_moved ON public.accounts_membership;
DROP TRIGGER IF EXISTS organization_usage_truncated ON public.accounts_membership;
DROP TRIGGER IF EXISTS organization_usage_apply ON public.tenants_organizationusagechange;
DROP FUNCTION IF EXISTS public.organization_usage_truncated() CASCADE;
DROP FUNCTION IF EXISTS public.organization_usage_count_members() CASCADE;
DROP FUNCTION IF EXISTS public.organization_usage_count_rows() CASCADE;
DROP FUNCTION IF EXISTS public.organization_usage_apply() CASCADE;
DROP FUNCTION IF EXISTS public.organization_usage_note(bigint, bigint, bigint, bigint);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0009_organization_display_show_titles'),
        ('accounts', '0004_merge_20261202_0714'),
    ]

    operations = [
        migrations.CreateModel(
            name='OrganizationUsage',
            fields=[
                ('organization', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='usage', serialize=False, to='tenants.organization')),
                ('members', models.IntegerField(db_default=0, default=0)),
                ('spaces', models.IntegerField(db_default=0, default=0)),
                ('reservations', models.BigIntegerField(db_default=0, default=0)),
                ('recounted_at', models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name='OrganizationUsageChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('transaction_id', models.BigIntegerField()),
                ('members', models.BigIntegerField(db_default=0, default=0)),
                ('spaces', models.BigIntegerField(db_default=0, default=0)),
                ('reservations', models.BigIntegerField(db_default=0, default=0)),
                ('organization', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='uncommitted_usage_changes', to='tenants.organization')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('transaction_id', 'organization'), name='usage_change_unique')],
            },
        ),
        migrations.RunSQL(USAGE_SQL, REVERSE_SQL),
        migrations.AddIndex(
            model_name="organization",
            index=models.Index(fields=["name", "id"], name="organization_name_id"),
        ),
    ]
