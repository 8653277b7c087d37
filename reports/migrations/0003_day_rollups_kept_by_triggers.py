"""The day rollups (reports.SpaceDay, reports.BookerDay) kept current by the database on every reservation write.

Statement-level triggers on reservations_reservation hand the written rows (transition tables) to one upsert
statement, built by `reports_rollup_sql`: a row counts -1 as it was and +1 as it is now, so an INSERT, UPDATE,
DELETE, COPY or bulk write of any size changes the rollups in the same transaction, by the same rule. An UPDATE
that leaves every counted column alone (reminders, check-ins, sequence numbers) writes nothing.

A reservation's local days are those of its organization's zone, read from the public schema's organizations
table; when an organization's zone changes, tenants.0010 rebuilds its rollups in that transaction.

`reports_rollup_rebuild(schema)` (also `manage.py rebuild_analytics`, which shows progress) empties the rollups
and adds every reservation again: a rollup always equals this from-scratch aggregation (reports tests). This
migration ends by running it, so an existing organization's rollups hold its bookings; the fast schema build
replays it on empty tables.

Each function runs with the search path it was created with (SET search_path FROM CURRENT: its own schema,
then public), so it reads and writes its own organization's tables whoever calls it.
"""

from django.db import migrations

# Mirrors reports.analytics.LEAD_TIME_BANDS' lower bounds (a test keeps them equal).
LEAD_BAND_BOUNDS = "0,3600,86400,604800,2419200"
STATUSES = ("pending", "confirmed", "cancelled", "completed", "expired", "declined", "no_show")
HOURS = [f"h{hour:02}" for hour in range(24)]
SPACE_COLUMNS = ["touching", *STATUSES, "held_revenue", *(f"lead_{band}" for band in range(5)), "held_seconds", *HOURS]
BOOKER_COLUMNS = ["touching", "bookings", "held_seconds"]


def _row(**given: str) -> str:
    """One row of SpaceDay deltas: the given columns' expressions, 0 for the others."""
    return ", ".join(f"{given.get(column, '0')} AS {column}" for column in SPACE_COLUMNS)


def _upsert(table: str, key: str, columns: list[str], delta: str) -> str:
    sums = ", ".join(f"SUM({column})" for column in columns)
    names = ", ".join(columns)
    adds = ", ".join(f"{column} = r.{column} + excluded.{column}" for column in columns)
    return (
        f"INSERT INTO %1$I.{table} AS r ({key}, day, {names}) SELECT {key}, day, {sums} FROM {delta} "
        f"GROUP BY {key}, day ORDER BY {key}, day ON CONFLICT ({key}, day) DO UPDATE SET {adds}"
    )


