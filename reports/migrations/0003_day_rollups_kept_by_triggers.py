"""The day rollups (reports.SpaceDay, reports.BookerDay) kept current by the database on every reservation write.

Statement-level triggers on reservations_reservation hand the written rows (transition tables) to
`reports_rollup_apply`, one upsert per rollup: a row counts -1 as it was and +1 as it is now, so an INSERT,
UPDATE, DELETE, COPY or bulk write of any size changes the rollups in the same transaction, by the same rule. An
UPDATE that leaves every counted column alone (reminders, check-ins, sequence numbers) writes nothing. The
statements are static; since 0005 the trigger also plans them once per connection (PL/pgSQL had planned the
upsert again on every write).

A reservation's local days are those of its organization's zone, read from the public schema's organizations
table; when an organization's zone changes, tenants.0010 rebuilds its rollups in that transaction.

`reports_rollup_rebuild()` (also `manage.py rebuild_analytics`, which shows progress) empties the rollups
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
        f"INSERT INTO {table} AS r ({key}, day, {names}) SELECT {key}, day, {sums} FROM {delta} "
        f"GROUP BY {key}, day ORDER BY {key}, day ON CONFLICT ({key}, day) DO UPDATE SET {adds}"
    )


# The rule, over `changes` (reports_rollup_change rows: a reservation's counted columns and its sign) in `zone`.
# Held time is cut into quarter hours of real time, each inside one local hour (every zone's offset is a whole
# number of quarter hours), as the dashboard's open hours are. A reservation touches its start day and each day
# of its held time; only held reservations have booker rows, so a booker's row exists while it has held time.
ROLLUP_SQL = (
    """
