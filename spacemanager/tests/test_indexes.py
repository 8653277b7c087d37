"""No index is the leading part of another on the same table: every extra index is written on every insert
(a booking writes each of the reservation table's) and the longer one answers the same lookups."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

# Tables that Django makes itself (contrib apps, automatic many-to-many tables, simplejwt's blacklist): their
# indexes come with the library, and none is on a hot path here.
LIBRARY_TABLES = {
    "accounts_user_groups",
    "accounts_user_user_permissions",
    "auth_group_permissions",
    "auth_permission",
    "spaces_closure_spaces",
}

# Plain b-tree indexes (no expression, no predicate) whose columns begin another index's on the same table.
COVERED_INDEXES = """
WITH plain AS (
    SELECT n.nspname AS schema_name, c.relname AS table_name, i.relname AS index_name,
           string_to_array(x.indkey::text, ' ')::int[] AS columns, x.indisunique AS is_unique,
           x.indpred IS NOT NULL AS is_partial
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_class c ON c.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_am am ON am.oid = i.relam
    JOIN pg_opclass op ON op.oid = x.indclass[0]
    WHERE n.nspname = ANY(%s) AND am.amname = 'btree' AND x.indexprs IS NULL
      -- Django's *_like indexes (varchar_pattern_ops) serve LIKE 'prefix%%', which the plain one cannot.
      AND op.opcname NOT LIKE '%%pattern_ops'
)
SELECT covered.schema_name, covered.table_name, covered.index_name, longer.index_name
FROM plain covered
JOIN plain longer ON longer.schema_name = covered.schema_name AND longer.table_name = covered.table_name
    AND longer.index_name <> covered.index_name
WHERE NOT covered.is_unique AND NOT covered.is_partial AND NOT longer.is_partial
  AND cardinality(covered.columns) <= cardinality(longer.columns)
  AND covered.columns = longer.columns[1:cardinality(covered.columns)]
ORDER BY 1, 2, 3
"""


def test_no_index_is_covered_by_a_longer_one(org):
    with connection.cursor() as cursor:
        cursor.execute(COVERED_INDEXES, [["public", org.organization.schema_name]])
        covered = [row for row in cursor.fetchall() if row[1] not in LIBRARY_TABLES]

    assert covered == []


def test_the_check_finds_a_covered_index(in_tenant):
    with connection.cursor() as cursor:
        cursor.execute('CREATE INDEX "test_covered_series" ON "reservations_reservation" ("series_id")')
        cursor.execute(COVERED_INDEXES, [[in_tenant.organization.schema_name]])
        found = cursor.fetchall()

    assert (in_tenant.organization.schema_name, "reservations_reservation", "test_covered_series") in [
        row[:3] for row in found
    ]