# The statement, with %1$I the schema, %2$L the zone and %3$s the changed rows (space_id, user_id, starts_at,
# ends_at, status, price, created_at, sign). Held time is cut into quarter hours of real time, each inside one
# local hour (every zone's offset is a whole number of quarter hours), as the dashboard's open hours are.
ROLLUP_SQL = (
    """
WITH change AS MATERIALIZED (
    SELECT row_number() OVER () AS k, c.*, c.status IN ('confirmed', 'completed') AS held,
           (c.starts_at AT TIME ZONE %2$L)::date AS start_day,
           width_bucket(date_part('epoch', c.starts_at - c.created_at), ARRAY["""
    + LEAD_BAND_BOUNDS
    + """]::float8[]) - 1 AS band
    FROM (%3$s) AS c (space_id, user_id, starts_at, ends_at, status, price, created_at, sign)
),
piece AS MATERIALIZED (
    SELECT c.k, c.space_id, c.user_id, c.sign, local_at::date AS day, extract(hour FROM local_at)::int AS hour,
           LEAST(date_part('epoch', c.ends_at), q * 900 + 900) - GREATEST(date_part('epoch', c.starts_at), q * 900)
               AS seconds
    FROM change c
    CROSS JOIN LATERAL generate_series(floor(date_part('epoch', c.starts_at) / 900)::bigint,
                                       ceil(date_part('epoch', c.ends_at) / 900)::bigint - 1) AS q
    CROSS JOIN LATERAL (SELECT to_timestamp(q * 900) AT TIME ZONE %2$L AS local_at) AS local
    WHERE c.held
),
touch AS MATERIALIZED (
    SELECT k, start_day AS day FROM change UNION SELECT k, day FROM piece
),
space_delta AS (
    SELECT c.space_id, t.day, """
    + _row(touching="c.sign")
    + """ FROM touch t JOIN change c USING (k)
    UNION ALL
    SELECT space_id, start_day, """
    + _row(
        **{status: f"CASE WHEN status = '{status}' THEN sign ELSE 0 END" for status in STATUSES},
        held_revenue="CASE WHEN held THEN sign * COALESCE(price, 0) ELSE 0 END",
        **{f"lead_{band}": f"CASE WHEN band = {band} THEN sign ELSE 0 END" for band in range(5)},
    )
    + """ FROM change
    UNION ALL
    SELECT space_id, day, """
    + _row(
        held_seconds="sign * seconds",
        **{name: f"CASE WHEN hour = {hour} THEN sign * seconds ELSE 0 END" for hour, name in enumerate(HOURS)},
    )
    + """ FROM piece
),
booker_delta AS (
    SELECT c.user_id, t.day, c.sign AS touching, 0 AS bookings, 0::float8 AS held_seconds
    FROM touch t JOIN change c USING (k)
    UNION ALL
    SELECT user_id, start_day, 0, sign, 0 FROM change WHERE held
    UNION ALL
    SELECT user_id, day, 0, 0, sign * seconds FROM piece
),
spaces_added AS ("""
    + _upsert("reports_spaceday", "space_id", SPACE_COLUMNS, "space_delta")
    + """)
"""
    + _upsert("reports_bookerday", "user_id", BOOKER_COLUMNS, "booker_delta")
)

COUNTED = "space_id, user_id, starts_at, ends_at, status, price, created_at"

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION reports_rollup_sql(schema text, zone text, source text) RETURNS text AS $$
    SELECT format($sql${ROLLUP_SQL}$sql$, schema, zone, source);
$$ LANGUAGE sql IMMUTABLE SET search_path FROM CURRENT;

CREATE OR REPLACE FUNCTION reports_rollup_zone(schema text) RETURNS text AS $$
    SELECT timezone FROM public.tenants_organization WHERE schema_name = schema;
$$ LANGUAGE sql STABLE SET search_path FROM CURRENT;

-- Rows a write emptied (found through the partial indexes on touching = 0).
CREATE OR REPLACE FUNCTION reports_rollup_drop_empty(schema text) RETURNS void AS $$
BEGIN
    EXECUTE format('DELETE FROM %1$I.reports_spaceday WHERE touching = 0', schema);
    EXECUTE format('DELETE FROM %1$I.reports_bookerday WHERE touching = 0', schema);
END;
$$ LANGUAGE plpgsql SET search_path FROM CURRENT;

CREATE OR REPLACE FUNCTION reports_rollup_changed() RETURNS trigger AS $$
DECLARE
    zone text := reports_rollup_zone(TG_TABLE_SCHEMA);
    source text;
