"""Database helpers the checker needs at volume, for PostgreSQL and SQLite alike: row locks
and updates of many rows."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import F, Field, Model, QuerySet

from statuspage.bulk import PerRow, in_chunks


def lock_rows(queryset: QuerySet[Model]) -> None:
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
    """Save `field_names` of each object (all of one model), as `save(update_fields=…)` would
    for each, with one UPDATE per few hundred rows."""
    if not objects:
        return
    model = type(objects[0])
    fields = [_column(model, name) for name in field_names]
    for chunk in in_chunks({obj.pk: obj for obj in objects}):
        model._base_manager.filter(pk__in=list(chunk)).update(
            **{
                field.name: PerRow(
                    model, {pk: getattr(obj, field.attname) for pk, obj in chunk.items()}, field
                )
                for field in fields
            }
        )


def _column(model: type[Model], name: str) -> Field:
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or not field.concrete:
        raise ValueError(f"{model.__name__}.{name} is not a column of its own")
    return field
