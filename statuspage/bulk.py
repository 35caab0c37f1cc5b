"""Updates that give each of many rows its own value, in one statement per few hundred rows.

Django's `bulk_update` builds a Case/When pair per row and field and resolves every one; for
thousands of rows that costs seconds of CPU. `PerRow` writes the same CASE straight to SQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Expression, Field, Model
from django.db.models.sql.compiler import SQLCompiler

# Rows per UPDATE: enough to make each statement count, few enough that the CASE (scanned
# linearly by the database for each row) and the parameter list stay small.
ROWS_PER_UPDATE = 500

Key = TypeVar("Key")
Value = TypeVar("Value")


class PerRow(Expression):
    """`CASE pk WHEN … THEN … END`: in `queryset.update(field=PerRow(...))`, each row of the
    update gets the value `values` holds for its primary key.

    Every updated row must have an entry: a row without one would get NULL.
    """

    def __init__(self, model: type[Model], values: Mapping[Any, Any], output_field: Field) -> None:
        super().__init__(output_field=output_field)
        self.model = model
        self.values = values

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, list]:
        quote = connection.ops.quote_name
        meta = self.model._meta
        column = f"{quote(meta.db_table)}.{quote(meta.pk.column)}"
        params: list[object] = []
        for pk, value in self.values.items():
            params += [
                meta.pk.get_db_prep_value(pk, connection),
                self.output_field.get_db_prep_save(value, connection),
            ]
        sql = f"CASE {column} {' '.join(['WHEN %s THEN %s'] * len(self.values))} END"
        if connection.vendor == "postgresql":  # parameters of unknown type would make it text
            sql = f"CAST({sql} AS {self.output_field.db_type(connection)})"
        return sql, params


def in_chunks(
    values: Mapping[Key, Value], size: int = ROWS_PER_UPDATE
) -> Iterator[dict[Key, Value]]:
    """`values` in consecutive pieces of at most `size` entries, one per UPDATE."""
    items = list(values.items())
    for start in range(0, len(items), size):
        yield dict(items[start : start + size])
