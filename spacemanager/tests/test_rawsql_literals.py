"""spacemanager.rawsql.with_literals writes a compiled statement's constants into it, so that PostgreSQL's one
plan for a prepared statement (its generic plan) can see them."""

import pytest

from spacemanager.rawsql import with_literals


def test_the_chosen_parameters_become_literals_and_the_others_stay_parameters():
    sql, params = with_literals(
        'SELECT 1 FROM "t" WHERE "status" IN (%s, %s) AND "space_id" = %s AND "at" && %s',
        ("pending", "confirmed", 7, None),
        lambda param: isinstance(param, str),
    )
    assert sql == 'SELECT 1 FROM "t" WHERE "status" IN (\'pending\', \'confirmed\') AND "space_id" = %s AND "at" && %s'
    assert params == (7, None)


@pytest.mark.parametrize("value", ["it's", "a b", "x--", "", "é"])
def test_only_plain_words_are_written_into_sql(value):
    with pytest.raises(ValueError, match="plain words"):
        with_literals("SELECT %s", (value,), lambda param: True)


@pytest.mark.parametrize(
    ("sql", "params"),
    [("SELECT %s, %s", (1,)), ("SELECT %s", (1, 2)), ("SELECT '100%%', %s", (1,))],
)
def test_statements_it_cannot_read_safely_are_refused(sql, params):
    with pytest.raises(ValueError, match="one %s per parameter"):
        with_literals(sql, params, lambda param: False)
