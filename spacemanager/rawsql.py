"""Fixed SQL read into model instances, for the few reads on every request's hot path.

The ORM builds and compiles each query anew (two fifths of an availability request's CPU, measured). Here
the statement is written once, its columns taken from the model, and each row becomes an instance exactly as
the ORM would make it (`Model.from_db`, with the fields' database converters applied), so the instances
behave the same everywhere they go.
"""

import re
from collections.abc import Callable, Sequence
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, signals


@cache
def _layout(model: type[Model]) -> tuple[list[str], list[str], list[tuple[int, list]]]:
    connection = connections[DEFAULT_DB_ALIAS]
    fields = model._meta.concrete_fields
    converters = []
    for index, field in enumerate(fields):
        column = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converters.append((index, [(converter, column) for converter in found]))
    return [field.column for field in fields], [field.attname for field in fields], converters


def columns(model: type[Model], alias: str) -> str:
    """`alias."col1", alias."col2", …`: every concrete column of `model`, in model order."""
    return ", ".join(f'{alias}."{column}"' for column in _layout(model)[0])


def width(model: type[Model]) -> int:
    return len(_layout(model)[0])


def build(model: type[Model], values) -> Model:
    """An instance of `model` from a row of `columns(model, …)`, as the ORM makes it."""
    _columns, attnames, converters = _layout(model)
    if converters:
        values = list(values)
        connection = connections[DEFAULT_DB_ALIAS]
        for index, pairs in converters:
            for converter, column in pairs:
                values[index] = converter(values[index], column, connection)
    return model.from_db(DEFAULT_DB_ALIAS, attnames, values)


_WORD = re.compile(r"[A-Za-z0-9_]+")


def with_literals(sql: str, params: Sequence, inline: Callable[[object], bool]) -> tuple[str, tuple]:
    """`sql` and `params` (as the ORM compiles them) with each parameter `inline` picks written into the
    statement as a string literal instead; only plain words (letters, digits, underscores) are accepted.

    For constants of a prepared statement, such as the statuses that hold a slot. PostgreSQL plans a prepared
    statement once for all its executions (a generic plan) only when that plan looks about as cheap as one
    made for each execution's values, and a constant it cannot see may make it choose another plan: then the
    statement is planned again on every execution.
    """
    pieces = sql.split("%s")
    if "%%" in sql or len(pieces) != len(params) + 1:
        raise ValueError("with_literals takes compiled SQL with one %s per parameter and no escaped %")
    written, kept = [pieces[0]], []
    for param, piece in zip(params, pieces[1:], strict=True):
        if inline(param):
            if not _WORD.fullmatch(str(param)):
                raise ValueError(f"Only plain words are written into SQL, not {param!r}")
            written.append(f"'{param}'")
        else:
            written.append("%s")
            kept.append(param)
        written.append(piece)
    return "".join(written), tuple(kept)


@cache
def _insert_layout(model: type[Model], conflict: str) -> tuple[str, list, list]:
    meta = model._meta
    fields = [field for field in meta.local_concrete_fields if not field.generated and field is not meta.auto_field]
    returning = meta.db_returning_fields
    names = ", ".join(f'"{field.column}"' for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    returned = ", ".join(f'"{field.column}"' for field in returning)
    on_conflict = f" ON CONFLICT {conflict}" if conflict else ""
    sql = f'INSERT INTO "{meta.db_table}" ({names}) VALUES ({placeholders}){on_conflict} RETURNING {returned}'  # noqa: S608
    return sql, fields, returning


def insert(instance: Model, *, on_conflict: str = "") -> bool:
    """Write a new instance as `instance.save()` would (each field's `pre_save`, so auto_now and the like, then
    its database value), in one fixed statement, and set its primary key. `on_conflict="DO NOTHING"` lets a
    constraint turn the row away without an error (no savepoint needed): then nothing is written and the
    answer is False. For models without save signals; the caller has validated the instance."""
    model = type(instance)
    if not instance._state.adding or signals.pre_save.has_listeners(model) or signals.post_save.has_listeners(model):
        raise TypeError(f"rawsql.insert writes new {model.__name__} rows without save signals only")
    instance._prepare_related_fields_for_save(operation_name="save")
    sql, fields, returning = _insert_layout(model, on_conflict)
    connection = connections[DEFAULT_DB_ALIAS]
    values = []
    for field in fields:
        value = field.pre_save(instance, True)
        if hasattr(value, "resolve_expression"):
            raise TypeError(f"rawsql.insert takes values, not expressions ({model.__name__}.{field.name})")
        values.append(field.get_db_prep_save(value, connection=connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    for field, value in zip(returning, row, strict=True):
        setattr(instance, field.attname, value)
    instance._state.adding = False
    instance._state.db = DEFAULT_DB_ALIAS
    return True
