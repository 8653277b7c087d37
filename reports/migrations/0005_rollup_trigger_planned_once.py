"""The rollup trigger plans its upsert once per connection, not on every reservation write.

0003 said that the rollups' statements are static and planned once per connection. They were not: in
PL/pgSQL, `reports_rollup_apply`'s upsert takes the zone and the changed rows as parameters, and PostgreSQL
plans such a statement afresh for each execution (a custom plan) whenever the plan it would keep (a generic
plan) is estimated to cost more, as it is here: the generic plan assumes 10 changed rows where a custom one
knows there is 1. Planning that statement of three CTEs and two 40-column upserts took about 1.1 ms of
PostgreSQL CPU on every booking, more than the booking's own statements (measured: 2.4-2.9 ms per insert
before, 1.3-1.7 ms after, on one connection).

Run inside the trigger, the function and everything it calls now use the generic plan. The plan's shape does
not depend on the number of rows: bulk writes of 5,000 and 20,000 rows took no longer (0.3-0.4 s and 1.3-1.5 s,
against 1.5-1.6 s and 1.5-1.6 s). `reports_rollup_rebuild` (`manage.py rebuild_analytics`) runs outside the
trigger and still gets a plan made for its one large array.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0004_fk_indexes_covered_by_composites"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER FUNCTION reports_rollup_changed() SET plan_cache_mode = force_generic_plan;",
            "ALTER FUNCTION reports_rollup_changed() RESET plan_cache_mode;",
        )
    ]