BEGIN
    IF zone IS NULL THEN  -- a schema without its organization (being deleted): no dashboard to keep
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        source := 'SELECT {COUNTED}, 1 FROM new_rows';
    ELSIF TG_OP = 'DELETE' THEN
        source := 'SELECT {COUNTED}, -1 FROM old_rows';
    ELSE
        IF NOT EXISTS (
            SELECT FROM old_rows o JOIN new_rows n USING (id)
            WHERE (o.space_id, o.user_id, o.starts_at, o.ends_at, o.status, o.price, o.created_at)
                IS DISTINCT FROM (n.space_id, n.user_id, n.starts_at, n.ends_at, n.status, n.price, n.created_at)
        ) THEN
            RETURN NULL;
        END IF;
        source := 'SELECT s.* FROM old_rows o JOIN new_rows n USING (id)
            CROSS JOIN LATERAL (VALUES
                (o.space_id, o.user_id, o.starts_at, o.ends_at, o.status, o.price, o.created_at, -1),
                (n.space_id, n.user_id, n.starts_at, n.ends_at, n.status, n.price, n.created_at, 1)) AS s
            WHERE (o.space_id, o.user_id, o.starts_at, o.ends_at, o.status, o.price, o.created_at)
                IS DISTINCT FROM (n.space_id, n.user_id, n.starts_at, n.ends_at, n.status, n.price, n.created_at)';
    END IF;
    EXECUTE reports_rollup_sql(TG_TABLE_SCHEMA, zone, source);
    PERFORM reports_rollup_drop_empty(TG_TABLE_SCHEMA);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET search_path FROM CURRENT;

-- Empties the rollups of `schema` and blocks reservation writes there until the transaction ends (reads go on).
CREATE OR REPLACE FUNCTION reports_rollup_clear(schema text) RETURNS void AS $$
BEGIN
    EXECUTE format('LOCK TABLE %1$I.reservations_reservation IN SHARE MODE', schema);
    EXECUTE format('DELETE FROM %1$I.reports_spaceday', schema);
    EXECUTE format('DELETE FROM %1$I.reports_bookerday', schema);
END;
$$ LANGUAGE plpgsql SET search_path FROM CURRENT;

-- Adds the reservations of `schema` starting in [since, until): after reports_rollup_clear, in pieces.
CREATE OR REPLACE FUNCTION reports_rollup_add_starting(schema text, since timestamptz, until timestamptz)
RETURNS void AS $$
DECLARE
    zone text := reports_rollup_zone(schema);
BEGIN
    IF zone IS NOT NULL THEN
        EXECUTE reports_rollup_sql(schema, zone, format(
            'SELECT {COUNTED}, 1 FROM %1$I.reservations_reservation WHERE starts_at >= %2$L AND starts_at < %3$L',
            schema, since, until));
    END IF;
END;
$$ LANGUAGE plpgsql SET search_path FROM CURRENT;

CREATE OR REPLACE FUNCTION reports_rollup_rebuild(schema text) RETURNS void AS $$
BEGIN
    PERFORM reports_rollup_clear(schema);
    PERFORM reports_rollup_add_starting(schema, '-infinity', 'infinity');
END;
$$ LANGUAGE plpgsql SET search_path FROM CURRENT;
"""

TRIGGERS = """
CREATE OR REPLACE TRIGGER reports_rollup_inserted AFTER INSERT ON reservations_reservation
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_rollup_changed();
CREATE OR REPLACE TRIGGER reports_rollup_updated AFTER UPDATE ON reservations_reservation
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_rollup_changed();
CREATE OR REPLACE TRIGGER reports_rollup_deleted AFTER DELETE ON reservations_reservation
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_rollup_changed();
SELECT reports_rollup_rebuild(current_schema());
"""

REVERSE = """
DROP TRIGGER IF EXISTS reports_rollup_inserted ON reservations_reservation;
DROP TRIGGER IF EXISTS reports_rollup_updated ON reservations_reservation;
DROP TRIGGER IF EXISTS reports_rollup_deleted ON reservations_reservation;
DROP FUNCTION IF EXISTS reports_rollup_changed();
DROP FUNCTION IF EXISTS reports_rollup_rebuild(text);
DROP FUNCTION IF EXISTS reports_rollup_add_starting(text, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS reports_rollup_clear(text);
DROP FUNCTION IF EXISTS reports_rollup_drop_empty(text);
DROP FUNCTION IF EXISTS reports_rollup_zone(text);
DROP FUNCTION IF EXISTS reports_rollup_sql(text, text, text);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_day_rollups"),
        ("reservations", "0009_merge_0008_price_lines_0008_starts_id_with_ends_at"),
    ]

    operations = [migrations.RunSQL(FUNCTIONS + TRIGGERS, REVERSE)]
