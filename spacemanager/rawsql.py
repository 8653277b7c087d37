"""Fixed SQL read into model instances, for the few reads on every request's hot path.

The ORM builds and compiles each query anew (two fifths of an availability request's CPU, measured). Here
the statement is written once, its columns taken from the model, and each row becomes an instance exactly as
the ORM would make it (`Model.from_db`, with the fields' database converters applied), so the instances
behave the same everywhere they go.
"""

from functools import cache

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model


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
