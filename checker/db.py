"""Database helpers the checker needs at volume, for PostgreSQL and SQLite alike: row locks
and updates of many rows."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import F, Model, QuerySet


def lock_rows(queryset: QuerySet) -> None:  # type: ignore[type-arg]
    """Hold the rows of `queryset` until the current transaction ends.

    PostgreSQL locks them with SELECT … FOR UPDATE. SQLite has no row locks: a no-op UPDATE
    takes the database's write lock at once, waiting its turn. (A plain read first would pin a
    snapshot that a later write could not upgrade once another process had written: "database
    is locked".)
    """
    if connection.features.has_select_for_update:
        list(queryset.select_for_update().values_list("pk", flat=True))
    else:
        name = queryset.model._meta.pk.attname
        queryset.update(**{name: F(name)})


def update_rows(objects: Sequence[Model], field_names: Sequence[str]) -> None:
    """Save `field_names` of each object: one parametrized UPDATE run for all of them.

    Django's bulk_update builds a CASE expression per field and row, which costs seconds of
    CPU for a few thousand rows; executemany (pipelined by psycopg) costs milliseconds.
    """
    if not objects:
        return
    meta = objects[0]._meta
    fields = [meta.get_field(name) for name in field_names]
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        quote(meta.db_table),
        ", ".join(f"{quote(field.column)} = %s" for field in fields),
        quote(meta.pk.column),
    )
    rows = [
        [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in fields]
        + [meta.pk.get_db_prep_save(obj.pk, connection)]
        for obj in objects
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
