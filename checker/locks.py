"""Row locks that work on PostgreSQL and SQLite alike."""

from __future__ import annotations

from django.db import connection
from django.db.models import F, QuerySet


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