WITH change AS MATERIALIZED (
    SELECT row_number() OVER () AS k, c.*, c.status IN ('confirmed', 'completed') AS held,
           (c.starts_at AT TIME ZONE zone)::date AS start_day,
           width_bucket(date_part('epoch', c.starts_at - c.created_at), ARRAY["""
    + LEAD_BAND_BOUNDS
    + """]::float8[]) - 1 AS band
    FROM unnest(changes) AS c
),
piece AS MATERIALIZED (
    SELECT c.k, c.space_id, c.user_id, c.sign, local_at::date AS day, extract(hour FROM local_at)::int AS hour,
           LEAST(date_part('epoch', c.ends_at), q * 900 + 900) - GREATEST(date_part('epoch', c.starts_at), q * 900)
               AS seconds
    FROM change c
    CROSS JOIN LATERAL generate_series(floor(date_part('epoch', c.starts_at) / 900)::bigint,
                                       ceil(date_part('epoch', c.ends_at) / 900)::bigint - 1) AS q
    CROSS JOIN LATERAL (SELECT to_timestamp(q * 900) AT TIME ZONE zone AS local_at) AS local
    WHERE c.held
),
touch AS MATERIALIZED (
    SELECT k, space_id, user_id, sign, held, start_day AS day FROM change
    UNION
    SELECT k, space_id, user_id, sign, true, day FROM piece
),
space_delta AS (
    SELECT space_id, day, """
    + _row(touching="sign")
    + """ FROM touch
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
    SELECT user_id, day, sign AS touching, 0 AS bookings, 0::float8 AS held_seconds FROM touch WHERE held
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


def _changes(source: str, sign: str, where: str = "") -> str:
    return (
        f"ARRAY(SELECT ROW(r.space_id, r.user_id, r.starts_at, r.ends_at, r.status, r.price, r.created_at, {sign})"
        f"::reports_rollup_change FROM {source} r {where})"
    )


COUNTED = ("space_id", "user_id", "starts_at", "ends_at", "status", "price", "created_at")
CHANGED = (
    f"({', '.join(f'o.{column}' for column in COUNTED)}) IS DISTINCT FROM "
    f"({', '.join(f'n.{column}' for column in COUNTED)})"
)

FUNCTIONS = f"""
DO $$ BEGIN
    CREATE TYPE reports_rollup_change AS (
        space_id bigint, user_id bigint, starts_at timestamptz, ends_at timestamptz, status text, price numeric,
        created_at timestamptz, sign integer
    );
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

CREATE OR REPLACE FUNCTION reports_rollup_zone() RETURNS text AS $$
    SELECT timezone FROM public.tenants_organization WHERE schema_name = current_schema();
$$ LANGUAGE sql STABLE SET search_path FROM CURRENT;

CREATE OR REPLACE FUNCTION reports_rollup_apply(zone text, changes reports_rollup_change[]) RETURNS void AS $$
BEGIN
    IF zone IS NULL OR cardinality(changes) = 0 THEN  -- no organization (being deleted): no dashboard to keep
        RETURN;
    END IF;
    {ROLLUP_SQL};
    -- Rows the changes emptied (found through the partial indexes on touching = 0).
    DELETE FROM reports_spaceday WHERE touching = 0;
    DELETE FROM reports_bookerday WHERE touching = 0;
END;
$$ LANGUAGE plpgsql SET search_path FROM CURRENT;

CREATE OR REPLACE FUNCTION reports_rollup_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM reports_rollup_apply(reports_rollup_zone(), {_changes("new_rows", "1")});
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM reports_rollup_apply(reports_rollup_zone(), {_changes("old_rows", "-1")});
    ELSIF EXISTS (SELECT FROM old_rows o JOIN new_rows n USING (id) WHERE {CHANGED}) THEN
        PERFORM reports_rollup_apply(reports_rollup_zone(), ARRAY(
            SELECT c FROM old_rows o JOIN new_rows n USING (id)
            CROSS JOIN LATERAL (VALUES
                (ROW({", ".join(f"o.{column}" for column in COUNTED)}, -1)::reports_rollup_change),
                (ROW({", ".join(f"n.{column}" for column in COUNTED)}, 1)::reports_rollup_change)) AS v (c)
            WHERE {CHANGED}));
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET search_path FROM CURRENT;

-- Empties the rollups and blocks reservation writes until the transaction ends (reads go on).
CREATE OR REPLACE FUNCTION reports_rollup_clear() RETURNS void AS $$
BEGIN
    LOCK TABLE reservations_reservation IN SHARE MODE;
    DELETE FROM reports_spaceday;
    DELETE FROM reports_bookerday;
END;
$$ LANGUAGE plpgsql SET search_path FROM CURRENT;

-- Adds the reservations starting in [since, until): after reports_rollup_clear, in pieces.
CREATE OR REPLACE FUNCTION reports_rollup_add_starting(since timestamptz, until timestamptz) RETURNS void AS $$
BEGIN
    PERFORM reports_rollup_apply(reports_rollup_zone(), {
    _changes("reservations_reservation", "1", "WHERE r.starts_at >= since AND r.starts_at < until")
});
END;
$$ LANGUAGE plpgsql SET search_path FROM CURRENT;

CREATE OR REPLACE FUNCTION reports_rollup_rebuild() RETURNS void AS $$
BEGIN
    PERFORM reports_rollup_clear();
    PERFORM reports_rollup_add_starting('-infinity', 'infinity');
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
SELECT reports_rollup_rebuild();
"""

REVERSE = """
DROP TRIGGER IF EXISTS reports_rollup_inserted ON reservations_reservation;
DROP TRIGGER IF EXISTS reports_rollup_updated ON reservations_reservation;
DROP TRIGGER IF EXISTS reports_rollup_deleted ON reservations_reservation;
DROP FUNCTION IF EXISTS reports_rollup_changed();
DROP FUNCTION IF EXISTS reports_rollup_rebuild();
DROP FUNCTION IF EXISTS reports_rollup_add_starting(timestamptz, timestamptz);
DROP FUNCTION IF EXISTS reports_rollup_clear();
DROP FUNCTION IF EXISTS reports_rollup_apply(text, reports_rollup_change[]);
DROP FUNCTION IF EXISTS reports_rollup_zone();
DROP TYPE IF EXISTS reports_rollup_change;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_day_rollups"),
        ("reservations", "0009_merge_0008_price_lines_0008_starts_id_with_ends_at"),
    ]

    operations = [migrations.RunSQL(FUNCTIONS + TRIGGERS, REVERSE)]
